"""Pull an agent's CalDAV calendar into ``busy_blocks`` (connecting one: :mod:`.connection`).

The availability query never talks to CalDAV (Radicale alone takes ~180 ms to answer a 30-day query
on 2,000 events, and parsing costs ~0.8 ms per event): this module parses once, at sync time, and
stores UTC intervals that the query reads through an index.

A pass has three phases, one function each, so that no database lock is held during network I/O or
parsing (on SQLite a write lock held for seconds would stall every booking):

1. :func:`_read_state`: read the state (sync token, known href → ETag, the agent's own booking UIDs);
2. :func:`_fetch_changes`: ask the server what changed (RFC 6578 token, else ETag comparison;
   :class:`CalDAVClient`) and parse only the changed objects (:mod:`booking.calendar_sync.busy`);
3. :func:`_apply`: in one short write transaction, check no other pass applied meanwhile, replace
   the blocks of the changed and deleted hrefs, and record the result on the connection.

Incremental sync only re-parses what changed, but the window moves with ``now``: a weekly meeting
parsed last month has no occurrences stored for the days that have since entered the horizon. So
objects are expanded ``EXPANSION_MARGIN`` beyond the horizon and the limit is remembered
(``last_sync_counts["expanded_until"]``); once the horizon passes it, one pass re-downloads and
re-expands everything (a full sync every two weeks).

A sync token is not trusted alone (issue 10, seen on real servers): DAViCal and SOGo accept the
token of a calendar deleted and re-created at the same URL and never report its events as deleted,
so every ``RECONCILE_EVERY`` (and after a failed pass) an incremental pass lists hrefs+ETags instead
and downloads only what differs; and a member the token's report lists again is re-read even with
a known ETag (SOGo gives a re-created event the same one) unless it is the echo of our own write.
:func:`sync_all` gives each agent's pass a deadline and records any failure on that agent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from booking.calendar_sync.busy import Parsed, ParsedBatch, parse_objects
from booking.calendar_sync.connection import client_for, reset_remote_state
from booking.calendar_sync.dav import (
    CalDAVClient,
    CalendarClient,
    CalendarConnectionError,
    CalendarError,
    Limits,
    SyncResult,
)
from booking.calendar_sync.secrets import PasswordUndecryptable
from booking.config import Settings
from booking.db_guards import write_transaction
from booking.models import Agent, Booking, BusyBlock, CalendarConnection, RemoteEvent
from booking.services import schedule
from booking.services.errors import Conflict, ServiceError

__all__ = [
    "EXPANSION_MARGIN",
    "CalendarSyncFailed",
    "NoCalendar",
    "SyncCounts",
    "sync_agent",
    "sync_all",
]

log = logging.getLogger(__name__)

LOOKBEHIND = timedelta(days=1)
EXPANSION_MARGIN = timedelta(days=14)
#: How often an incremental pass lists every href+ETag instead of trusting the sync token alone.
RECONCILE_EVERY = timedelta(hours=1)
#: Wall-clock budget of one agent's pass in :func:`sync_all` (network and parsing), in seconds.
PASS_SECONDS = 120.0
#: Objects parsed between two looks at the pass deadline.
_PARSE_SLICE = 50
#: Busy blocks that ended this long ago can never matter again (slots are >= now + min notice).
PRUNE_AFTER = timedelta(days=7)
_CHUNK = 500


class NoCalendar(Conflict):
    code = "no_calendar"


class CalendarSyncFailed(ServiceError):
    """The calendar server failed during a sync (the failure is recorded on the connection first).

    502: the upstream server is at fault, not the request. ``code`` tells an admin what to do:
    ``calendar_unreachable`` (network, timeout, 5xx: wait, it is retried every BOOKING_SYNC_MINUTES)
    or ``calendar_rejected`` (401/403/404, not a calendar, undecryptable password: fix the settings).
    """

    status = 502
    code = "calendar_unreachable"


@dataclass
class SyncCounts:
    """What one pass did; stored as ``last_sync_counts`` and returned by the API and CLI."""

    mode: str = "incremental"  # "full": everything re-downloaded and re-expanded
    objects: int = 0  # calendar objects known after the pass
    changed: int = 0  # objects downloaded and re-parsed
    deleted: int = 0  # objects gone from the server
    own: int = 0  # changed objects that are the service's own bookings (never busy blocks)
    malformed: int = 0  # changed objects that could not be parsed (logged, skipped)
    busy_blocks: int = 0  # blocks written by this pass
    requests: int = 0  # HTTP requests sent
    bytes_received: int = 0  # response bytes received
    duration_ms: int = 0
    superseded: bool = False  # another pass applied first; this one's result was dropped
    expanded_until: str | None = None
    reconciled: bool = False  # the token's report was checked against a full hrefs+ETags listing
    reconciled_at: str | None = None  # when that last happened (full passes count)
    malformed_hrefs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["malformed_hrefs"] = data["malformed_hrefs"][:20]
        return data


@dataclass
class _PassState:
    """What phase 1 read: the base the pass computes on, and checks again before applying."""

    conn: CalendarConnection
    agent_id: int
    tz: ZoneInfo
    token: str | None
    seen_at: datetime | None
    previous: dict[str, Any]
    full: bool
    window: tuple[datetime, datetime]
    known: dict[str, str]
    own_uids: set[str]
    started: float  # perf_counter() when the pass began, for ``duration_ms``
    agent_emails: tuple[str, ...] = ()  # whose PARTSTAT=DECLINED frees an invitation
    reconcile: bool = False  # list hrefs+ETags instead of trusting the token (see the module docstring)
    echoes: set[str] = field(default_factory=set)  # known hrefs that are our own writes
    deadline: float | None = None  # time.monotonic() by which the pass must be done

    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _lock_connection(session: Session, agent_id: int) -> CalendarConnection | None:
    stmt = select(CalendarConnection).where(CalendarConnection.agent_id == agent_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def _record_failure(session: Session, agent_id: int, now: datetime, message: str) -> None:
    session.rollback()
    with write_transaction(session):
        conn = _lock_connection(session, agent_id)
        if conn is not None:
            conn.last_sync_at = now
            conn.last_sync_status = "error"
            conn.last_sync_error = message[:2000]


def _read_state(
    session: Session, settings: Settings, agent: Agent, now: datetime, deadline: float | None = None
) -> _PassState:
    """Phase 1: the sync token, the known href → ETag and the agent's own booking UIDs.

    A full pass (first sync, or the horizon has moved past what was expanded) starts from nothing
    known, so every object comes back with its data and is re-expanded. An incremental one
    reconciles (lists hrefs+ETags, no token) every ``RECONCILE_EVERY`` and after a failed pass:
    DAViCal and SOGo accept a re-created calendar's old token and never report its events deleted.
    """
    started = time.perf_counter()
    agent_id = agent.id
    conn = session.scalar(select(CalendarConnection).where(CalendarConnection.agent_id == agent_id))
    if conn is None:
        raise NoCalendar(f"agent {agent.slug!r} has no CalDAV calendar; set one with PUT .../calendar")
    previous = conn.last_sync_counts or {}
    expanded_until = datetime.fromisoformat(previous["expanded_until"]) if previous.get("expanded_until") else None
    full = expanded_until is None or expanded_until < now + settings.horizon
    reconciled_at = datetime.fromisoformat(previous["reconciled_at"]) if previous.get("reconciled_at") else None
    reconcile = not full and (
        reconciled_at is None or now - reconciled_at >= RECONCILE_EVERY or conn.last_sync_status != "ok"
    )
    own_uids = set(session.scalars(select(Booking.uid).where(Booking.agent_id == agent_id)))
    known: dict[str, str] = {}
    echoes: set[str] = set()  # our own writes: their echo in the change report is not a change
    if not full:
        rows = session.execute(
            select(RemoteEvent.href, RemoteEvent.etag, RemoteEvent.uid).where(RemoteEvent.agent_id == agent_id)
        )
        for h, e, uid in rows:
            known[h] = e or ""
            if uid is not None and uid in own_uids:
                echoes.add(h)
    return _PassState(
        conn=conn,
        agent_id=agent_id,
        tz=ZoneInfo(agent.timezone),
        token=conn.sync_token,
        seen_at=conn.last_sync_at,
        previous=previous,
        full=full,
        window=(now - LOOKBEHIND, now + settings.horizon + EXPANSION_MARGIN),
        known=known,
        own_uids=own_uids,
        started=started,
        agent_emails=(agent.email,),
        reconcile=reconcile,
        echoes=echoes,
        deadline=deadline,
    )


class _PassDeadline(Exception):
    """The pass ran past its deadline (checked after the network and between parsed slices)."""


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline


def _pass_limits(deadline: float | None) -> Limits | None:
    """Per-request limits that also end by the pass deadline (at least 1 s: a start must be possible)."""
    if deadline is None:
        return None
    default = Limits()
    remaining = max(1.0, deadline - time.monotonic())
    return replace(
        default,
        connect_timeout=min(default.connect_timeout, remaining),
        read_timeout=min(default.read_timeout, remaining),
        deadline=min(default.deadline, remaining),
    )


def _parse_in_slices(result: SyncResult, state: _PassState) -> ParsedBatch:
    """:func:`parse_objects` over slices of the changed objects, stopping once the deadline is past."""
    batch = ParsedBatch()
    changed = result.changed
    for i in range(0, len(changed), _PARSE_SLICE):
        if _past(state.deadline):
            raise _PassDeadline
        part = parse_objects(
            changed[i : i + _PARSE_SLICE], state.agent_id, state.window, state.tz, state.own_uids, state.agent_emails
        )
        batch.objects.extend(part.objects)
        batch.own += part.own
        batch.malformed_hrefs.extend(part.malformed_hrefs)
    return batch


def _fetch_changes(
    session: Session,
    settings: Settings,
    state: _PassState,
    client: CalendarClient | None,
    now: datetime,
    counts: SyncCounts,
) -> tuple[SyncResult, list[Parsed]]:
    """Phase 2: ask the server what changed and parse it, with no transaction open.

    A server failure is recorded on the connection and raised as :class:`CalendarSyncFailed`
    (``calendar_rejected`` when an admin must act, else ``calendar_unreachable``).
    """
    owned_client = client is None
    try:
        if client is None:
            client = client_for(state.conn, settings, _pass_limits(state.deadline))
        session.commit()  # end the read transaction before the network (no idle-in-transaction)
        before = client.stats.snapshot()
        try:
            token = None if state.full or state.reconcile else state.token
            result = client.sync(token, state.known, state.echoes)
        finally:
            counts.requests = client.stats.requests - before.requests
            counts.bytes_received = client.stats.bytes_received - before.bytes_received
            if owned_client and isinstance(client, CalDAVClient):
                client.close()
    except (CalendarError, PasswordUndecryptable) as exc:
        message = exc.reason if isinstance(exc, CalendarConnectionError) else str(exc)
        _record_failure(session, state.agent_id, now, message)
        failure = CalendarSyncFailed(f"calendar sync failed: {message}")
        if isinstance(exc, CalendarConnectionError | PasswordUndecryptable):
            failure.code = "calendar_rejected"
        raise failure from exc
    try:
        batch = _parse_in_slices(result, state)
    except _PassDeadline:
        seconds = int(time.perf_counter() - state.started)
        message = f"sync pass stopped at its deadline after {seconds} s (calendar too slow or too large)"
        _record_failure(session, state.agent_id, now, message)
        failure = CalendarSyncFailed(f"calendar sync failed: {message}")
        failure.code = "sync_timeout"
        raise failure from None
    parsed = batch.objects
    counts.own, counts.malformed, counts.malformed_hrefs = batch.own, len(batch.malformed_hrefs), batch.malformed_hrefs
    counts.changed = len(result.changed)
    counts.deleted = 0 if state.full else len(result.deleted)
    counts.busy_blocks = sum(len(p.blocks) for p in parsed)
    return result, parsed


def _replace_rows(session: Session, state: _PassState, result: SyncResult, parsed: list[Parsed], now: datetime) -> None:
    """Swap the rows of the changed and deleted hrefs (all of them on a full pass); prune old blocks."""
    agent_id = state.agent_id
    if state.full:
        reset_remote_state(session, agent_id)
    else:
        touched = sorted(set(result.deleted) | {p.href for p in parsed})
        for chunk in _chunks(touched):
            session.execute(
                delete(BusyBlock).where(
                    BusyBlock.agent_id == agent_id, BusyBlock.source == "caldav", BusyBlock.source_href.in_(chunk)
                )
            )
            session.execute(delete(RemoteEvent).where(RemoteEvent.agent_id == agent_id, RemoteEvent.href.in_(chunk)))
    session.execute(
        delete(BusyBlock).where(
            BusyBlock.agent_id == agent_id, BusyBlock.source == "caldav", BusyBlock.end_at < now - PRUNE_AFTER
        )
    )
    # Core INSERTs of the tables, not ORM bulk inserts of the models: the same executemany, without
    # the ORM's per-row bookkeeping (a tenth of a 10,000-event full pass went there, py-spy).
    if parsed:
        session.execute(
            insert(RemoteEvent.__table__),
            [{"agent_id": agent_id, "href": p.href, "etag": p.etag, "uid": p.uid, "updated_at": now} for p in parsed],
        )
    blocks = [b for p in parsed for b in p.blocks]
    if blocks:
        session.execute(insert(BusyBlock.__table__), blocks)


def _apply(
    session: Session, state: _PassState, result: SyncResult, parsed: list[Parsed], counts: SyncCounts, now: datetime
) -> bool:
    """Phase 3: one short write transaction; False (``superseded``) if another pass applied first.

    Replaces the blocks of the changed and deleted hrefs (:func:`_replace_rows`) and records the
    result on the connection.
    """
    with write_transaction(session):
        schedule.lock_agent(session, state.agent_id)  # the agent first (lock order), bumps the busy-time version
        conn = _lock_connection(session, state.agent_id)
        if conn is None or conn.sync_token != state.token or conn.last_sync_at != state.seen_at:
            # Another pass (scheduler in a second process, an admin's POST) applied since we read:
            # its result is at least as new as ours, which would now be applied on the wrong base.
            counts.superseded = True
            counts.duration_ms = state.elapsed_ms()
            return False
        _replace_rows(session, state, result, parsed, now)
        counts.objects = session.scalar(select(func.count()).where(RemoteEvent.agent_id == state.agent_id)) or 0
        counts.expanded_until = state.window[1].isoformat() if state.full else state.previous.get("expanded_until")
        recent = state.full or state.reconcile
        counts.reconciled_at = now.isoformat() if recent else state.previous.get("reconciled_at")
        counts.duration_ms = state.elapsed_ms()
        conn.sync_token = result.token
        conn.last_sync_at = now
        conn.last_sync_status = "ok"
        conn.last_sync_error = None
        conn.last_sync_counts = counts.as_dict()
    return True


def sync_agent(
    session: Session,
    settings: Settings,
    agent: Agent,
    now: datetime,
    client: CalendarClient | None = None,
    deadline: float | None = None,
) -> SyncCounts:
    """One sync pass for ``agent``, in the three phases above; returns what it did.

    Raises :class:`NoCalendar` without a connection and :class:`CalendarSyncFailed` when the server
    fails - after recording the failure (time, status ``error``, reason) on the connection, so the
    admin API shows it. Busy blocks from the last good pass stay in place on failure: stale busy time
    is safer than offering slots the agent may not have.

    ``deadline`` (a :func:`time.monotonic` instant): each request of the pass ends by it, and the
    pass stops between parsed slices once it is past (``CalendarSyncFailed`` with code
    ``sync_timeout``), so one slow server or calendar cannot hold up the agents after it.
    """
    state = _read_state(session, settings, agent, now, deadline)
    counts = SyncCounts(mode="full" if state.full else "incremental", reconciled=state.reconcile)
    result, parsed = _fetch_changes(session, settings, state, client, now, counts)
    if _apply(session, state, result, parsed, counts, now):
        log.info(
            "calendar sync %s: %s", agent.slug, {k: v for k, v in counts.as_dict().items() if k != "malformed_hrefs"}
        )
    return counts


def sync_all(
    session: Session,
    settings: Settings,
    now: datetime,
    slugs: Iterable[str] | None = None,
    pass_seconds: float = PASS_SECONDS,
) -> Iterator[tuple[Agent, SyncCounts | CalendarSyncFailed]]:
    """Sync every agent with a calendar (or only ``slugs``); one failure never stops the others.

    Each agent's pass has ``pass_seconds`` (see :func:`sync_agent`'s ``deadline``), so a stalled
    server delays the agents after it by at most that; every failure, a crash included, is recorded
    on that agent's connection (status ``error`` and the reason), never on the others.
    A generator so the CLI can advance its progress bar per agent.
    """
    stmt = select(Agent).join(CalendarConnection, CalendarConnection.agent_id == Agent.id).order_by(Agent.slug)
    if slugs is not None:
        stmt = stmt.where(Agent.slug.in_(list(slugs)))
    agents = list(session.scalars(stmt))
    session.commit()
    ids = {agent.id: agent.slug for agent in agents}
    for agent in agents:
        agent_id, slug = agent.id, ids[agent.id]
        try:
            counts = sync_agent(session, settings, agent, now, deadline=time.monotonic() + pass_seconds)
        except CalendarSyncFailed as exc:
            log.warning("calendar sync %s failed: %s", slug, exc.message)
            yield agent, exc
            continue
        except Exception as exc:  # a bug or a database error for one agent must not starve the others
            session.rollback()
            log.exception("calendar sync %s crashed", slug)
            failure = CalendarSyncFailed(f"calendar sync crashed: {type(exc).__name__}: {exc}")
            failure.code = "sync_error"
            try:  # on that agent, so the admin API shows it (it said "ok" before)
                _record_failure(session, agent_id, now, failure.message)
            except Exception:  # the database itself may be what failed: the log has it
                session.rollback()
                log.exception("calendar sync %s: could not record the crash", slug)
            yield agent, failure
            continue
        yield agent, counts
