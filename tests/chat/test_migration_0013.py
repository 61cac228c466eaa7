"""Migration 0013 (chat) on SQLite and PostgreSQL, on a database that already has customers: each gets
a working chat token (hashed and sealed, none in clear); downgrade removes everything it added."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from booking import create_app
from booking.extensions import db
from booking.models import Customer
from tests.conftest import base_env, scratch_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with scratch_database(request, tmp_path, "migration_0013") as url:
        yield url


def test_0013_gives_existing_customers_a_sealed_chat_token_and_rolls_back(scratch_url, tmp_path):
    app = create_app({"TESTING": True}, env=base_env(scratch_url, tmp_path))
    with app.app_context():
        upgrade(revision="0008")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO customers (name, plan, dedicated_support, agent_id, booking_token_hash, "
                    "booking_token_sealed, created_at) VALUES ('Acme', 'standard', false, NULL, 'h1', 's1', "
                    "'2026-11-01 00:00:00+00'), ('Globex', 'standard', false, NULL, 'h2', 's2', "
                    "'2026-11-01 00:00:00+00')"
                )
            )
        upgrade(revision="0013")
        customers = db.session.scalars(select(Customer).order_by(Customer.id)).all()
        tokens = [c.chat_token for c in customers]  # unsealed with the app's key
        assert len(set(tokens)) == 2 and all(len(t) >= 32 for t in tokens)
        assert db.session.scalar(select(Customer).where(Customer.chat_token == tokens[1])).name == "Globex"
        with db.engine.connect() as conn:
            stored = conn.execute(text("SELECT chat_token_hash, chat_token_sealed FROM customers")).all()
        assert not {tokens[0], tokens[1]} & {v for row in stored for v in row}
        db.session.remove()
        tables = set(inspect(db.engine).get_table_names())
        assert {"chat_conversations", "chat_messages"} <= tables
        downgrade(revision="0008")
        inspector = inspect(db.engine)
        assert not {"chat_conversations", "chat_messages"} & set(inspector.get_table_names())
        assert "chat_token_hash" not in {c["name"] for c in inspector.get_columns("customers")}
        assert "last_seen_at" not in {c["name"] for c in inspector.get_columns("agents")}
        upgrade()
        db.engine.dispose()
