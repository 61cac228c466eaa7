"""One vocabulary, enforced by the database: migration 0003 and the CHECK constraints it adds.

The models build their constraints from ``booking.vocabulary`` and the migration writes its own copy
of the value lists (a migration is a snapshot); these tests hold the two together on both databases,
refuse an unknown value on both, and run 0003 up, down and up again over real rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from booking import create_app
from booking.db_guards import is_overlap_error
from booking.extensions import db
from booking.models import (
    Agent,
    Booking,
    BusyBlock,
    CalendarConnection,
    Call,
    Callback,
    Customer,
    OutboxMessage,
    Voicemail,
)
from booking.vocabulary import (
    STORED_TOPICS,
    BookingKind,
    BookingStatus,
    BusySource,
    CallbackStatus,
    CallMethod,
    CallStatus,
    Language,
    OutboxStatus,
    SyncStatus,
    Tier,
    Topic,
    one_of,
)
from tests.conftest import _truncate_postgres, base_env

# (table, column, the values the vocabulary allows)
CONSTRAINED: list[tuple[str, str, Iterable[str]]] = [
    ("agents", "tier", Tier),
    ("bookings", "status", BookingStatus),
    ("bookings", "kind", BookingKind),
    ("bookings", "topic", STORED_TOPICS),
    ("outbox", "status", OutboxStatus),
    ("callbacks", "status", CallbackStatus),
    ("calls", "status", CallStatus),
    ("calendar_connections", "last_sync_status", SyncStatus),
    ("busy_blocks", "source", BusySource),
    ("bookings", "call_method", CallMethod),  # migration 0014
    ("agents", "language", Language),  # migration 0014
]
IDS = [f"{table}.{column}" for table, column, _ in CONSTRAINED]
ADDED_BY_0003 = {
    "bookings": "ck_bookings_topic",
    "calls": "ck_calls_status",
    "calendar_connections": "ck_calendar_connections_last_sync_status",
    "busy_blocks": "ck_busy_blocks_source",
}
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def checked_values(engine: Engine, table: str, name: str) -> set[str] | None:
    """The values a named CHECK constraint lists, as the database reports it (None: no such constraint).

    SQLite returns the SQL as written, PostgreSQL its own rewriting (``= ANY (ARRAY['a'::varchar, ...])``);
    the quoted literals are the same in both.
    """
    for check in inspect(engine).get_check_constraints(table):
        if check["name"] == name:
            return set(re.findall(r"'([^']*)'", check["sqltext"]))
    return None


def test_one_of_is_the_sql_both_databases_run():
    assert one_of("status", BookingStatus) == "status IN ('confirmed', 'cancelled')"
    assert one_of("source", BusySource) == "source IN ('caldav')"
    assert one_of("topic", STORED_TOPICS) == "topic IN ('help', 'training', 'setup-changes', 'callback')"


@pytest.mark.parametrize(("table", "column", "values"), CONSTRAINED, ids=IDS)
def test_the_migrated_database_checks_exactly_the_enum(app, table, column, values):
    assert checked_values(db.engine, table, f"ck_{table}_{column}") == {str(value) for value in values}
    model = db.metadata.tables[table]
    (constraint,) = [c for c in model.constraints if c.name == f"ck_{table}_{column}"]
    assert str(constraint.sqltext) == one_of(column, values)


@pytest.fixture
def rows(app):
    """One valid row in every constrained table (committed), so each can then be spoiled."""
    agent = Agent(slug="camille", name="Camille", email="c@example.com", phone="+33140000001", timezone="Europe/Paris")
    customer = Customer(name="Acme", plan="all-inclusive", dedicated_support=True, agent=agent)
    booking = Booking(
        agent=agent,
        customer=customer,
        start_at=T0,
        end_at=T0 + timedelta(minutes=30),
        topic=Topic.HELP,
        contact_name="Alice",
        contact_email="alice@example.com",
    )
    voicemail = Voicemail(recording_sid="RE1", call_sid="CA1", recording_url="https://r/RE1", from_number="+3361")
    db.session.add_all([agent, customer, booking])
    db.session.flush()
    db.session.add_all(
        [
            Call(call_sid="CA1", from_number="+33612345678"),
            CalendarConnection(agent=agent, url="https://dav/", username="c", password_encrypted="x"),
            BusyBlock(agent_id=agent.id, start_at=T0, end_at=T0 + timedelta(hours=1)),
            OutboxMessage(handler="h", key="k", payload={}),
            Callback(voicemail=voicemail, agent=agent, booking=booking, phone="+3361", due_at=T0),
        ]
    )
    db.session.commit()
    return app


@pytest.mark.parametrize(("table", "column", "values"), CONSTRAINED, ids=IDS)
def test_the_database_takes_every_member_and_refuses_anything_else(rows, table, column, values):
    for member in values:
        db.session.execute(text(f"UPDATE {table} SET {column} = :v"), {"v": member})
        db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(text(f"UPDATE {table} SET {column} = 'bogus'"))
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(text(f"SELECT {column} FROM {table}")) == list(values)[-1]


def test_the_orm_refuses_an_unknown_call_state(rows):
    """The same refusal through the model, as a service that skipped ``move_call`` would meet it."""
    call = db.session.query(Call).one()
    call.status = "on-hold"
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


# -- migration 0003 over real rows, up, down and up again -------------------------------------------

_SEED = [
    "INSERT INTO agents (slug, name, email, phone, timezone, tier, on_call, active, feed_key, created_at,"
    " session_generation) VALUES ('camille', 'Camille', 'c@example.com', '+33140000001', 'Europe/Paris',"
    " 'dedicated', false, true, 'key', '2026-11-01 00:00:00', 0)",
    "INSERT INTO customers (name, plan, dedicated_support, agent_id, booking_token, created_at)"
    " VALUES ('Acme', 'all-inclusive', true, 1, 'tok', '2026-11-01 00:00:00')",
    "INSERT INTO bookings (uid, kind, agent_id, customer_id, start_at, end_at, topic, status, sequence,"
    " manage_token, contact_name, contact_email, created_at, updated_at) VALUES"
    " ('u1', 'call', 1, 1, '2026-12-01 09:00:00', '2026-12-01 09:30:00', 'training', 'confirmed', 0, 'm1',"
    " 'Alice', 'a@example.com', '2026-11-01 00:00:00', '2026-11-01 00:00:00'),"
    " ('u2', 'callback', 1, 1, '2026-12-01 10:00:00', '2026-12-01 10:15:00', 'callback', 'confirmed', 0, 'm2',"
    " 'Acme', 'a@example.com', '2026-11-01 00:00:00', '2026-11-01 00:00:00')",
    "INSERT INTO voicemails (recording_sid, call_sid, recording_url, duration, from_number, severity, received_at)"
    " VALUES ('RE1', 'CA1', 'https://r/RE1', 3, '+33612345678', 3, '2026-11-01 00:00:00')",
    "INSERT INTO callbacks (voicemail_id, agent_id, booking_id, phone, severity, due_at, status, created_at)"
    " VALUES (1, 1, 2, '+33612345678', 3, '2026-12-01 10:00:00', 'pending', '2026-11-01 00:00:00')",
    "INSERT INTO calls (call_sid, from_number, severity, after_hours, status, received_at) VALUES"
    " ('CA1', '+33612345678', 3, false, 'voicemail', '2026-11-01 00:00:00'),"
    " ('CA2', '+33612345678', 3, false, 'no-answer', '2026-11-01 00:00:00'),"
    " ('CA3', '+33612345678', 3, false, 'some-new-twilio-value', '2026-11-01 00:00:00')",
    "INSERT INTO calendar_connections (agent_id, url, username, password_encrypted, last_sync_status, created_at)"
    " VALUES (1, 'https://dav/', 'c', 'x', 'ok', '2026-11-01 00:00:00')",
    "INSERT INTO busy_blocks (agent_id, start_at, end_at, source) VALUES"
    " (1, '2026-12-01 12:00:00', '2026-12-01 13:00:00', 'caldav')",
]
_OVERLAPPING = (
    "INSERT INTO bookings (uid, kind, agent_id, customer_id, start_at, end_at, topic, status, sequence,"
    " manage_token, contact_name, contact_email, created_at, updated_at) VALUES"
    " ('u3', 'call', 1, 1, '2026-12-01 09:15:00', '2026-12-01 09:45:00', 'help', 'confirmed', 0, 'm3',"
    " 'Bob', 'b@example.com', '2026-11-01 00:00:00', '2026-11-01 00:00:00')"
)


def _has_0003(engine: Engine) -> dict[str, bool]:
    return {table: checked_values(engine, table, name) is not None for table, name in ADDED_BY_0003.items()}


def _assert_rows_kept(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("SELECT call_sid, status FROM calls ORDER BY id")).all() == [
            ("CA1", "voicemail"),
            ("CA2", "no-answer"),
            ("CA3", "failed"),
        ]
        assert conn.execute(text("SELECT uid, topic FROM bookings ORDER BY id")).all() == [
            ("u1", "training"),
            ("u2", "callback"),
        ]
        assert conn.execute(text("SELECT booking_id FROM callbacks")).scalar() == 2
        assert conn.execute(text("SELECT count(*) FROM calendar_connections")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM busy_blocks")).scalar() == 1
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []


def _assert_overlap_still_refused(engine: Engine) -> None:
    """SQLite rebuilds ``bookings`` in batch mode; the overlap guard must survive every rebuild."""
    with pytest.raises(IntegrityError) as refused, engine.begin() as conn:
        conn.execute(text(_OVERLAPPING))
    assert is_overlap_error(refused.value)


def _round_trip(url: str, instance: Path) -> None:
    app = create_app({"TESTING": True}, env=base_env(url, instance))
    with app.app_context():
        try:
            downgrade(revision="0002")
            assert _has_0003(db.engine) == dict.fromkeys(ADDED_BY_0003, False)
            with db.engine.begin() as conn:
                for statement in _SEED:
                    conn.execute(text(statement))

            upgrade(revision="0003")  # this revision's round trip; later ones have their own tests
            assert _has_0003(db.engine) == dict.fromkeys(ADDED_BY_0003, True)
            _assert_rows_kept(db.engine)  # the undocumented dial status became 'failed'
            _assert_overlap_still_refused(db.engine)
            with pytest.raises(IntegrityError), db.engine.begin() as conn:
                conn.execute(text("UPDATE calls SET status = 'bogus' WHERE call_sid = 'CA2'"))

            downgrade(revision="0002")
            assert _has_0003(db.engine) == dict.fromkeys(ADDED_BY_0003, False)
            _assert_rows_kept(db.engine)
            _assert_overlap_still_refused(db.engine)
            with db.engine.begin() as conn:  # 0002 had no such check
                conn.execute(text("UPDATE busy_blocks SET source = 'ews'"))
                conn.execute(text("UPDATE busy_blocks SET source = 'caldav'"))

            upgrade(revision="0003")  # this revision's round trip; later ones have their own tests
            assert _has_0003(db.engine) == dict.fromkeys(ADDED_BY_0003, True)
            _assert_rows_kept(db.engine)
            _assert_overlap_still_refused(db.engine)
            with db.engine.connect() as conn:
                assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
                if db.engine.dialect.name == "sqlite":
                    assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1  # back on after migrating
        finally:
            upgrade()  # leave the schema at head whatever failed (PostgreSQL's is shared by the session)
            db.engine.dispose()


def test_0003_round_trip_with_rows_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app({"TESTING": True}, env=base_env(url, tmp_path))
    with app.app_context():
        upgrade(revision="0002")
        db.engine.dispose()
    _round_trip(url, tmp_path)


@pytest.mark.postgres
def test_0003_round_trip_with_rows_on_postgres(postgres_schema, tmp_path):
    _truncate_postgres(postgres_schema)
    try:
        _round_trip(postgres_schema, tmp_path)
    finally:
        _truncate_postgres(postgres_schema)


# -- one definition: every place that names topics takes them from the vocabulary -----------------


def test_topic_labels_and_the_api_cover_exactly_the_vocabulary():
    from booking.calendar_sync.invitations import TOPIC_LABELS as EVENT_LABELS
    from booking.i18n import TOPIC_LABELS
    from booking.routes.schemas import BookingCreate

    assert list(TOPIC_LABELS) == list(Topic)  # the booking page offers them in this order
    assert set(EVENT_LABELS) == set(STORED_TOPICS)
    assert BookingCreate.model_json_schema()["$defs"]["Topic"]["enum"] == ["help", "training", "setup-changes"]
