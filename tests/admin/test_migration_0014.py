"""Migration 0014 (issue 18) over existing rows: upgrade → the defaults; CHECKs refuse bad values; down → up.

On SQLite (ADD COLUMN with column CHECKs; the downgrade rebuilds and puts the overlap triggers back)
and on PostgreSQL, each on a scratch database so the session's migrated schema is left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from booking import create_app
from booking.db_guards import is_overlap_error
from booking.extensions import db
from tests.conftest import base_env, scratch_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with scratch_database(request, tmp_path, "migration_0014") as url:
        yield url


def _when(hour: int) -> object:
    moment = datetime(2026, 12, 1, hour, 0, tzinfo=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if db.engine.dialect.name == "sqlite" else moment


def _insert(table: str, **values: object) -> None:
    names = ", ".join(values)
    marks = ", ".join(f":{k}" for k in values)
    with db.engine.begin() as conn:
        conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({marks})"), values)


def _booking(n: int, hour: int, **extra: object) -> None:
    _insert(
        "bookings",
        id=n,
        uid=f"b{n}@booking",
        kind="call",
        agent_id=1,
        customer_id=1,
        start_at=_when(hour),
        end_at=_when(hour + 1),
        topic="help",
        status="confirmed",
        sequence=0,
        manage_token_hash=f"m{n}",
        manage_token_sealed="x",
        contact_name="Alice",
        contact_email="alice@example.com",
        created_at=_when(0),
        updated_at=_when(0),
        **extra,
    )


def _old_rows() -> None:
    _insert(
        "agents",
        id=1,
        slug="camille",
        name="Camille",
        email="camille@example.com",
        phone="+33140000001",
        timezone="Europe/Paris",
        tier="dedicated",
        on_call=False,
        admin=False,
        active=True,
        feed_key_hash="f",
        feed_key_sealed="x",
        created_at=_when(0),
        session_generation=0,
    )
    _insert(
        "customers",
        id=1,
        name="Acme",
        plan="all-inclusive",
        dedicated_support=True,
        agent_id=1,
        active=True,
        booking_token_hash="t",
        booking_token_sealed="x",
        created_at=_when(0),
    )
    _booking(1, 9)


def test_0014_defaults_checks_and_rollback(scratch_url: str, tmp_path: Path) -> None:
    app = create_app({"TESTING": True}, env=base_env(scratch_url, tmp_path))
    with app.app_context():
        upgrade(revision="0008")
        _old_rows()
        upgrade(revision="0014")
        with db.engine.connect() as conn:
            row = conn.execute(text("SELECT call_method, contact_timezone, phone FROM bookings")).one()
            assert tuple(row) == ("phone", None, None)  # an old booking: a phone call, the business zone
            agent = conn.execute(text("SELECT language, buffer_minutes, max_calls_per_day FROM agents")).one()
            assert tuple(agent) == ("en", None, None)  # the deployment's defaults apply
        with pytest.raises(IntegrityError):
            _booking(2, 11, call_method="fax")
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(text("UPDATE agents SET language = 'de'"))
        _booking(3, 11, call_method="video", contact_timezone="America/New_York", phone="+12125550100")

        downgrade(revision="0008")
        assert "call_method" not in {c["name"] for c in inspect(db.engine).get_columns("bookings")}
        assert "language" not in {c["name"] for c in inspect(db.engine).get_columns("agents")}
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM bookings")).scalar() == 2
        with pytest.raises(IntegrityError) as overlap:  # the overlap guard survived the rebuild
            _booking(4, 9)
        assert is_overlap_error(overlap.value)
        upgrade()
        db.engine.dispose()
