"""Operations (issue 11, items 4 and 7): 503 while the database is away, probes, metrics, request ids.

"Database away" here is a PostgreSQL URL on a loopback port nobody listens on: a real refused
connection through the real driver, so no PostgreSQL server is needed for these to run. The proxy
tests (tests/test_db_faults.py) cut a live PostgreSQL instead.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from booking import create_app
from booking.extensions import db
from tests.conftest import base_env
from tests.fixtures.twilio_rest import TEST_AUTH_TOKEN, signed_post


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def down_app(tmp_path: Path) -> Any:
    """An app whose PostgreSQL refuses every connection (nothing listens on the port)."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/booking"
    env = base_env(url, tmp_path, TWILIO_AUTH_TOKEN=TEST_AUTH_TOKEN)
    app = create_app({"TESTING": True}, env=env)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_api_answers_503_database_unavailable_with_retry_after(down_app: Any) -> None:
    """Before: 500 internal_error for every request during an outage (issue 11, item 4)."""
    client = down_app.test_client()
    response = client.get("/api/agents/anyone/availability?start=2026-12-01&end=2026-12-02")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "database_unavailable"
    assert response.headers["Retry-After"] == "5"
    booking = client.post(
        "/api/bookings",
        json={"token": "x" * 20, "start": "2026-12-01T10:00:00+01:00", "topic": "help", "name": "A", "email": "a@b.fr"},
    )
    assert booking.status_code == 503
    assert booking.get_json()["error"]["code"] == "database_unavailable"


def test_twilio_hook_answers_503_json_while_the_database_is_down(down_app: Any) -> None:
    """The recording callback gets 503 (Twilio retries / the reconciliation job recovers it), not 500."""
    client = down_app.test_client()
    form = {
        "CallSid": "CA" + "1" * 32,
        "RecordingSid": "RE" + "1" * 32,
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        "RecordingStatus": "completed",
        "RecordingDuration": "12",
        "From": "+33612345678",
    }
    response = signed_post(client, "http://booking.test/twilio/voicemail", form, TEST_AUTH_TOKEN)
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "database_unavailable"
    assert response.headers["Retry-After"]


@pytest.mark.parametrize(
    ("lang", "title"),
    [("fr", "Le service est momentanément indisponible"), ("en", "The service is briefly unavailable")],
)
def test_html_pages_answer_a_friendly_503_in_the_visitors_language(down_app: Any, lang: str, title: str) -> None:
    response = down_app.test_client().get(f"/book/{'t' * 24}?lang={lang}")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    page = response.get_data(as_text=True)
    assert title in page
    assert "Traceback" not in page


def test_healthz_does_not_touch_the_database(down_app: Any) -> None:
    response = down_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_names_the_database_when_it_is_unreachable(down_app: Any) -> None:
    response = down_app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failed"] == "database"


def test_readyz_is_ready_on_a_migrated_database_and_names_a_missing_migration(app: Any, client: Any) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json()["status"] == "ready"
    head = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    db.session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    db.session.commit()
    try:
        behind = client.get("/readyz")
        assert behind.status_code == 503
        assert behind.get_json()["failed"] == "migrations"
    finally:  # PostgreSQL's schema is shared by the whole session: put the stamp back
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        db.session.commit()


def test_timeouts_reach_the_driver(tmp_path: Path) -> None:
    """connect_timeout / statement_timeout are configurable and land in the engine's connect args."""
    url = "postgresql+psycopg://postgres@127.0.0.1:1/booking"
    env = base_env(url, tmp_path, BOOKING_DB_CONNECT_TIMEOUT="3", BOOKING_DB_STATEMENT_TIMEOUT="7")
    app = create_app({"TESTING": True}, env=env)
    args = app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]
    assert args["connect_timeout"] == 3
    assert "-c statement_timeout=7000" in args["options"]
    assert "-c TimeZone=UTC" in args["options"]
    defaults = create_app({"TESTING": True}, env=base_env(url, tmp_path))
    assert defaults.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["connect_timeout"] == 5


def test_sqlite_busy_timeout_is_the_configured_one(sqlite_url: str, tmp_path: Path) -> None:
    app = create_app({"TESTING": True}, env=base_env(sqlite_url, tmp_path, BOOKING_DB_STATEMENT_TIMEOUT="4"))
    with app.app_context():
        assert db.session.scalar(text("PRAGMA busy_timeout")) == 4000
        db.session.remove()
        db.engine.dispose()


def test_request_id_is_honoured_or_generated(client: Any) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "lb-1234.abc"})
    assert given.headers["X-Request-ID"] == "lb-1234.abc"
    generated = client.get("/healthz", headers={"X-Request-ID": "not an id <script>"})
    assert generated.headers["X-Request-ID"] not in ("", "not an id")
    assert len(generated.headers["X-Request-ID"]) == 32


def test_metrics_count_requests_per_route_pattern_and_read_the_outbox(app: Any, client: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from booking.models import OutboxMessage

    client.get("/api/agents/nobody-here/availability?start=2026-12-01&end=2026-12-02")
    queued = datetime.now(UTC) - timedelta(minutes=3)
    db.session.add(
        OutboxMessage(handler="test.nothing", key="metrics", payload={}, created_at=queued, next_attempt_at=queued)
    )
    db.session.commit()
    db.session.remove()
    body = client.get("/metrics").get_data(as_text=True)
    line = next(
        row
        for row in body.splitlines()
        if row.startswith("booking_http_requests_total{")
        and 'route="/api/agents/<slug>/availability"' in row
        and 'status="404"' in row
    )
    assert float(line.rsplit(" ", 1)[1]) >= 1
    assert "nobody-here" not in body  # the pattern, never the path
    assert 'booking_outbox_messages{status="pending"} 1.0' in body
    age = next(row for row in body.splitlines() if row.startswith("booking_outbox_oldest_pending_age_seconds "))
    assert float(age.split()[1]) >= 170
    assert "booking_database_up 1.0" in body


def test_home_page_links_the_api_and_the_agent_sign_in(client: Any) -> None:
    for lang, phrase in (("fr", "Réservation du support dédié"), ("en", "Dedicated support booking")):
        response = client.get(f"/?lang={lang}")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert phrase in page
        assert "/api/openapi.json" in page and 'href="/readme"' in page
        assert "/agent/sign-in" in page


def test_metrics_count_open_requests_and_breaches_per_severity(app: Any, client: Any, frozen: Any) -> None:
    """interface.md's Operations: open requests and SLA breaches per severity, read at scrape time."""
    from datetime import UTC, datetime, timedelta

    from booking.services.requests import Actor, RequestIn, open_request

    settings = app.extensions["booking.settings"]
    now = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # Monday 11:00 Paris
    frozen(now)
    for received, severity in ((now - timedelta(hours=5), 1), (now, 1), (now, 3)):
        data = RequestIn(channel="email", received_at=received, subject="Our export fails", severity=severity)
        open_request(db.session, settings.calendar, data, Actor.system("email"), now)
    db.session.remove()
    body = client.get("/metrics").get_data(as_text=True)
    assert 'booking_requests_awaiting_first_response{severity="1"} 2.0' in body
    assert 'booking_requests_awaiting_first_response{severity="3"} 1.0' in body
    assert 'booking_requests_breached{severity="1"} 1.0' in body  # severity 1: 1 h wall clock, 5 h ago
    assert 'booking_requests_breached{severity="3"} 0.0' in body
