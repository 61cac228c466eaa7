"""Migration 0005 (requests) on a database that already holds callbacks: upgrade → downgrade → upgrade.

Run on SQLite and on PostgreSQL (a scratch database next to the test one, so the session's
migrated schema is left alone). Every callback must come out as a phone request with a created
event, the owner team and status following the callback's, and the downgrade must leave the
callbacks exactly as they were.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from booking import create_app
from booking.extensions import db
from tests.conftest import base_env, scratch_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with scratch_database(request, tmp_path, "migration_0005") as url:
        yield url


def _ts(dialect: str, moment: datetime) -> str:
    """A UTC instant as the column stores it (naive UTC text on SQLite, timestamptz on PostgreSQL)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else moment.isoformat()


def _seed(dialect: str) -> None:
    def t(*args: int) -> str:
        return _ts(dialect, datetime(*args, tzinfo=UTC))

    created = t(2026, 11, 1)
    true, false = ("1", "0") if dialect == "sqlite" else ("true", "false")
    statements = [
        "INSERT INTO agents (id, slug, name, email, phone, timezone, tier, on_call, active, feed_key, created_at) "
        f"VALUES (1, 'camille', 'Camille', 'c@example.com', '+33140000001', 'Europe/Paris', 'dedicated', {false}, "
        f"{true}, 'key1', '{created}'), (2, 'sam', 'Sam', 's@example.com', '+33140000002', 'Europe/Paris', "
        f"'senior', {true}, {true}, 'key2', '{created}')",
        "INSERT INTO customers (id, name, plan, dedicated_support, agent_id, booking_token, created_at) "
        f"VALUES (1, 'Acme', 'all-inclusive', {true}, 1, 'tok', '{created}')",
    ]
    # (callback id, customer, agent, severity, status, received, due, done)
    callbacks = [
        (1, "1", "1", 3, "pending", t(2026, 11, 2, 9, 0), t(2026, 11, 2, 11, 0), None),  # Mon 10:00 Paris
        (2, "1", "1", 3, "done", t(2026, 11, 6, 17, 0), t(2026, 11, 9, 8, 0), t(2026, 11, 9, 8, 30)),  # Fri 18:00
        (3, "1", "2", 1, "pending", t(2026, 11, 7, 2, 0), t(2026, 11, 7, 3, 0), None),  # Sat 03:00, on-call senior
        (4, "NULL", "NULL", 3, "cancelled", t(2026, 11, 3, 9, 0), t(2026, 11, 3, 11, 0), t(2026, 11, 3, 12, 0)),
    ]
    for cid, customer, agent, severity, status, received, due, done in callbacks:
        statements.append(
            "INSERT INTO voicemails (id, recording_sid, call_sid, recording_url, duration, from_number, "
            f"customer_id, agent_id, severity, received_at) VALUES ({cid}, 'RE{cid}', 'CA{cid}', "
            f"'https://api.twilio.test/RE{cid}', 30, '+3361234000{cid}', {customer}, {agent}, {severity}, '{received}')"
        )
        done_sql = f"'{done}'" if done else "NULL"
        statements.append(
            "INSERT INTO callbacks (id, voicemail_id, customer_id, agent_id, phone, severity, due_at, status, "
            f"created_at, done_at) VALUES ({cid}, {cid}, {customer}, {agent}, '+3361234000{cid}', {severity}, "
            f"'{due}', '{status}', '{received}', {done_sql})"
        )
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def _requests() -> list[tuple[object, ...]]:
    with db.engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT callback_id, channel, team, status, customer_id, agent_id, severity, subject "
                    "FROM requests ORDER BY callback_id"
                )
            )
        ]


EXPECTED = [
    (1, "phone", "dedicated", "open", 1, 1, 3, "Voicemail from +33612340001"),
    (2, "phone", "dedicated", "responded", 1, 1, 3, "Voicemail from +33612340002"),
    (3, "phone", "senior", "open", 1, 2, 1, "Voicemail from +33612340003"),
    (4, "phone", "triage", "resolved", None, None, 3, "Voicemail from +33612340004"),
]


def test_0005_turns_callbacks_into_phone_requests_and_rolls_back(scratch_url: str, tmp_path: Path) -> None:
    app = create_app({"TESTING": True}, env=base_env(scratch_url, tmp_path))
    with app.app_context():
        dialect = db.engine.dialect.name
        upgrade(revision="0002")
        _seed(dialect)

        upgrade(revision="0005")
        assert _requests() == EXPECTED
        with db.engine.connect() as conn:
            events = conn.execute(
                text(
                    "SELECT r.callback_id, e.kind, e.actor FROM request_events e "
                    "JOIN requests r ON r.id = e.request_id "
                    "ORDER BY r.callback_id, e.id"
                )
            ).all()
            first = conn.execute(
                text(
                    "SELECT first_response_due_at, first_response_at, follow_up_due_at FROM requests "
                    "WHERE callback_id IN (1, 2) ORDER BY callback_id"
                )
            ).all()
        assert [tuple(e) for e in events] == [
            (1, "created", "migration"),
            (2, "created", "migration"),
            (2, "responded", "migration"),
            (3, "created", "migration"),
            (4, "created", "migration"),
            (4, "resolved", "migration"),
        ]

        def utc(value: object) -> datetime:
            assert isinstance(value, datetime | str)
            moment = datetime.fromisoformat(value) if isinstance(value, str) else value
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

        # The callback's due time is the first-response due time; the follow-up is two business
        # days after the call (Mon 10:00 Paris → Wed 10:00; Fri 18:00 → Tue 17:00 Paris).
        assert utc(first[0][0]) == datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
        assert first[0][1] is None
        assert utc(first[0][2]) == datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
        assert utc(first[1][1]) == datetime(2026, 11, 9, 8, 30, tzinfo=UTC)
        assert utc(first[1][2]) == datetime(2026, 11, 10, 16, 0, tzinfo=UTC)

        downgrade(revision="0002")
        tables = set(inspect(db.engine).get_table_names())
        assert not {"requests", "request_events"} & tables
        with db.engine.connect() as conn:
            statuses = conn.execute(text("SELECT id, status FROM callbacks ORDER BY id")).all()
        assert [tuple(s) for s in statuses] == [(1, "pending"), (2, "done"), (3, "pending"), (4, "cancelled")]

        upgrade(revision="0005")
        assert _requests() == EXPECTED
        db.engine.dispose()
