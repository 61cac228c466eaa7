"""The agent's parsed busy time, kept per process and keyed by ``agents.schedule_version`` (issue 19).

Reading and parsing thousands of busy rows was most of an availability answer and of the booking
check. Every transaction that changes an agent's busy time (a booking, a reservation, time off, a
calendar sync) first calls ``schedule.lock_agent``, which locks the agent row *and* increments its
``schedule_version`` in one statement (a test enforces the rule, ``tests/test_busy_cache.py``); a
rolled-back transaction rolls the increment back. So:

* outside such a transaction, the version is read just before the rows, in the same transaction:
  the rows are at least as new as the version, and stored under it;
* inside one, the agent row is locked, nobody else can change its busy time, and until this
  transaction writes it the committed state *is* the version before the increment (remembered by
  ``lock_agent``): the booking check reuses exactly the busy set the availability page used;
* once this transaction has written the agent's busy time (``written``), it bypasses the cache.

Each entry holds every busy interval overlapping a span around the first request that missed
(``SPAN_BEFORE``/``SPAN_AFTER``), sorted by start; a window inside the span is answered by bisection.
"""

from __future__ import annotations

import threading
import weakref
from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import InstanceState, Session

from booking.core.intervals import Interval
from booking.db_guards import session_engine
from booking.models import Booking, BusyBlock, TimeOff

#: How much of the schedule one miss reads around the requested window.
SPAN_BEFORE = timedelta(days=7)
SPAN_AFTER = timedelta(days=70)
#: Agents kept per process (least recently used dropped first).
MAX_AGENTS = 256
_LOCKED = "booking.busy_cache.locked"  # session.info: agent id -> committed version (set by lock_agent)
_WRITTEN = "booking.busy_cache.written"  # session.info: agents whose busy time this transaction changed
_start_key = itemgetter(0)


@dataclass(frozen=True)
class _Entry:
    version: int
    lo: datetime
    hi: datetime
    starts: list[datetime]
    rows: list[Interval]


#: One cache per engine (per database): tests and the bench run several databases in one process.
_caches: weakref.WeakKeyDictionary[Engine, OrderedDict[int, _Entry]] = weakref.WeakKeyDictionary()
_mutex = threading.Lock()


def _entries(bind: Engine) -> OrderedDict[int, _Entry]:
    cache = _caches.get(bind)
    if cache is None:
        cache = _caches.setdefault(bind, OrderedDict())
    return cache


def locked(session: Session, agent_id: int, committed_version: int) -> None:
    """``lock_agent`` took the row lock and incremented the version: remember the committed one."""
    held = session.info.setdefault(_LOCKED, {})
    if agent_id not in held:  # locking twice in one transaction: the first value is the committed one
        held[agent_id] = committed_version


def written(session: Session, agent_id: int) -> None:
    """This transaction changed the agent's busy time: read it from the database until it ends."""
    session.info.setdefault(_WRITTEN, set()).add(agent_id)


def version_for(session: Session, agent_id: int) -> int | None:
    """The version whose busy time this session may read from the cache, or None (bypass)."""
    if agent_id in session.info.get(_WRITTEN, ()):
        return None
    held = session.info.get(_LOCKED)
    if held is not None and agent_id in held:
        version: int = held[agent_id]
        return version
    value = session.execute(text("SELECT schedule_version FROM agents WHERE id = :id"), {"id": agent_id}).scalar()
    return None if value is None else int(value)


def span(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    return start - SPAN_BEFORE, max(end, start + SPAN_AFTER)


def lookup(session: Session, agent_id: int, version: int, start: datetime, end: datetime) -> list[Interval] | None:
    """Busy intervals overlapping ``[start, end)`` at ``version``, or None when not cached."""
    with _mutex:
        entries = _entries(session_engine(session))
        entry = entries.get(agent_id)
        if entry is None or entry.version != version or start < entry.lo or end > entry.hi:
            return None
        entries.move_to_end(agent_id)
    stop = bisect_left(entry.starts, end)
    return [iv for iv in entry.rows[:stop] if iv[1] > start]


def store(session: Session, agent_id: int, version: int, lo: datetime, hi: datetime, rows: list[Interval]) -> None:
    rows = sorted(rows, key=_start_key)
    entry = _Entry(version, lo, hi, [s for s, _ in rows], rows)
    with _mutex:
        entries = _entries(session_engine(session))
        current = entries.get(agent_id)
        if current is not None and current.version > version:
            return  # a slower reader of an older version must not replace a newer entry
        entries[agent_id] = entry
        entries.move_to_end(agent_id)
        while len(entries) > MAX_AGENTS:
            entries.popitem(last=False)


def clear() -> None:
    """Forget everything (a process that changed the database behind the app's back)."""
    with _mutex:
        _caches.clear()


def _moves_time(booking: Booking) -> bool:
    state: InstanceState[Booking] = inspect(booking)
    return any(state.attrs[name].history.has_changes() for name in ("start_at", "end_at", "status", "agent_id"))


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    """The safety net under the rule: an ORM change to busy time of an agent this transaction did not
    lock (a script, a test, a writer that breaks the rule) still increments the agent's version, in
    the same transaction, so no process keeps serving the busy time it replaced."""
    agents: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, BusyBlock | TimeOff | Booking) or obj.agent_id is None:
            continue
        if isinstance(obj, Booking) and obj in session.dirty and not _moves_time(obj):
            continue  # a reminder flag or a note: not busy time
        agents.add(obj.agent_id)
    if not agents:
        return
    held = session.info.setdefault(_LOCKED, {})
    written_ = session.info.setdefault(_WRITTEN, set())
    for agent_id in agents:
        if agent_id not in held:
            session.execute(
                text("UPDATE agents SET schedule_version = schedule_version + 1 WHERE id = :id"), {"id": agent_id}
            )
            held[agent_id] = -1  # bumped once per transaction; never a cache key (written below)
        written_.add(agent_id)  # bypass the cache until the transaction ends


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: Any) -> None:
    """Commit, rollback or close of the outermost transaction: the row lock is gone."""
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_LOCKED, None)
        session.info.pop(_WRITTEN, None)
