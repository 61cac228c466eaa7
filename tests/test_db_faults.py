"""Fault tests (issue 11, item 4): a TCP proxy in front of the real PostgreSQL, cut and restored.

* cut → ``503 database_unavailable`` with ``Retry-After``, fast (connect timeout 2 s), whether the
  server refuses or the network swallows packets; restored → 200 again within seconds, by itself;
* a booking that committed is answered 201 even when the database goes away right after the commit
  (it used to be reloaded for the answer, and answered 500);
* a voicemail posted while the database is down is stored once the reconciliation job has run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from booking import create_app
from booking.extensions import db
from booking.models import Booking
from tests.conftest import ADMIN_TOKEN, PG_URL, _truncate_postgres, base_env
from tests.fixtures.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def proxy(postgres_schema: str) -> Iterator[TcpProxy]:
    _truncate_postgres(postgres_schema)
    url = make_url(postgres_schema)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as running:
        yield running


@pytest.fixture
def proxied_env(proxy: TcpProxy, tmp_path: Path) -> dict[str, str]:
    assert PG_URL is not None
    url = make_url(PG_URL).set(host="127.0.0.1", port=proxy.port)
    return base_env(
        url.render_as_string(hide_password=False),
        tmp_path,
        BOOKING_DB_CONNECT_TIMEOUT="2",
        BOOKING_DB_STATEMENT_TIMEOUT="5",
        BOOKING_OUTBOX_INLINE="false",
    )


@pytest.fixture
def proxied_app(proxied_env: dict[str, str]) -> Iterator[Any]:
    app = create_app({"TESTING": True}, env=proxied_env)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _customer(client: Any) -> tuple[str, str]:
    agent = client.post(
        "/api/agents",
        json={"slug": "ada", "name": "Ada", "email": "ada@example.com", "phone": "+33140000001"},
        headers=ADMIN,
    )
    assert agent.status_code == 201, agent.get_json()
    customer = client.post(
        "/api/customers",
        json={
            "name": "ACME",
            "plan": "all-inclusive",
            "dedicated_support": True,
            "agent": "ada",
            "phones": ["+33612340001"],
            "emails": ["it@acme.example"],
        },
        headers=ADMIN,
    )
    assert customer.status_code == 201, customer.get_json()
    return "ada", customer.get_json()["booking_token"]


AVAILABILITY = "/api/agents/ada/availability?start=2026-12-01&end=2026-12-02"


@pytest.mark.parametrize("mode", ["refuse", "blackhole"])
def test_cut_database_answers_503_fast_and_recovers_by_itself(proxied_app: Any, proxy: TcpProxy, mode: str) -> None:
    client = proxied_app.test_client()
    _customer(client)
    assert client.get(AVAILABILITY).status_code == 200

    proxy.cut(mode)  # type: ignore[arg-type]
    for _ in range(3):
        started = time.monotonic()
        down = client.get(AVAILABILITY)
        elapsed = time.monotonic() - started
        assert down.status_code == 503
        assert down.get_json()["error"]["code"] == "database_unavailable"
        assert int(down.headers["Retry-After"]) > 0
        assert elapsed < 6, f"{mode}: the request waited {elapsed:.1f} s for a dead database"
    assert proxied_app.test_client().get("/readyz").status_code == 503
    assert proxied_app.test_client().get("/healthz").status_code == 200

    proxy.restore()
    deadline = time.monotonic() + 10
    while True:
        status = client.get(AVAILABILITY).status_code
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == 200
    assert client.get("/readyz").status_code == 200


def test_during_a_partition_only_one_request_waits_on_the_connect_timeout(proxied_app: Any, proxy: TcpProxy) -> None:
    """Before the breaker every request of every worker waited the whole connect timeout (2 s here);
    now, once a connect has failed, only one request at a time tries again and the others get 503 at once."""
    import threading

    client = proxied_app.test_client()
    assert client.get("/healthz").status_code == 200
    assert proxied_app.test_client().get(AVAILABILITY).status_code == 404  # no agent yet: the database answered
    proxy.cut("blackhole")
    # The pooled connection died with the cut: the first request finds that out at once; the second
    # tries to connect and waits the whole timeout: from then on the process knows the database is away.
    assert proxied_app.test_client().get(AVAILABILITY).status_code == 503
    started = time.monotonic()
    assert proxied_app.test_client().get(AVAILABILITY).status_code == 503
    assert time.monotonic() - started >= 1.5
    time.sleep(1.1)  # past the breaker's retry delay: the next request probes again
    probe: dict[str, Any] = {}

    def slow_probe() -> None:
        with proxied_app.app_context():
            started = time.monotonic()
            probe["status"] = proxied_app.test_client().get(AVAILABILITY).status_code
            probe["elapsed"] = time.monotonic() - started
            db.session.remove()

    thread = threading.Thread(target=slow_probe)
    thread.start()
    time.sleep(0.5)  # the probe is now waiting on the black-holed connect
    started = time.monotonic()
    fast = proxied_app.test_client().get(AVAILABILITY)
    assert fast.status_code == 503 and time.monotonic() - started < 0.5
    thread.join(timeout=10)
    assert probe["status"] == 503 and probe["elapsed"] >= 1.5  # the one that really tried

    proxy.restore()
    deadline = time.monotonic() + 5
    while (status := client.get(AVAILABILITY).status_code) != 404 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status == 404


@contextmanager
def cut_right_after_the_booking_commits(proxy: TcpProxy) -> Iterator[dict[str, bool]]:
    """Cut the proxy as soon as the transaction that inserted a booking has committed."""
    armed = {"booking": False, "cut": False}

    def after_flush(session: Any, _context: Any) -> None:
        # ``session.new`` too: the booking's own flush may be the transaction's last (the outbox rows
        # are one Core INSERT since issue 19), and in ``after_flush`` it is not in the identity map yet.
        if any(isinstance(obj, Booking) for obj in [*session.identity_map.values(), *session.new]):
            armed["booking"] = True

    def after_end(_session: Any, transaction: Any) -> None:
        # The outer transaction's end (the outbox's savepoints end too): the booking is committed.
        if armed["booking"] and not armed["cut"] and transaction.parent is None and not transaction.nested:
            armed["cut"] = True
            proxy.cut("refuse")

    event.listen(db.session, "after_flush", after_flush)
    event.listen(db.session, "after_transaction_end", after_end)
    try:
        yield armed
    finally:
        event.remove(db.session, "after_flush", after_flush)
        event.remove(db.session, "after_transaction_end", after_end)
    assert armed["cut"], "the proxy was never cut: the test did not exercise the fault"


def _committed(booking_id: int, proxy: TcpProxy) -> bool:
    from booking.db_faults import is_database_unavailable

    proxy.restore()
    db.session.remove()
    db.engine.dispose()
    deadline = time.monotonic() + 5  # the connect breaker lets a new attempt through within 1 s
    while True:
        try:
            return db.session.get(Booking, booking_id) is not None
        except Exception as exc:
            db.session.rollback()
            if not is_database_unavailable(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_committed_booking_is_answered_201_when_the_database_goes_away_after_the_commit(
    proxied_app: Any, proxy: TcpProxy, frozen: Any
) -> None:
    """(``frozen``: Monday 08:00 Paris, so 10:00 is bookable.)

    Before: the answer reloaded the booking (and its agent) after the commit → 500 for a booking that exists.
    """
    client = proxied_app.test_client()
    _, token = _customer(client)
    with cut_right_after_the_booking_commits(proxy):
        response = client.post(
            "/api/bookings",
            json={
                "token": token,
                "start": "2026-11-30T10:00:00+01:00",
                "duration": 30,
                "topic": "help",
                "name": "Grace",
                "email": "grace@acme.example",
            },
        )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["agent"] == "ada" and body["agent_name"] == "Ada"
    assert body["start"] == "2026-11-30T10:00:00+01:00"
    assert body["manage_token"]
    assert _committed(body["id"], proxy)


def test_the_booking_page_redirects_to_the_confirmation_when_the_database_goes_away_after_the_commit(
    proxied_app: Any, proxy: TcpProxy, frozen: Any
) -> None:
    """The HTML form: same fault, answered 303 to the confirmation instead of an error page."""
    from urllib.parse import parse_qs, urlsplit

    from tests.pages.forms import hidden

    client = proxied_app.test_client()
    _, token = _customer(client)
    html = client.get(f"/book/{token}?lang=en").get_data(as_text=True)
    form = {
        "csrf_token": hidden(html, "csrf_token"),
        "idempotency_key": hidden(html, "idempotency_key"),
        "tz": hidden(html, "tz"),
        "duration": hidden(html, "duration"),
        "start": "2026-11-30T10:00:00+01:00",
        "topic": "help",
        "name": "Grace",
        "email": "grace@acme.example",
    }
    with cut_right_after_the_booking_commits(proxy):
        response = client.post(f"/book/{token}", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    location = urlsplit(response.headers["Location"])
    booking_id = int(location.path.split("/")[2])
    assert parse_qs(location.query)["token"][0]
    assert _committed(booking_id, proxy)


def test_a_voicemail_posted_while_the_database_is_down_is_stored_once_after_reconciliation(
    proxied_env: dict[str, str], proxy: TcpProxy, fake_twilio: Any, frozen: Any
) -> None:
    from sqlalchemy import func, select

    from booking import clock
    from booking.models import Callback, Voicemail
    from booking.voicemail.reconcile import reconcile_recordings, twilio_rest_client
    from tests.voicemail.conftest import LINE, paris, post_hook

    app = create_app({"TESTING": True}, env={**proxied_env, **fake_twilio.env()})
    with app.app_context():
        client = app.test_client()
        _customer(client)
        call_sid, recording_sid = "CA" + "e" * 32, "RE" + "e" * 32
        frozen(paris(2026, 12, 1, 19, 0))
        ok, _ = post_hook(client, "/twilio/voice", {"CallSid": call_sid, "From": "+33612340001", "To": LINE})
        assert ok.status_code == 200
        url = fake_twilio.add_recording(recording_sid, call_sid, paris(2026, 12, 1, 19, 1))

        proxy.cut("refuse")
        form = {
            "CallSid": call_sid,
            "RecordingSid": recording_sid,
            "RecordingUrl": url,
            "RecordingDuration": "12",
            "RecordingStatus": "completed",
        }
        down, _ = post_hook(client, "/twilio/voicemail", form)
        assert down.status_code == 503
        assert down.get_json()["error"]["code"] == "database_unavailable"

        proxy.restore()
        deadline = time.monotonic() + 5  # the connect breaker lets a new attempt through within 1 s
        while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        frozen(paris(2026, 12, 1, 19, 6))
        settings = app.extensions["booking.settings"]
        for _ in range(2):  # two runs (or two workers one after the other): still one voicemail
            reconcile_recordings(db.session, settings, twilio_rest_client(settings), clock.now())
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Voicemail)) == 1
        assert db.session.scalar(select(func.count()).select_from(Callback)) == 1
        assert db.session.scalar(select(Voicemail.from_number)) == "+33612340001"
        db.session.remove()
        db.engine.dispose()
