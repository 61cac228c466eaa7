"""Migration 0016: ``customers.chat_token_hash`` / ``chat_token_sealed`` become NOT NULL (0013 left them
nullable). Rows without a token (or with half of one) get a fresh working token first, so the upgrade
never fails; rows with a token keep it; what references customers survives SQLite's table rebuild;
down and up again work. On SQLite and PostgreSQL, each on a scratch database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from booking import create_app
from booking.extensions import db
from booking.models import Customer
from tests.conftest import base_env, scratch_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with scratch_database(request, tmp_path, "migration_0016") as url:
        yield url


def _nullable() -> dict[str, bool]:
    columns = inspect(db.engine).get_columns("customers")
    return {c["name"]: c["nullable"] for c in columns if c["name"] in ("chat_token_hash", "chat_token_sealed")}


def test_0016_backfills_missing_chat_tokens_then_forbids_null_and_rolls_back(scratch_url: str, tmp_path: Path) -> None:
    app = create_app({"TESTING": True}, env=base_env(scratch_url, tmp_path))
    with app.app_context():
        upgrade(revision="0015")
        assert _nullable() == {"chat_token_hash": True, "chat_token_sealed": True}  # what 0013 left
        kept = Customer(name="Kept", plan="standard", dedicated_support=False)
        db.session.add(kept)
        db.session.commit()
        kept_id, kept_token = kept.id, kept.chat_token
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO customers (name, plan, dedicated_support, agent_id, booking_token_hash, "
                    "booking_token_sealed, chat_token_hash, chat_token_sealed, created_at) VALUES "
                    "('None', 'standard', false, NULL, 'h1', 's1', NULL, NULL, '2026-11-01 00:00:00+00'), "
                    "('Half', 'standard', false, NULL, 'h2', 's2', 'deadbeef', NULL, '2026-11-01 00:00:00+00')"
                )
            )
            half_id = conn.execute(text("SELECT id FROM customers WHERE name = 'Half'")).scalar_one()
            conn.execute(
                text("INSERT INTO customer_phones (customer_id, e164) VALUES (:id, '+33612345699')"), {"id": half_id}
            )
        upgrade(revision="0016")
        assert _nullable() == {"chat_token_hash": False, "chat_token_sealed": False}
        unique = [i for i in inspect(db.engine).get_indexes("customers") if i["column_names"] == ["chat_token_hash"]]
        assert unique and unique[0]["unique"]  # the lookup index survived SQLite's rebuild
        customers = {c.name: c for c in db.session.scalars(select(Customer))}
        assert customers["Kept"].chat_token == kept_token  # a customer with a token keeps it
        tokens = {name: c.chat_token for name, c in customers.items()}
        assert len(set(tokens.values())) == 3 and all(len(t) >= 32 for t in tokens.values())
        assert db.session.scalar(select(Customer).where(Customer.chat_token == tokens["Half"])).id == half_id
        assert [p.e164 for p in customers["Half"].phones] == ["+33612345699"]
        db.session.remove()
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(text("UPDATE customers SET chat_token_sealed = NULL WHERE id = :id"), {"id": kept_id})
        downgrade(revision="0015")
        assert _nullable() == {"chat_token_hash": True, "chat_token_sealed": True}
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM customers")).scalar() == 3
            assert conn.execute(text("SELECT count(*) FROM customer_phones")).scalar() == 1
        upgrade()
        assert _nullable() == {"chat_token_hash": False, "chat_token_sealed": False}
        db.session.remove()
        db.engine.dispose()
