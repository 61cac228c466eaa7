"""Migration 0008 (customers.active) on a database that already has customers: all stay active."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from booking import create_app
from booking.extensions import db
from tests.conftest import base_env


def test_0008_marks_existing_customers_active_and_rolls_back(tmp_path):
    app = create_app({"TESTING": True}, env=base_env(f"sqlite:///{tmp_path / 'old.sqlite3'}", tmp_path))
    with app.app_context():
        upgrade(revision="0001")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO customers (name, plan, dedicated_support, agent_id, booking_token, created_at) "
                    "VALUES ('Acme', 'standard', 0, NULL, 'tok', '2026-11-01 00:00:00')"
                )
            )
        upgrade(revision="0008")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT active FROM customers")).scalar() in (1, True)
        downgrade(revision="0007")
        assert "active" not in {c["name"] for c in inspect(db.engine).get_columns("customers")}
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM customers")).scalar() == 1
        upgrade()
        db.engine.dispose()
