"""How many SQL statements one booking costs (issue 19): each is a round trip under the agent lock.

An SQLAlchemy ``before_cursor_execute`` listener counts every statement sent while one POST
/api/bookings runs (the outbox is not drained inline here, so only the booking's own work counts).
The ceiling is what the path needs today; a change that adds a query fails here and must say why.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from booking.extensions import db
from booking.services import availability

#: Statements of one successful booking, all in one transaction: (SQLite's BEGIN IMMEDIATE), the
#: customer by token, the agent read and locked in one UPDATE ... RETURNING, the open-bookings count,
#: the busy read (from the cache when the agent's schedule has not changed), the insert, and ONE
#: outbox insert for all handlers. Before issue 19: 19 statements (two transactions, a separate agent
#: read, and SELECT + SAVEPOINT + INSERT + RELEASE per outbox handler) plus PostgreSQL's
#: ``txid_current_if_assigned()`` check.
CEILING = 7


@contextmanager
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement SQLAlchemy sends, plus the busy read that goes straight to the driver."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    raw_read = availability.busy_intervals

    def busy_intervals(*args: Any, **kwargs: Any) -> Any:
        statements.append("-- busy_intervals: one UNION ALL on the driver's cursor")
        return raw_read(*args, **kwargs)

    monkeypatch.setattr(availability, "busy_intervals", busy_intervals)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
        monkeypatch.undo()


@pytest.fixture
def env_overrides() -> dict[str, str]:
    return {"BOOKING_OUTBOX_INLINE": "0"}


def _book(client: Any, token: str, start: str) -> Any:
    return client.post(
        "/api/bookings",
        json={"token": token, "start": start, "topic": "help", "name": "Ada", "email": "ada@example.com"},
    )


def _second_booking(client, monkeypatch, customer) -> tuple[Any, list[str]]:
    """A warm-up booking, then the statements of a second one (the steady state of the path)."""
    db.session.remove()
    assert _book(client, customer["booking_token"], "2026-12-01T10:00:00+01:00").status_code == 201  # warm
    with counted(monkeypatch) as statements:
        response = _book(client, customer["booking_token"], "2026-12-01T11:00:00+01:00")
    return response, statements


def test_one_booking_costs_at_most_the_ceiling_of_statements(client, make_agent, make_customer, frozen, monkeypatch):
    agent = make_agent()
    customer = make_customer(agent["slug"])
    response, statements = _second_booking(client, monkeypatch, customer)
    assert response.status_code == 201, response.get_json()
    assert any(s.startswith("-- busy_intervals") for s in statements), statements  # the raw read is seen
    assert len(statements) <= CEILING, "\n".join(statements)


def test_the_counter_sees_every_statement(client, make_agent, make_customer, frozen, monkeypatch):
    """The listener is real: an unknown token still costs its lookup."""
    with counted(monkeypatch) as statements:
        response = _book(client, "no-such-token", "2026-12-01T11:00:00+01:00")
    assert response.status_code == 404
    assert any("customers" in s for s in statements), statements


def test_one_count_answers_both_caps_of_upcoming_calls(client, make_agent, make_customer, frozen, monkeypatch, app):
    """With BOOKING_MAX_OPEN_BOOKINGS_PER_CUSTOMER set too, the booking still costs the ceiling: the
    abuse cap, the business cap and the slot check's own cap read ONE count of upcoming calls (before:
    three counts, and two definitions of "upcoming")."""
    from dataclasses import replace

    app.extensions["booking.settings"] = replace(app.extensions["booking.settings"], max_open_bookings_per_customer=5)
    agent = make_agent()
    customer = make_customer(agent["slug"])
    response, statements = _second_booking(client, monkeypatch, customer)
    assert response.status_code == 201, response.get_json()
    counts = [s for s in statements if "count(" in s.lower()]
    assert len(counts) == 1, "\n".join(statements)
    assert len(statements) <= CEILING, "\n".join(statements)


def test_the_outbox_insert_is_compiled_once(client, make_agent, make_customer, frozen):
    """The booking's outbox rows go in one INSERT served from SQLAlchemy's compiled cache: built with
    ``.values(rows)`` it was never cached and compiled anew on every booking (~0.8 ms of CPU, held
    under SQLite's write lock, issue 19)."""
    from sqlalchemy.engine.default import CACHE_HIT

    agent = make_agent()
    customer = make_customer(agent["slug"])
    db.session.remove()
    assert _book(client, customer["booking_token"], "2026-12-01T10:00:00+01:00").status_code == 201  # warm
    outbox: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO OUTBOX"):
            outbox.append((statement, context.cache_hit))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert _book(client, customer["booking_token"], "2026-12-01T11:00:00+01:00").status_code == 201
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(outbox) == 1, outbox  # still one statement for every handler
    assert outbox[0][1] is CACHE_HIT, outbox
