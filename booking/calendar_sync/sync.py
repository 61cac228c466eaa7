"""Pull an agent's CalDAV calendar into ``busy_blocks``; connect a calendar.

The availability query never talks to CalDAV (Radicale alone takes ~180 ms to answer a 30-day query
on 2,000 events, and parsing costs ~0.8 ms per event): this module parses once, at sync time, and
stores UTC intervals that the query reads through an index.

A pass has three phases so that no database lock is held during network I/O or parsing (on SQLite a
write lock held for seconds would stall every booking):

1. read the state (sync token, known href → ETag, the agent's own booking UIDs);
2. ask the server what changed (RFC 6578 token, else ETag comparison; :class:`CalDAVClient`) and
   parse only the changed objects with :func:`booking.calendar_sync.ics.busy_intervals`;
3. in one short write transaction, check no other pass applied meanwhile, replace the blocks of the
   changed and deleted hrefs, and record the result on the connection.

Recurrences are expanded by ``recurring-ical-events`` here, not by the server (``<C:expand>``).
Measured on Radicale 3.9 (bench/sync.py): both give the same busy spans on the real fixtures (DST
series with EXDATE and a moved occurrence, all-day, floating, foreign zones), but:

* a 30-day expanded REPORT over 2,000 events took 2.2-4.7 s, the raw REPORT plus our expansion 0.5-1.1 s;
* Radicale refuses an expanded REPORT beyond 10,000 occurrences (``max_expand_occurrence``): 400;
* the server's expansion only exists in calendar-query/multiget, not in sync-collection, so it would
  force a full download on every pass instead of transferring only what changed.

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
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from booking.calendar_sync.dav import (
    CalDAVClient,
    CalendarClient,
    CalendarConnectionError,
    CalendarError,
    Limits,
    RemoteObject,
)
from booking.calendar_sync.ics import X_BOOKING_ID, IcsError, busy_intervals
from booking.calendar_sync.secrets import PasswordUndecryptable, decrypt_password, encrypt_password
from booking.config import Settings
from booking.db_guards import write_transaction
from booking.models import Agent, Booking, BusyBlock, CalendarConnection, RemoteEvent
from booking.services import outbox
from booking.services.errors import Conflict, InvalidInput, ServiceError

__all__ = [
    "EVENT_CALENDAR_CONNECTED",
    "EXPANSION_MARGIN",
    "CalendarCheckFailed",
    "CalendarSyncFailed",
    "NoCalendar",
    "SyncCounts",
    "client_for",
    "connect_calendar",
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
#: Busy blocks that ended this long ago can never matter again (slots are >= now + min notice).
PRUNE_AFTER = timedelta(days=7)
_CHUNK = 500
_UID_LINE = re.compile(rb"^UID:(.*?)\r?$", re.MULTILINE)

#: calendar connect answers an admin's request: its one PROPFIND gets 15 s in all, not the sync's 60
_CHECK_LIMITS = Limits(connect_timeout=5.0, read_timeout=15.0, deadline=15.0)

ClientFactory = Callable[[CalendarConnection, Settings], CalendarClient]


class NoCalendar(Conflict):
    code = "no_calendar"


class CalendarCheckFailed(InvalidInput):
    """PUT calendar: the server refused or could not be reached; the message is the server's reason."""

    code = "calendar_check_failed"


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


# --------------------------------------------------------------------------- #
# Connection
# --------------------------------------------------------------------------- #


def client_for(conn: CalendarConnection, settings: Settings, limits: Limits | None = None) -> CalDAVClient:
    """A client for the stored connection (password decrypted only in memory, only for this pass).

    Without ``limits``, the transport's defaults: 60 s, 50 MiB per request.
    """
    password = decrypt_password(settings.secret_key, conn.password_encrypted)
    return CalDAVClient(conn.url, conn.username, password, limits=limits or Limits())


def _reset_remote_state(session: Session, agent_id: int) -> None:
    session.execute(delete(RemoteEvent).where(RemoteEvent.agent_id == agent_id))
    session.execute(delete(BusyBlock).where(BusyBlock.agent_id == agent_id, BusyBlock.source == "caldav"))


