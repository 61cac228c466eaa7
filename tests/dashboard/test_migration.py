"""Migration 0002 on a database that already has agents, bookings and callbacks pointing at them."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from booking import create_app
from booking.extensions import db
from tests.conftest import base_env


def test_0002_adds_the_sign_in_columns_to_existing_agents_and_rolls_back(tmp_path):
    app = create_app({"TESTING": True}, env=base_env(f"sqlite:///{tmp_path / 'old.sqlite3'}", tmp_path))
    with app.app_context():
        upgrade(revision="0001")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO agents (slug, name, email, phone, timezone, tier, on_call, active, feed_key, "
                    "created_at) VALUES ('camille', 'Camille', 'c@example.com', '+33140000001', 'Europe/Paris', "
                    "'dedicated', 0, 1, 'key', '2026-11-01 00:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO customers (name, plan, dedicated_support, agent_id, booking_token, created_at) "
                    "VALUES ('Acme', 'all-inclusive', 1, 1, 'tok', '2026-11-01 00:00:00')"
                )
            )
        upgrade()
        columns = {c["name"] for c in inspect(db.engine).get_columns("agents")}
        assert {"sign_in_nonce", "last_sign_in_at", "session_generation"} <= columns
        with db.engine.connect() as conn:
            row = conn.execute(text("SELECT sign_in_nonce, last_sign_in_at, session_generation FROM agents")).one()
        assert tuple(row) == (None, None, 0)

        downgrade(revision="0001")
        columns = {c["name"] for c in inspect(db.engine).get_columns("agents")}
        assert not {"sign_in_nonce", "last_sign_in_at", "session_generation"} & columns
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM customers WHERE agent_id = 1")).scalar() == 1
        db.engine.dispose()
