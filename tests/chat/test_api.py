"""The visitor's chat API (issue 17): presence, messages, polling, tokens, limits, CORS."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from booking.chat.models import ChatConversation
from booking.extensions import db
from booking.models_requests import SupportRequest
from tests.chat.conftest import paris

OPEN = paris(2026, 11, 30, 10, 0)  # Monday, in business hours


def test_the_customer_gets_a_chat_token_and_snippet_separate_from_the_booking_token(line, client, admin):
    acme = client.get(f"/api/customers/{line['acme']['id']}", headers=admin).get_json()
    assert acme["chat_token"] and acme["chat_token"] != acme["booking_token"]
    assert acme["chat_snippet"] == (
        f'<script src="http://booking.test/chat/widget.js" data-chat-token="{acme["chat_token"]}" async></script>'
    )
    assert acme["chat_origins"] == []
    stored = db.session.execute(db.text("SELECT chat_token_hash, chat_token_sealed FROM customers")).one()
    assert acme["chat_token"] not in stored  # hashed and sealed, never in clear


def test_presence_closed_out_of_hours_with_the_next_opening(line, client):
    body = client.get(f"/api/chat/{line['token']}").get_json()
    assert body["agent"] == {"name": "Camille Martin"}
    assert body["presence"] == "closed"
    assert body["back_at"] == body["next_opening"] == "2026-11-30T08:00:00+00:00"  # 09:00 Paris
    assert body["booking_url"].startswith("http://booking.test/book/")


def test_presence_away_then_available_when_the_agent_is_active(line, client, frozen, sign_in, app):
    frozen(OPEN)
    assert client.get(f"/api/chat/{line['token']}").get_json()["presence"] == "away"
    agent_client = app.test_client()
    sign_in(agent_client, "camille@vendor.example")
    assert agent_client.get("/agent").status_code == 200  # a dashboard request is the agent's activity
    assert client.get(f"/api/chat/{line['token']}").get_json()["presence"] == "available"
    frozen(OPEN + timedelta(minutes=6))  # no activity for longer than BOOKING_CHAT_ACTIVE_MINUTES
    assert client.get(f"/api/chat/{line['token']}").get_json()["presence"] == "away"


def test_a_wrong_token_is_404_everywhere(line, client):
    for method, path in [
        ("get", "/api/chat/nope"),
        ("get", "/api/chat/nope/messages"),
        ("get", "/api/chat/nope/events"),
        ("post", "/api/chat/nope/messages"),
    ]:
        kwargs = {"json": {"name": "A", "text": "hi"}} if method == "post" else {}
        response = getattr(client, method)(path, **kwargs)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "not_found"


def test_rotating_the_chat_token_kills_the_old_one_at_once(line, client, admin):
    old = line["token"]
    rotated = client.post(f"/api/customers/{line['acme']['id']}/chat-token", headers=admin).get_json()
    assert rotated["chat_token"] != old and rotated["booking_token"] == line["acme"]["booking_token"]
    assert client.get(f"/api/chat/{old}").status_code == 404
    assert client.get(f"/api/chat/{rotated['chat_token']}").status_code == 200


@pytest.mark.parametrize(
    "body, code",
    [
        ({"name": "Jo"}, "invalid_request"),
        ({"name": "Jo", "text": ""}, "bad_text"),
        ({"name": "Jo", "text": "   "}, "bad_text"),
        ({"name": "", "text": "hi"}, "bad_name"),
        ({"name": "Jo", "text": 5}, "invalid_request"),
        ({"name": "Jo", "text": "hi", "email": "not-an-address"}, "bad_email"),
        ({"name": "Jo", "text": "bell \x07"}, "bad_text"),
        ({"name": "Jo", "text": "hi", "extra": 1}, "invalid_request"),
    ],
)
def test_bad_messages_are_400(line, client, body, code):
    response = client.post(f"/api/chat/{line['token']}/messages", json=body)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["code"] == code


def test_a_message_over_4_kb_is_413(line, client, visitor):
    response = client.post(f"/api/chat/{line['token']}/messages", json={"name": "Jo", "text": "é" * 2049})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    visitor(line["token"], "é" * 2048)  # exactly 4096 bytes is fine


def test_messages_are_rate_limited_per_token(line, client, visitor):
    for _ in range(30):
        visitor(line["token"], "hello")
    response = client.post(f"/api/chat/{line['token']}/messages", json={"name": "Jo", "text": "one more"})
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"


def test_out_of_hours_a_message_becomes_a_chat_request_at_once(line, client, visitor):
    sent = visitor(line["token"], "Our export is broken <b>urgent</b>")
    assert sent["author"] == "visitor" and sent["text"] == "Our export is broken <b>urgent</b>"
    key = sent["visitor_key"]
    request = db.session.scalars(db.select(SupportRequest)).one()
    assert (request.channel, request.customer_id, request.team) == ("chat", line["acme"]["id"], "dedicated")
    messages = client.get(f"/api/chat/{line['token']}/messages", headers={"X-Chat-Visitor": key}).get_json()
    system = messages["messages"][-1]
    assert system["author"] == "system" and f"request #{request.id}" in system["text"]
    assert "Monday 30 Nov 09:00" in system["text"]  # when it will be handled: the next opening
    # A second message joins the same conversation and request.
    again = visitor(line["token"], "any news?", key=key)
    assert again["conversation"] == sent["conversation"] and again["visitor_key"] is None
    assert db.session.scalar(db.select(db.func.count()).select_from(SupportRequest)) == 1


def test_polling_after_an_id_and_other_visitors_do_not_see_the_conversation(line, client, visitor, frozen):
    frozen(OPEN)
    first = visitor(line["token"], "one")
    key = first["visitor_key"]
    second = visitor(line["token"], "two", key=key)
    after = client.get(f"/api/chat/{line['token']}/messages?after={first['id']}", headers={"X-Chat-Visitor": key})
    assert [m["text"] for m in after.get_json()["messages"]] == ["two"]
    assert second["id"] > first["id"]
    assert client.get(f"/api/chat/{line['token']}/messages").get_json() == {"messages": []}
    assert client.get(f"/api/chat/{line['token']}/messages?visitor=forged").status_code == 404
    # The key of one customer's conversation is worthless with another customer's token.
    assert db.session.scalar(db.select(db.func.count()).select_from(ChatConversation)) == 1


def test_in_hours_an_unanswered_conversation_becomes_a_request_after_3_minutes(line, client, visitor, frozen, app):
    from booking.services.chat import escalate_unanswered

    settings = app.extensions["booking.settings"]
    frozen(OPEN)
    sent = visitor(line["token"], "hello?")
    assert db.session.scalar(db.select(db.func.count()).select_from(SupportRequest)) == 0
    escalate_unanswered(db.session, settings, OPEN + timedelta(minutes=2, seconds=59))
    assert db.session.scalar(db.select(db.func.count()).select_from(SupportRequest)) == 0
    escalate_unanswered(db.session, settings, OPEN + timedelta(minutes=3))
    escalate_unanswered(db.session, settings, OPEN + timedelta(minutes=4))  # once only
    request = db.session.scalars(db.select(SupportRequest)).one()
    assert request.channel == "chat" and request.received_at == OPEN
    texts = client.get(
        f"/api/chat/{line['token']}/messages", headers={"X-Chat-Visitor": sent["visitor_key"]}
    ).get_json()["messages"]
    assert texts[-1]["author"] == "system" and "within 3 minutes" in texts[-1]["text"]


def test_cors_allows_the_customers_origins_and_no_others(line, client, admin):
    token, acme = line["token"], line["acme"]["id"]
    patched = client.patch(
        f"/api/customers/{acme}", json={"chat_origins": ["https://intranet.acme.example/"]}, headers=admin
    )
    assert patched.status_code == 200 and patched.get_json()["chat_origins"] == ["https://intranet.acme.example"]
    ok = client.get(f"/api/chat/{token}", headers={"Origin": "https://intranet.acme.example"})
    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Origin"] == "https://intranet.acme.example"
    preflight = client.options(
        f"/api/chat/{token}/messages",
        headers={"Origin": "https://intranet.acme.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://intranet.acme.example"
    assert "X-Chat-Visitor" in preflight.headers["Access-Control-Allow-Headers"]
    evil = client.post(
        f"/api/chat/{token}/messages", json={"name": "E", "text": "hi"}, headers={"Origin": "https://evil.example"}
    )
    assert evil.status_code == 403 and "Access-Control-Allow-Origin" not in evil.headers
    assert evil.get_json()["error"]["code"] == "origin_not_allowed"
    assert db.session.scalar(db.select(db.func.count()).select_from(ChatConversation)) == 0
    bad = client.patch(f"/api/customers/{acme}", json={"chat_origins": ["http://intranet.example"]}, headers=admin)
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_origin"


def test_the_widget_is_small_cached_and_revalidated(client):
    response = client.get("/chat/widget.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert len(response.data) < 16_000
    assert "max-age=86400" in response.headers["Cache-Control"]
    again = client.get("/chat/widget.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert b"innerHTML" not in response.data  # text only: every message is rendered with textContent


@pytest.fixture
def covered(line, make_agent, make_customer, client, admin) -> dict[str, Any]:
    """Camille's customer Globex names Bob as backup (``services.coverage``: who serves while she is away)."""
    make_agent(slug="bob", name="Bob Backup", email="bob@vendor.example")
    globex = make_customer("camille", name="Globex", phones=["+33612349999"], backup_agent="bob")
    return {"token": globex["chat_token"], "id": globex["id"]}


