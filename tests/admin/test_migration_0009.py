"""Migration 0009 (audit_log, customers.backup_agent_id) on a database holding customers, on SQLite
(batch rebuild of ``customers``) and PostgreSQL: upgrade keeps every customer (no backup), the
foreign key holds, downgrade removes both and keeps the rows."""

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
    with scratch_database(request, tmp_path, "migration_0009") as url:
        yield url


def test_0009_adds_the_audit_log_and_the_backup_agent_and_rolls_back(scratch_url: str, tmp_path: Path) -> None:
    app = create_app({"TESTING": True}, env=base_env(scratch_url, tmp_path))
    with app.app_context():
        upgrade(revision="0008")
        flag = "0" if db.engine.dialect.name == "sqlite" else "false"
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO customers (name, plan, dedicated_support, agent_id, booking_token_hash, "
                    f"booking_token_sealed, created_at, active) VALUES ('Acme', 'standard', {flag}, NULL, 'h', 's', "
                    "'2026-11-01 00:00:00+00:00', true)"
                )
            )
        upgrade(revision="0009")
        assert "audit_log" in inspect(db.engine).get_table_names()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT name, backup_agent_id FROM customers")).one() == ("Acme", None)
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            if db.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.execute(text("UPDATE customers SET backup_agent_id = 999"))
        downgrade(revision="0008")
        assert "audit_log" not in inspect(db.engine).get_table_names()
        assert "backup_agent_id" not in {c["name"] for c in inspect(db.engine).get_columns("customers")}
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM customers")).scalar() == 1
        upgrade()
        db.engine.dispose()