#: Outbox event queued per upcoming booking when a calendar is (re)connected; only the CalDAV push
#: subscribes to it (re-using ``booking.confirmed`` would re-send the customers' confirmations).
EVENT_CALENDAR_CONNECTED = "calendar.connected"


def connect_calendar(
    session: Session, settings: Settings, agent: Agent, url: str, username: str, password: str, now: datetime
) -> tuple[CalendarConnection, list[int]]:
    """Check the collection, then store it with the password encrypted; returns (connection, outbox ids).

    The check comes first so a typo never replaces a working configuration. A different URL or user
    is another calendar: the previous one's busy blocks and sync state are dropped. Every upcoming
    confirmed booking is queued for a push, so the new calendar holds the bookings made before it was
    connected too (the caller drains the returned outbox rows after the commit).
    """
    agent_id = agent.id
    session.commit()  # no transaction held open while the server is checked (up to 15 s)
    try:
        client = CalDAVClient(url, username, password, limits=_CHECK_LIMITS)
    except ValueError as exc:
        raise CalendarCheckFailed(str(exc)) from exc
    with client:
        try:
            client.check()
        except CalendarConnectionError as exc:
            raise CalendarCheckFailed(exc.reason) from exc
        except CalendarError as exc:
            raise CalendarCheckFailed(str(exc)) from exc
    with write_transaction(session):
        conn = session.scalar(select(CalendarConnection).where(CalendarConnection.agent_id == agent_id))
        if conn is None:
            conn = CalendarConnection(agent_id=agent_id, url=url, username=username, created_at=now)
            session.add(conn)
        elif conn.url != client.collection_url or conn.username != username:
            _reset_remote_state(session, agent_id)
            conn.sync_token = None
            conn.last_sync_at = conn.last_sync_status = conn.last_sync_error = None
            conn.last_sync_counts = None
        conn.url = client.collection_url
        conn.username = username
        conn.password_encrypted = encrypt_password(settings.secret_key, password)
        upcoming = session.scalars(
            select(Booking.id).where(Booking.agent_id == agent_id, Booking.status == "confirmed", Booking.end_at > now)
        ).all()
        ids: list[int] = []
        for booking_id in upcoming:
            key = f"{booking_id}:{now.isoformat()}"
            ids += outbox.emit(session, EVENT_CALENDAR_CONNECTED, {"booking_id": booking_id}, key, now)
    session.refresh(agent)
    return conn, ids


def disconnect_calendar(session: Session, agent: Agent) -> bool:
    """Forget the agent's CalDAV calendar: its credentials, sync state and busy blocks.

    Idempotent (False when nothing was connected). Events the service already wrote stay in that
    calendar: it belongs to the agent, and without the connection we may no longer write to it.
    Pending pushes become no-ops (the push handler skips agents without a connection).
    """
    agent_id = agent.id
    with write_transaction(session):
        conn = session.scalar(select(CalendarConnection).where(CalendarConnection.agent_id == agent_id))
        if conn is None:
            return False
        _reset_remote_state(session, agent_id)
        session.delete(conn)
    session.refresh(agent)
    return True


# --------------------------------------------------------------------------- #
# Pull
# --------------------------------------------------------------------------- #


@dataclass
class _Parsed:
    href: str
    etag: str | None
    uid: str | None
    blocks: list[dict[str, Any]]


def object_uid(data: bytes) -> str | None:
    """The first UID of a raw object, without a full parse (for the bookkeeping row)."""
    unfolded = data.replace(b"\r\n ", b"").replace(b"\r\n\t", b"").replace(b"\n ", b"")
    match = _UID_LINE.search(unfolded)
    return match.group(1).decode("utf-8", "replace").strip()[:500] if match else None


class _PassDeadline(Exception):
    """The pass ran past its deadline (checked between objects and after the network)."""


