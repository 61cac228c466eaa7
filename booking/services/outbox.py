"""The durable outbox: side effects recorded in the same transaction as the change that causes them.

A booking commits first; pushing it to CalDAV, mailing the invitation or texting the agent happens
after the commit, from rows of ``outbox``. Which handlers an event queues is declared in one table
(``booking.effects``); ``emit`` writes one row per subscribed handler (unique per handler and key, so
emitting twice is a no-op) and notes the new ids on the session, so the composition root's
after-commit hook can try exactly what a request queued once its response is on its way.

``drain`` claims due rows ONE AT A TIME, each with its own lease (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), runs the handler and commits "done" for that row before it
claims the next. A batch can therefore never outlive its lease and be taken over while still being
worked on (which used to send mails and PUTs twice), and a killed worker strands at most the one row
per lane it was running, retried once its lease ends. Rows are split into lanes by destination
(``lane_of``: CalDAV, e-mail, SMS): the scheduler drains each lane as its own job, so a calendar
server that hangs never delays anybody's e-mail or SMS.

The guarantee, stated honestly: at least once, and more than once only when a process dies (or a
handler outlives its lease) between a provider accepting the message and the row's "done" commit —
at most one duplicate per such event. Mails carry a Message-ID stable per row, so a receiver can tell.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from booking import links
from booking.db_guards import write_transaction
from booking.models import OutboxMessage
from booking.vocabulary import OutboxStatus

if TYPE_CHECKING:
    from booking.effects import Adapters, Context

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
# A row's lease is BOOKING_OUTBOX_LEASE_SECONDS (10 minutes by default): longer than the slowest
# single handler can run (a CalDAV push: a few requests, each with a total deadline in the transport),
# so a second worker never takes over a row that is still being worked on; a crashed worker's row
# waits this long before it is retried.
#: how long the after-response attempt may keep claiming a request's rows (the scheduler does the rest)
INLINE_BUDGET = timedelta(seconds=5)
#: session.info keys: ids queued by the open transaction, and ids whose transaction has committed
QUEUED = "booking.outbox_queued"
PENDING = "booking.outbox_pending"

LANES = ("email", "sms", "caldav")


class PermanentError(Exception):
    """A handler failure that retrying cannot fix (e.g. an invalid phone number): fail the row now."""


def lane_of(handler: str) -> str:
    """The destination a handler talks to (declared in ``booking.effects.LANE_OF``; e-mail if unknown)."""
    from booking.effects import LANE_OF

    return LANE_OF.get(handler, "email")


def emit(session: Session, event: str, payload: dict[str, Any], key: str, now: datetime) -> list[int]:
    """Queue ``event`` for every subscribed handler inside the caller's transaction.

    Returns the ids of the rows created (already-present rows for the same handler and key are left
    alone, which is what makes retried webhooks and requests safe). The payload gets the trusted base
    URL of the work in progress, so links in a mail never depend on where the row is drained.
    """
    from booking.effects import subscribers

    base = links.current_base()
    body = {"event": event, **({"base_url": base} if base else {}), **payload}
    handlers = subscribers(event)
    if not handlers:
        return []
    # One INSERT ... ON CONFLICT DO NOTHING RETURNING id for all handlers (issue 19): a row already
    # queued for the same (handler, key) is left alone and not returned, even when a concurrent
    # transaction inserted it a moment ago, so no existence check and no savepoint per handler.
    # The rows go as executemany parameters, which SQLAlchemy sends as that one multi-row INSERT
    # ("insertmanyvalues") from a statement compiled once: ``.values(rows)`` was never cached and
    # was compiled anew on every booking (about 0.8 ms, under SQLite's write lock).
    rows = [
        {
            "handler": handler,
            "key": key,
            "payload": body,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for handler in handlers
    ]
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(OutboxMessage).on_conflict_do_nothing(index_elements=["handler", "key"]).returning(OutboxMessage.id)
    ids = sorted(session.execute(stmt, rows).scalars())
    session.info.setdefault(QUEUED, []).extend(ids)
    return ids


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    """Rows become worth trying only once the transaction that queued them has committed."""
    queued = session.info.pop(QUEUED, None)
    if queued:
        session.info.setdefault(PENDING, []).extend(queued)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction: Any) -> None:
    """Forget what the transaction queued when the whole of it rolled back (not a savepoint's)."""
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(QUEUED, None)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at one hour between tries."""
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), timedelta(hours=1))


def _claim_one(
    session: Session, now: datetime, ids: list[int] | None, handlers: Iterable[str] | None, leased_until: datetime
) -> OutboxMessage | None:
    """Lease the oldest due row (of ``ids`` / of these handlers) for this worker alone; commit the lease."""
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until <= now),
        )
        .order_by(OutboxMessage.id)
        .limit(1)
    )
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(ids))
    if handlers is not None:
        query = query.where(OutboxMessage.handler.in_(list(handlers)))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    # SQLite: the write lock up front (a deferred read-then-write fails with "database is locked"),
    # taken in the process's writer queue like every other writer's.
    with write_transaction(session):
        row = session.scalars(query).first()
        if row is not None:
            row.locked_until = leased_until
    return row


@dataclass
class DrainResult:
    done: int = 0
    retried: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"done": self.done, "retried": self.retried, "failed": self.failed}


def _adapters_of_app() -> Adapters:
    from flask import current_app

    built: Adapters = current_app.extensions["booking.adapters"]
    return built


def drain(
    session: Session,
    now: datetime,
    ids: Iterable[int] | None = None,
    limit: int = 100,
    *,
    adapters: Adapters | None = None,
    lane: str | None = None,
    budget: timedelta | None = None,
) -> DrainResult:
    """Run due outbox rows (all, only ``ids``, or one ``lane``'s); never raises for a handler's failure.

    ``adapters`` come from the composition root (the scheduler and the after-commit hook pass them;
    a caller inside an app context may omit them). ``budget`` stops claiming new rows once that much
    wall-clock time has gone by; rows not attempted stay unclaimed for the scheduler.
    """
    from booking.effects import HANDLERS, Context

    adapters = adapters or _adapters_of_app()
    ctx = Context(session=session, adapters=adapters)
    wanted = sorted(set(ids)) if ids is not None else None
    handlers = [name for name in HANDLERS if lane_of(name) == lane] if lane is not None else None
    started = adapters.now()
    session.commit()  # end any implicit read transaction (a no-op when none is open)
    result = DrainResult()
    lease = timedelta(seconds=adapters.settings.outbox_lease_seconds)
    for _ in range(limit):
        elapsed = adapters.now() - started
        if budget is not None and elapsed > budget:
            break
        # The lease runs from when the row is claimed, not from when the drain began: a long drain
        # must never lease a later row with a lease that has already run out (another worker would
        # take it too). Due times and retries stay on the drain's own ``now``.
        row = _claim_one(session, now, wanted, handlers, now + max(elapsed, timedelta(0)) + lease)
        if row is None:
            break
        if wanted is not None:
            wanted.remove(row.id)
        _run(ctx, row, now, result)
    return result


def _run(ctx: Context, row: OutboxMessage, now: datetime, result: DrainResult) -> None:
    from booking.effects import HANDLERS

    session = ctx.session
    row_id, handler, key, payload = row.id, row.handler, row.key, dict(row.payload)
    # Names this row (and only it) across retries: a Message-ID built from it lets a receiver see
    # that two deliveries are one message; the digest keeps it unique across database restores.
    digest = hashlib.sha256(f"{handler}\n{key}\n{row.created_at.isoformat()}".encode()).hexdigest()[:16]
    fn = HANDLERS.get(handler)
    try:
        if fn is None:
            raise PermanentError(f"no handler named {handler!r} is registered")
        fn(replace(ctx, ref=f"{row_id}.{digest}"), payload, now)
    except Exception as exc:
        session.rollback()
        with write_transaction(session):
            failed = session.get(OutboxMessage, row_id)
            assert failed is not None
            failed.attempts += 1
            failed.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            failed.locked_until = None  # released at once: the next try is governed by next_attempt_at
            if isinstance(exc, PermanentError) or failed.attempts >= MAX_ATTEMPTS:
                failed.status = OutboxStatus.FAILED
                result.failed += 1
                log.error("outbox %s %s failed for good: %s", handler, key, failed.last_error)
            else:
                failed.next_attempt_at = now + backoff(failed.attempts)
                result.retried += 1
                log.warning("outbox %s %s will retry: %s", handler, key, failed.last_error)
        return
    session.commit()  # the handler's own writes; ends any read snapshot it left open
    with write_transaction(session):
        done = session.get(OutboxMessage, row_id)
        assert done is not None
        done.status = OutboxStatus.DONE
        done.attempts += 1
        done.done_at = now
        done.locked_until = None
        done.last_error = None
    result.done += 1


def pending_count(session: Session, lane: str | None = None) -> int:
    """Rows still to do (due, waiting for a retry, or leased by a worker), in one lane or all."""
    handlers = list(session.scalars(select(OutboxMessage.handler).where(OutboxMessage.status == OutboxStatus.PENDING)))
    session.commit()
    return sum(1 for name in handlers if lane is None or lane_of(name) == lane)


def take_pending(session: Session) -> list[int]:
    """The ids queued by the transactions this session committed since the last call (then forgotten)."""
    return list(session.info.pop(PENDING, []))
