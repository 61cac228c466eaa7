"""Migration 0010 (request_messages, request_attachments, the ``message`` event kind) on SQLite and
PostgreSQL: existing requests and events survive, the new kind is accepted, and it rolls back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from booking import create_app
from booking.extensions import db
from tests.conftest import base_env, scratch_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with scratch_database(request, tmp_path, "migration_0010") as url:
        yield url


def _event(kind: str) -> None:
    at = "2026-12-01 09:00:00" if db.engine.dialect.name == "sqlite" else "2026-12-01T09:00:00+00:00"
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO request_events (request_id, kind, actor, at, details) "
                f"VALUES (1, '{kind}', 'test', '{at}', '{{}}')"
            )
        )


def test_0010_adds_the_thread_tables_and_the_message_kind_and_rolls_back(scratch_url: str, tmp_path: Path) -> None:
    app = create_app({"TESTING": True}, env=base_env(scratch_url, tmp_path))
    with app.app_context():
        upgrade(revision="0008")
        at = "2026-12-01 09:00:00" if db.engine.dialect.name == "sqlite" else "2026-12-01T09:00:00+00:00"
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO requests (channel, team, severity, subject, received_at, first_response_due_at, "
                    "follow_up_due_at, status, created_at, updated_at) "
                    f"VALUES ('email', 'triage', 3, 'Old', '{at}', '{at}', '{at}', 'open', '{at}', '{at}')"
                )
            )
        _event("created")
        with pytest.raises(IntegrityError):
            _event("message")
        upgrade(revision="0010")
        assert {"request_messages", "request_attachments"} <= set(inspect(db.engine).get_table_names())
        _event("message")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM request_events")).scalar() == 2
            assert conn.execute(text("SELECT subject FROM requests")).scalar() == "Old"
        with pytest.raises(IntegrityError):
            _event("bogus")
        downgrade(revision="0008")
        assert "request_messages" not in inspect(db.engine).get_table_names()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT kind FROM request_events")).scalars().all() == ["created"]
        upgrade()
        db.engine.dispose()
