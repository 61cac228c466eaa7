"""Migration 0007 (press-2 call states) on a database holding calls: upgrade → downgrade → upgrade.

Run on SQLite (batch rebuild of ``calls``) and on PostgreSQL, each on a scratch database so the
session's migrated schema is left alone. The new states must be accepted after the upgrade, unknown
ones still refused, and the downgrade must map the new states onto old ones the old CHECK accepts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from booking import create_app
from booking.extensions import db
from tests.conftest import base_env, scratch_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with scratch_database(request, tmp_path, "migration_0007") as url:
        yield url


def _insert(sid: str, status: str) -> None:
    received = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    value = received.strftime("%Y-%m-%d %H:%M:%S.%f") if db.engine.dialect.name == "sqlite" else received.isoformat()
    after_hours = "0" if db.engine.dialect.name == "sqlite" else "false"
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO calls (call_sid, from_number, severity, after_hours, status, received_at) "
                f"VALUES ('{sid}', '+33612345678', 2, {after_hours}, '{status}', '{value}')"
            )
        )


def _statuses() -> list[tuple[str, str]]:
    with db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text("SELECT call_sid, status FROM calls ORDER BY call_sid"))]


def test_0007_accepts_the_press_2_states_and_rolls_back(scratch_url: str, tmp_path: Path) -> None:
    app = create_app({"TESTING": True}, env=base_env(scratch_url, tmp_path))
    with app.app_context():
        upgrade(revision="0006")
        _insert("CA1", "dialing")
        with pytest.raises(IntegrityError):
            _insert("CA2", "seniors")  # before 0007 the state is refused

        upgrade(revision="0007")
        _insert("CA2", "seniors")
        _insert("CA3", "senior-voicemail")
        with pytest.raises(IntegrityError):
            _insert("CA4", "bogus")
        assert _statuses() == [("CA1", "dialing"), ("CA2", "seniors"), ("CA3", "senior-voicemail")]

        downgrade(revision="0006")
        assert _statuses() == [("CA1", "dialing"), ("CA2", "dialing"), ("CA3", "voicemail")]
        with pytest.raises(IntegrityError):
            _insert("CA4", "seniors")

        upgrade(revision="0007")
        _insert("CA4", "seniors")
        assert len(_statuses()) == 4
        db.engine.dispose()
