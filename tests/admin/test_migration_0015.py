"""Migration 0015 (agents.schedule_version) on a database holding agents: every agent starts at 0,
``lock_agent``'s increment works after the upgrade, and the downgrade drops the column again.
Run on SQLite and PostgreSQL, each on a scratch database so the session's schema is left alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from booking import create_app
from booking.extensions import db
from tests.conftest import base_env, scratch_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with scratch_database(request, tmp_path, "migration_0015") as url:
        yield url


def test_0015_adds_schedule_version_at_zero_and_rolls_back(scratch_url: str, tmp_path: Path) -> None:
    app = create_app({"TESTING": True}, env=base_env(scratch_url, tmp_path))
    with app.app_context():
        upgrade(revision="0008")
        client = app.test_client()
        headers = {"Authorization": "Bearer test-admin-token-0123456789abcdefghij"}
        body = {"slug": "ada", "name": "Ada", "email": "ada@example.com", "phone": "+33140000001"}
        upgrade(revision="0015")
        assert client.post("/api/agents", json=body, headers=headers).status_code == 201
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT schedule_version FROM agents")).scalar() == 0
        from booking.services import schedule

        agent_id = db.session.scalar(text("SELECT id FROM agents"))
        assert schedule.lock_agent(db.session, agent_id).schedule_version == 1
        db.session.commit()
        downgrade(revision="0008")
        assert "schedule_version" not in {c["name"] for c in inspect(db.engine).get_columns("agents")}
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM agents")).scalar() == 1
        upgrade()
        db.session.remove()
        db.engine.dispose()
