"""Live delivery (issue 17): the bus on each backend, and the SSE streams over a real server."""

from __future__ import annotations

import json
import socket
import time
import uuid

import pytest
import requests

from booking.chat.bus import MemoryBus, PostgresBus, RedisBus, build_bus
from booking.extensions import db
from tests.chat.conftest import paris

OPEN = paris(2026, 11, 30, 10, 0)


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


def _roundtrip(bus) -> dict:
    topic = f"conversation:{uuid.uuid4().hex}"
    with bus.subscribe([topic]) as sub, bus.subscribe(["conversation:other"]) as other:
        bus.publish(topic, {"type": "message", "id": 7, "text": "héllo"})
        got = sub.get(timeout=5)
        assert other.get(timeout=0.2) is None  # only the topic's streams hear it
    return got


def test_the_bus_of_each_database_delivers_to_its_topic_only(app):
    bus = build_bus(app)
    assert isinstance(bus, PostgresBus if db.engine.dialect.name == "postgresql" else MemoryBus)
    assert _roundtrip(bus) == {"type": "message", "id": 7, "text": "héllo"}


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_redis_pub_sub_when_booking_redis_url_is_set(sqlite_url, tmp_path):
    from booking import create_app
    from tests.conftest import base_env

    app = create_app(
        {"TESTING": True}, env=base_env(sqlite_url, tmp_path, BOOKING_REDIS_URL="redis://127.0.0.1:6379/0")
    )
    bus = build_bus(app)
    assert isinstance(bus, RedisBus)
    assert _roundtrip(bus)["text"] == "héllo"
    bus.close()


def _events(lines, wanted: int, timeout: float = 10) -> list[tuple[str | None, str, dict]]:
    """Read ``wanted`` SSE events (id, event, data) from a stream's line iterator (one per response)."""
    found: list[tuple[str | None, str, dict]] = []
    current: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    for raw in lines:
        assert time.monotonic() < deadline, f"only {found} after {timeout}s"
        if raw == "":
            if "data" in current:
                found.append((current.get("id"), current.get("event", "message"), json.loads(current["data"])))
                if len(found) == wanted:
                    return found
            current = {}
        elif not raw.startswith(":"):
            key, _, value = raw.partition(": ")
            current[key] = value
    raise AssertionError(f"stream ended after {found}")


@pytest.fixture
def env_overrides():
    return {"BOOKING_CHAT_HEARTBEAT_SECONDS": "1", "BOOKING_CHAT_STREAM_SECONDS": "20"}


def test_sse_delivers_the_agents_answer_live_and_resumes_after_last_event_id(
    app, line, live, visitor, frozen, sign_in, client
):
    frozen(OPEN)
    first = visitor(line["token"], "Is the export down?")
    url = f"{live.url}/api/chat/{line['token']}/events?visitor={first['visitor_key']}"
    with requests.get(url, stream=True, timeout=15) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        lines = stream.iter_lines(chunk_size=1, decode_unicode=True)
        backlog = _events(lines, 2)
        assert backlog[0] == (str(first["id"]), "message", {k: v for k, v in first.items() if k != "visitor_key"})
        assert backlog[1][1] == "presence" and backlog[1][2]["presence"] == "away"
        db.session.remove()
        samples = []
        for _ in range(20):  # a heartbeat's short read may be under way at one instant, not at all of them
            samples.append(db.engine.pool.checkedout())
            time.sleep(0.01)
        assert min(samples) == 0  # the open, idle stream holds no database connection
        # The agent answers from the dashboard (another client, the same server process).
        agent = app.test_client()
        sign_in(agent, "camille@vendor.example")
        token = agent.get("/agent/chat").get_data(as_text=True).split('data-csrf="')[1].split('"')[0]
        answer = agent.post(
            f"/agent/chat/{first['conversation']}/messages",
            json={"text": "Looking <now>"},
            headers={"X-CSRFToken": token},
        )
        assert answer.status_code == 201, answer.get_data(as_text=True)
        live = _events(lines, 2)
        kinds = {event: (eid, data) for eid, event, data in live}
        assert kinds["message"][1]["text"] == "Looking <now>" and kinds["message"][1]["author"] == "agent"
        assert kinds["message"][0] == str(answer.get_json()["id"])
        assert kinds["presence"][1]["presence"] == "available"  # the agent is active now
    # Resume: only what came after the given Last-Event-ID.
    with requests.get(url, stream=True, timeout=15, headers={"Last-Event-ID": str(first["id"])}) as again:
        resumed = _events(again.iter_lines(chunk_size=1, decode_unicode=True), 1)
        assert resumed[0][0] == str(answer.get_json()["id"])
    # The answer ended the wait: no request is opened for this conversation.
    from booking.chat.models import ChatConversation

    db.session.rollback()
    assert db.session.get(ChatConversation, first["conversation"]).waiting_since is None