def _time_off(client, admin, slug: str, start, end) -> None:
    body = {"start": start.isoformat(), "end": end.isoformat(), "reason": "holiday"}
    assert client.post(f"/api/agents/{slug}/time-off", json=body, headers=admin).status_code == 201


def _csrf(agent_client) -> dict[str, str]:
    token = agent_client.get("/agent/chat").get_data(as_text=True).split('data-csrf="')[1].split('"')[0]
    return {"X-CSRFToken": token}


def _panel(app, sign_in, email: str):
    agent_client = app.test_client()
    sign_in(agent_client, email)
    return agent_client


def test_the_backup_serves_the_chat_while_the_dedicated_agent_is_away_or_deactivated(
    covered, client, admin, visitor, frozen, sign_in, app
):
    """Presence, who receives the conversation and whose name the visitor sees follow the coverage."""
    frozen(OPEN)
    _time_off(client, admin, "camille", OPEN - timedelta(hours=1), OPEN + timedelta(days=2))
    bob = _panel(app, sign_in, "bob@vendor.example")  # Bob is at work (a dashboard request)
    assert bob.get("/agent").status_code == 200
    body = client.get(f"/api/chat/{covered['token']}").get_json()
    assert (body["agent"], body["presence"]) == ({"name": "Bob Backup"}, "available")
    sent = visitor(covered["token"], "hello, anyone?")
    conversation = db.session.get(ChatConversation, sent["conversation"])
    assert conversation.agent.slug == "bob"  # Bob's panel receives it
    assert db.session.scalar(db.select(db.func.count()).select_from(SupportRequest)) == 0  # someone answers live
    assert "Jo Visitor · Globex" in bob.get("/agent/chat").get_data(as_text=True)
    camille = _panel(app, sign_in, "camille@vendor.example")
    assert camille.get(f"/agent/chat/{conversation.id}/messages").status_code == 404
    answered = bob.post(f"/agent/chat/{conversation.id}/messages", json={"text": "Bob here"}, headers=_csrf(bob))
    assert answered.status_code == 201
    seen = client.get(f"/api/chat/{covered['token']}/messages", headers={"X-Chat-Visitor": sent["visitor_key"]})
    assert [(m["author"], m["name"]) for m in seen.get_json()["messages"]] == [
        ("visitor", "Jo Visitor"),
        ("agent", "Bob Backup"),
    ]
    # Deactivated for good: still Bob.
    assert client.patch("/api/agents/camille", json={"active": False}, headers=admin).status_code == 200
    frozen(OPEN + timedelta(days=3))
    bob = _panel(app, sign_in, "bob@vendor.example")  # a new day, a new sign-in
    assert bob.get("/agent").status_code == 200
    body = client.get(f"/api/chat/{covered['token']}").get_json()
    assert (body["agent"], body["presence"]) == ({"name": "Bob Backup"}, "available")


