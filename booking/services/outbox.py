"""The durable outbox: side effects recorded in the same transaction as the change that causes them.

A booking commits first; pushing it to CalDAV, mailing the invitation or texting the agent happens
after the commit, from rows of ``outbox``. Handlers subscribe to events by name; ``emit`` writes one
row per subscribed handler (unique per handler and key, so emitting twice is a no-op). ``drain``
claims due rows with a short lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), runs the handler and
marks the row done, or schedules a retry with exponential back-off. A calendar outage therefore never
fails or loses a booking: the row waits and the scheduler retries it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking.models import OutboxMessage

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], datetime], None]

MAX_ATTEMPTS = 12
# Longer than the slowest handler can run (a CalDAV push: a few requests with a 60 s read timeout),
# so a second worker never takes over a row that is still being worked on; a crashed worker's rows
# wait this long before they are retried.
LEASE = timedelta(minutes=15)


@dataclass
class _Registry:
    handlers: dict[str, Handler] = field(default_factory=dict)
    subscriptions: dict[str, list[str]] = field(default_factory=dict)


_registry = _Registry()


class PermanentError(Exception):
    """A handler failure that retrying cannot fix (e.g. an invalid phone number): fail the row now."""


def subscribe(*events: str, name: str) -> Callable[[Handler], Handler]:
    """Register ``fn`` under ``name`` for the given events (module import time)."""

    def register(fn: Handler) -> Handler:
        _registry.handlers[name] = fn
        for ev in events:
            subscribers = _registry.subscriptions.setdefault(ev, [])
            if name not in subscribers:
                subscribers.append(name)
        return fn

    return register


def subscribers(event: str) -> list[str]:
    return list(_registry.subscriptions.get(event, []))


def emit(session: Session, event: str, payload: dict[str, Any], key: str, now: datetime) -> list[int]:
    """Queue ``event`` for every subscribed handler inside the caller's transaction.

    Returns the ids of the rows created (already-present rows for the same handler and key are left
    alone, which is what makes retried webhooks and requests safe).
    """
    ids: list[int] = []
    for handler in subscribers(event):
        exists = session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.handler == handler, OutboxMessage.key == key)
        )
        if exists is not None:
            continue
        msg = OutboxMessage(
            handler=handler, key=key, payload={"event": event, **payload}, next_attempt_at=now, created_at=now
        )
        try:
            with session.begin_nested():
                session.add(msg)
        except IntegrityError:
            continue
        ids.append(msg.id)
    return ids


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at one hour between tries."""
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), timedelta(hours=1))


def _claim(session: Session, now: datetime, ids: Iterable[int] | None, limit: int) -> list[OutboxMessage]:
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until <= now),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(list(ids)))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    else:
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    rows = list(session.scalars(query))
    for row in rows:
        row.locked_until = now + LEASE
    session.commit()
    return rows


@dataclass
class DrainResult:
    done: int = 0
    retried: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"done": self.done, "retried": self.retried, "failed": self.failed}


def drain(session: Session, now: datetime, ids: Iterable[int] | None = None, limit: int = 100) -> DrainResult:
    """Run due outbox rows (all, or only ``ids``); never raises for a handler's failure."""
    session.commit()  # end any implicit read transaction (a no-op when none is open)
    result = DrainResult()
    for row in _claim(session, now, ids, limit):
        row_id = row.id
        fn = _registry.handlers.get(row.handler)
        try:
            if fn is None:
                raise PermanentError(f"no handler named {row.handler!r} is registered")
            fn(dict(row.payload), now)
        except Exception as exc:
            session.rollback()
            # BEGIN IMMEDIATE: on SQLite a deferred transaction that reads the row and then writes it
            # fails at once with "database is locked" when another request committed in between.
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            row = session.get(OutboxMessage, row_id)  # type: ignore[assignment]
            assert row is not None
            row.attempts += 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            row.locked_until = None
            if isinstance(exc, PermanentError) or row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
                result.failed += 1
                log.error("outbox %s %s failed for good: %s", row.handler, row.key, row.last_error)
            else:
                row.next_attempt_at = now + backoff(row.attempts)
                result.retried += 1
                log.warning("outbox %s %s will retry: %s", row.handler, row.key, row.last_error)
            session.commit()
            continue
        session.commit()  # the handler's own writes; ends any read snapshot it left open
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        row = session.get(OutboxMessage, row_id)  # type: ignore[assignment]
        assert row is not None
        row.status = "done"
        row.attempts += 1
        row.done_at = now
        row.locked_until = None
        row.last_error = None
        session.commit()
        result.done += 1
    return result
