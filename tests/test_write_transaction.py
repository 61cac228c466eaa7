"""``write_transaction`` refuses a caller's uncommitted writes instead of committing them silently.

Its first step ends the caller's transaction so the write lock is taken up front (BEGIN IMMEDIATE on
SQLite). It used to do that with a plain ``commit()``, which published whatever the caller had
changed before the lock - outside the use case that owns the transaction and before its checks.
Both kinds are caught: objects not yet flushed, and rows already flushed (or written by a bulk
statement) in the open transaction, which the database itself reports.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from booking.db_guards import PendingWritesError, write_transaction
from booking.extensions import db
from booking.models import Agent, TimeOff

START = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
def agent(make_agent) -> Agent:
    slug = make_agent()["slug"]
    db.session.rollback()
    return db.session.scalar(select(Agent).where(Agent.slug == slug))


def _time_off(agent: Agent) -> TimeOff:
    return TimeOff(agent_id=agent.id, start_at=START, end_at=START + timedelta(hours=1), reason="x")


def _count_time_off() -> int:
    db.session.rollback()
    return len(db.session.scalars(select(TimeOff)).all())


def _flushed(agent: Agent) -> None:
    db.session.add(_time_off(agent))
    db.session.flush()


def _bulk(agent: Agent) -> None:
    db.session.execute(update(Agent).where(Agent.id == agent.id).values(name="Bulk"))


WRITES: dict[str, Callable[[Agent], object]] = {
    "new": lambda agent: db.session.add(_time_off(agent)),
    "dirty": lambda agent: setattr(agent, "name", "Renamed"),
    "deleted": lambda agent: db.session.delete(agent),
    "flushed": _flushed,
    "bulk": _bulk,
}


@pytest.mark.parametrize("kind", list(WRITES))
def test_pending_writes_are_refused_not_committed(app, agent, kind):
    name = agent.name
    WRITES[kind](agent)
    with pytest.raises(PendingWritesError, match="uncommitted writes"), write_transaction(db.session):
        pytest.fail("the block must not run")
    db.session.rollback()
    assert _count_time_off() == 0
    assert db.session.get(Agent, agent.id, populate_existing=True).name == name


def test_reads_and_unchanged_objects_are_fine(app, agent):
    agent.name = agent.name  # assigned, but no net change
    db.session.scalars(select(TimeOff)).all()  # an open read transaction
    with write_transaction(db.session):
        db.session.add(_time_off(agent))
    assert _count_time_off() == 1
    with write_transaction(db.session):  # right after a commit: nothing open at all
        db.session.add(_time_off(agent))
    assert _count_time_off() == 2
