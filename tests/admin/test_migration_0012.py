"""Migration 0012 (call attempts, hand-offs, new request-event kinds) over a database holding requests.

On SQLite (batch rebuild of ``request_events``) and PostgreSQL, each on a scratch database: the new
kinds and tables work after the upgrade, the unique (request, attempt) and the status CHECK hold, and
the downgrade (one step, so it survives the lead re-chaining the revisions) drops what it added and
keeps the old events.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from booking import create_app
from booking.extensions import db
from tests.conftest import DB_PARAMS, base_env, scratch_database

AT = "2026-11-30 09:00:00"


@pytest.fixture(params=DB_PARAMS)
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with scratch_database(request, tmp_path, "migration_0012") as url:
        yield url


def _run(sql: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(sql))


def _event(kind: str) -> None:
    _run(f"INSERT INTO request_events (request_id, kind, actor, at, details) VALUES (1, '{kind}', 't', '{AT}', '{{}}')")


def _attempt(attempt: int, status: str = "queued") -> None:
    _run(
        "INSERT INTO call_attempts (request_id, attempt, agent_id, agent_phone, customer_phone, status, "
        f"created_at, updated_at) VALUES (1, {attempt}, 1, '+33140000001', '+33612345678', '{status}', '{AT}', '{AT}')"
    )


def test_0012_adds_attempts_handoffs_and_event_kinds_and_rolls_back(scratch_url: str, tmp_path: Path) -> None:
    app = create_app({"TESTING": True}, env=base_env(scratch_url, tmp_path))
    with app.app_context():
        upgrade(revision="0001")  # the agent as the first schema had it (0004 then hashes its feed key)
        _run(
            "INSERT INTO agents (slug, name, email, phone, timezone, tier, on_call, active, working_hours, "
            "feed_key, created_at) VALUES ('camille', 'Camille', 'c@example.com', '+33140000001', 'Europe/Paris', "
            f"'dedicated', false, true, '{{}}', 'feedkey', '{AT}')"
        )
        upgrade(revision="0005")
        _run(
            "INSERT INTO requests (channel, team, severity, subject, received_at, first_response_due_at, "
            "follow_up_due_at, status, created_at, updated_at) VALUES ('phone', 'triage', 3, 'Voicemail', "
            f"'{AT}', '{AT}', '{AT}', 'open', '{AT}', '{AT}')"
        )
        _event("created")
        with pytest.raises(IntegrityError):
            _event("joined")  # before 0012 the kind is refused

        upgrade(revision="0012")
        for kind in ("called", "handoff", "joined", "left"):
            _event(kind)
        _attempt(1)
        with pytest.raises(IntegrityError):
            _attempt(1)  # one row per request and attempt number
        with pytest.raises(IntegrityError):
            _attempt(2, status="bogus")
        with pytest.raises(IntegrityError):
            _event("bogus")

        downgrade(revision="-1")
        tables = set(inspect(db.engine).get_table_names())
        assert "call_attempts" not in tables and "handoffs" not in tables
        with db.engine.connect() as conn:
            assert [r[0] for r in conn.execute(text("SELECT kind FROM request_events ORDER BY id"))] == ["created"]
        with pytest.raises(IntegrityError):
            _event("joined")
        upgrade()
        db.engine.dispose()