def test_a_conversation_moves_to_the_backup_when_its_agent_goes_away_and_stays_after(
    covered, client, admin, visitor, frozen, sign_in, app
):
    frozen(OPEN)
    sent = visitor(covered["token"], "before the holiday")
    key, conversation_id = sent["visitor_key"], sent["conversation"]
    assert db.session.get(ChatConversation, conversation_id).agent.slug == "camille"
    assert client.get(f"/api/chat/{covered['token']}").get_json()["agent"] == {"name": "Camille Martin"}
    camille = _panel(app, sign_in, "camille@vendor.example")
    answer = {"text": "Camille here"}
    assert (
        camille.post(f"/agent/chat/{conversation_id}/messages", json=answer, headers=_csrf(camille)).status_code == 201
    )
    _time_off(client, admin, "camille", OPEN + timedelta(hours=1), OPEN + timedelta(hours=3))
    frozen(OPEN + timedelta(hours=1))
    visitor(covered["token"], "during the holiday", key=key)
    db.session.expire_all()
    assert db.session.get(ChatConversation, conversation_id).agent.slug == "bob"  # the visitor is not left alone
    bob = _panel(app, sign_in, "bob@vendor.example")
    assert bob.get(f"/agent/chat/{conversation_id}/messages").status_code == 200
    assert (
        bob.post(f"/agent/chat/{conversation_id}/messages", json={"text": "Bob here"}, headers=_csrf(bob)).status_code
        == 201
    )
    seen = client.get(f"/api/chat/{covered['token']}/messages", headers={"X-Chat-Visitor": key}).get_json()
    assert [(m["name"], m["text"]) for m in seen["messages"] if m["author"] == "agent"] == [
        ("Camille Martin", "Camille here"),  # each answer keeps its author's name
        ("Bob Backup", "Bob here"),
    ]
    frozen(OPEN + timedelta(hours=4))  # Camille is back: the chat button shows her again
    assert client.get(f"/api/chat/{covered['token']}").get_json()["agent"] == {"name": "Camille Martin"}
    visitor(covered["token"], "after the holiday", key=key)
    db.session.expire_all()
    assert db.session.get(ChatConversation, conversation_id).agent.slug == "bob"  # Bob finishes what he took


def test_without_a_backup_a_deactivated_agent_leaves_nobody(line, client, admin):
    assert client.patch("/api/agents/camille", json={"active": False}, headers=admin).status_code == 200
    body = client.get(f"/api/chat/{line['token']}").get_json()
    assert (body["agent"], body["presence"]) == (None, "closed")  # 08:00: closed, nobody named