def _check_deadline(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise _PassDeadline


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


def _parse_objects(
    objects: Iterable[RemoteObject],
    agent_id: int,
    window: tuple[datetime, datetime],
    tz: ZoneInfo,
    own_uids: set[str],
    counts: SyncCounts,
    deadline: float | None = None,
) -> list[_Parsed]:
    parsed: list[_Parsed] = []
    for obj in objects:
        _check_deadline(deadline)
        uid = object_uid(obj.data)
        blocks: list[dict[str, Any]] = []
        if (uid is not None and uid in own_uids) or X_BOOKING_ID.encode() in obj.data:
            counts.own += 1  # our own booking, already busy through the bookings table
        else:
            try:
                events = busy_intervals(obj.data, window[0], window[1], tz, own_uids)
            except IcsError as exc:
                counts.malformed += 1
                counts.malformed_hrefs.append(obj.href)
                log.warning("calendar sync: skipping malformed object %s: %s", obj.href, exc)
                events = []
            blocks = [
                {
                    "agent_id": agent_id,
                    "start_at": ev.start,
                    "end_at": ev.end,
                    "source": "caldav",
                    "source_href": obj.href,
                    "external_uid": ev.uid[:500] or None,
                    "summary": (ev.summary or "")[:500] or None,
                }
                for ev in events
            ]
        parsed.append(_Parsed(obj.href, obj.etag, uid, blocks))
    return parsed


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


def sync_agent(
    session: Session,
    settings: Settings,
    agent: Agent,
    now: datetime,
    client: CalendarClient | None = None,
    deadline: float | None = None,
) -> SyncCounts:
    """One sync pass for ``agent``; returns what it did.

    Raises :class:`NoCalendar` without a connection and :class:`CalendarSyncFailed` when the server
    fails - after recording the failure (time, status ``error``, reason) on the connection, so the
    admin API shows it. Busy blocks from the last good pass stay in place on failure: stale busy time
    is safer than offering slots the agent may not have.

    ``deadline`` (a :func:`time.monotonic` instant): each request of the pass ends by it, and the
    pass stops between objects once it is past (``CalendarSyncFailed`` with code ``sync_timeout``),
    so one slow server or calendar cannot hold up the agents after it in :func:`sync_all`.
    """
    started = time.perf_counter()
    agent_id, tz = agent.id, ZoneInfo(agent.timezone)
    conn = session.scalar(select(CalendarConnection).where(CalendarConnection.agent_id == agent_id))
    if conn is None:
        raise NoCalendar(f"agent {agent.slug!r} has no CalDAV calendar; set one with PUT .../calendar")
    token, seen_at = conn.sync_token, conn.last_sync_at
    previous = conn.last_sync_counts or {}
    expanded_until = datetime.fromisoformat(previous["expanded_until"]) if previous.get("expanded_until") else None
    full = expanded_until is None or expanded_until < now + settings.horizon
    # DAViCal and SOGo accept a token of a calendar deleted and re-created at the same URL and
    # never report its events as deleted: every RECONCILE_EVERY, and after a failed pass (a doubt),
    # the pass lists hrefs+ETags (cheap: no data) and downloads only what differs.
    reconciled_at = datetime.fromisoformat(previous["reconciled_at"]) if previous.get("reconciled_at") else None
    reconcile = not full and (
        reconciled_at is None or now - reconciled_at >= RECONCILE_EVERY or conn.last_sync_status != "ok"
    )
    window = (now - LOOKBEHIND, now + settings.horizon + EXPANSION_MARGIN)
    own_uids = set(session.scalars(select(Booking.uid).where(Booking.agent_id == agent_id)))
    known: dict[str, str] = {}
    echoes: set[str] = set()  # our own writes: their echo in the change report is not a change
    if not full:
        for h, e, uid in session.execute(
            select(RemoteEvent.href, RemoteEvent.etag, RemoteEvent.uid).where(RemoteEvent.agent_id == agent_id)
        ):
            known[h] = e or ""
            if uid is not None and uid in own_uids:
                echoes.add(h)
    counts = SyncCounts(mode="full" if full else "incremental", reconciled=reconcile)
    owned_client = client is None
    try:
        if client is None:
            client = client_for(conn, settings, _pass_limits(deadline))
        session.commit()  # end the read transaction before the network (no idle-in-transaction)
        before = client.stats.snapshot()
        try:
            # Full: no known ETags, so every object comes back with its data and is re-expanded.
            result = client.sync(None if full or reconcile else token, known, echoes)
        finally:
            counts.requests = client.stats.requests - before.requests
            counts.bytes_received = client.stats.bytes_received - before.bytes_received
            if owned_client and isinstance(client, CalDAVClient):
                client.close()
    except (CalendarError, PasswordUndecryptable) as exc:
        message = exc.reason if isinstance(exc, CalendarConnectionError) else str(exc)
        _record_failure(session, agent_id, now, message)
        failure = CalendarSyncFailed(f"calendar sync failed: {message}")
        if isinstance(exc, CalendarConnectionError | PasswordUndecryptable):
            failure.code = "calendar_rejected"
        raise failure from exc

    try:
        _check_deadline(deadline)
        parsed = _parse_objects(result.changed, agent_id, window, tz, own_uids, counts, deadline)
    except _PassDeadline:
        started_s = int(time.perf_counter() - started)
        message = f"sync pass stopped at its deadline after {started_s} s (calendar too slow or too large)"
        _record_failure(session, agent_id, now, message)
        failure = CalendarSyncFailed(f"calendar sync failed: {message}")
        failure.code = "sync_timeout"
        raise failure from None
    counts.changed = len(result.changed)
    counts.deleted = 0 if full else len(result.deleted)
    counts.busy_blocks = sum(len(p.blocks) for p in parsed)

    with write_transaction(session):
        conn = _lock_connection(session, agent_id)
        if conn is None or conn.sync_token != token or conn.last_sync_at != seen_at:
            # Another pass (scheduler in a second process, an admin's POST) applied since we read:
            # its result is at least as new as ours, which would now be applied on the wrong base.
            counts.superseded = True
            counts.duration_ms = int((time.perf_counter() - started) * 1000)
            return counts
        if full:
            _reset_remote_state(session, agent_id)
        else:
            touched = sorted(set(result.deleted) | {p.href for p in parsed})
            for chunk in _chunks(touched):
                session.execute(
                    delete(BusyBlock).where(
                        BusyBlock.agent_id == agent_id, BusyBlock.source == "caldav", BusyBlock.source_href.in_(chunk)
                    )
                )
                session.execute(
                    delete(RemoteEvent).where(RemoteEvent.agent_id == agent_id, RemoteEvent.href.in_(chunk))
                )
        session.execute(
            delete(BusyBlock).where(
                BusyBlock.agent_id == agent_id, BusyBlock.source == "caldav", BusyBlock.end_at < now - PRUNE_AFTER
            )
        )
        if parsed:
            session.execute(
                insert(RemoteEvent),
                [
                    {"agent_id": agent_id, "href": p.href, "etag": p.etag, "uid": p.uid, "updated_at": now}
                    for p in parsed
                ],
            )
        blocks = [b for p in parsed for b in p.blocks]
        if blocks:
            session.execute(insert(BusyBlock), blocks)
        counts.objects = session.scalar(select(func.count()).where(RemoteEvent.agent_id == agent_id)) or 0
        counts.expanded_until = window[1].isoformat() if full else previous.get("expanded_until")
        counts.reconciled_at = now.isoformat() if full or reconcile else previous.get("reconciled_at")
        counts.duration_ms = int((time.perf_counter() - started) * 1000)
        conn.sync_token = result.token
        conn.last_sync_at = now
        conn.last_sync_status = "ok"
        conn.last_sync_error = None
        conn.last_sync_counts = counts.as_dict()
    log.info("calendar sync %s: %s", agent.slug, {k: v for k, v in counts.as_dict().items() if k != "malformed_hrefs"})
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