def test_agent_side_needs_the_session_and_csrf(app, line, visitor, frozen, sign_in):
    frozen(OPEN)
    first = visitor(line["token"], "hello")
    anonymous = app.test_client()
    assert anonymous.get("/agent/chat/events").status_code == 303  # to the sign-in page
    agent = app.test_client()
    sign_in(agent, "camille@vendor.example")
    no_csrf = agent.post(f"/agent/chat/{first['conversation']}/messages", json={"text": "hi"})
    assert no_csrf.status_code == 400
    other = app.test_client()
    from tests.conftest import ADMIN_TOKEN

    other.post(
        "/api/agents",
        json={"slug": "dana", "name": "Dana", "email": "dana@vendor.example", "phone": "+33140000099"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    sign_in(other, "dana@vendor.example")
    token = other.get("/agent/chat").get_data(as_text=True).split('data-csrf="')[1].split('"')[0]
    stranger = other.post(
        f"/agent/chat/{first['conversation']}/messages", json={"text": "hi"}, headers={"X-CSRFToken": token}
    )
    assert stranger.status_code == 404  # not Dana's customer


def test_read_receipts_and_the_transcript_mail(app, line, visitor, frozen, client, sign_in):
    from booking import clock
    from booking.chat.models import ChatMessage
    from booking.services import outbox

    frozen(OPEN)
    first = visitor(line["token"], "line one\nline two")
    key = {"X-Chat-Visitor": first["visitor_key"]}
    agent = app.test_client()
    sign_in(agent, "camille@vendor.example")
    token = agent.get("/agent/chat").get_data(as_text=True).split('data-csrf="')[1].split('"')[0]
    answer = agent.post(
        f"/agent/chat/{first['conversation']}/messages", json={"text": "On it"}, headers={"X-CSRFToken": token}
    ).get_json()
    read = agent.post(
        f"/agent/chat/{first['conversation']}/read", json={"up_to": answer["id"]}, headers={"X-CSRFToken": token}
    )
    assert read.status_code == 200
    assert client.post(f"/api/chat/{line['token']}/read", json={"up_to": answer["id"]}, headers=key).status_code == 200
    db.session.rollback()
    assert all(m.read_at is not None for m in db.session.scalars(db.select(ChatMessage)))
    sent = client.post(f"/api/chat/{line['token']}/transcript", json={"email": "jo@acme.example"}, headers=key)
    assert sent.status_code == 202
    outbox.drain(db.session, clock.now())
    mail = app.extensions["booking.mailer"].sent[-1]
    assert mail["To"] == "jo@acme.example"
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Jo Visitor:" in body and "  line two" in body and "Camille Martin:" in body and "On it" in body


def test_a_single_threaded_server_gets_a_short_stream_that_the_browser_turns_into_polling(line, client, visitor):
    """gunicorn's sync worker (``wsgi.multithread`` false, as the test client): backlog, then the end."""
    first = visitor(line["token"], "hello")
    response = client.get(f"/api/chat/{line['token']}/events?visitor={first['visitor_key']}")
    body = response.get_data(as_text=True)  # returns at once: the stream ended by itself
    assert body.startswith("retry: 2000") and f"id: {first['id']}" in body and "event: presence" in body


def test_the_dashboard_links_to_the_chat_panel(app, line, sign_in):
    """The agent reaches the panel from the dashboard's section links, not only by its address."""
    agent = app.test_client()
    sign_in(agent, "camille@vendor.example")
    html = agent.get("/agent").get_data(as_text=True)
    assert 'href="/agent/chat"' in html
