"""Free slots of an agent: load busy time from the database, let the pure core decide.

The GET endpoint and the booking service both call ``free_slots_for`` / ``is_offered``, so the page
and the write path can never disagree about what is bookable (one truth).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from booking.config import Settings
from booking.core.availability import NO_LIMITS, BookingLimits, SlotRules, free_slots, slot_offered
from booking.core.business_time import iana_zone, weekly_hours_intervals
from booking.core.intervals import Interval
from booking.models import Agent, Booking
from booking.services import busy_cache
from booking.services.errors import InvalidInput
from booking.vocabulary import BookingKind, BookingStatus

MAX_WINDOW_DAYS = 62
FIRST_YEAR, LAST_YEAR = 1970, 2999
MIN_DURATION = 15
MAX_DURATION = 240


def validate_duration(minutes: int | None, settings: Settings) -> timedelta:
    """``None`` means the slot step; otherwise 15-240 minutes in steps of 5."""
    if minutes is None:
        return settings.slot_step
    if not MIN_DURATION <= minutes <= MAX_DURATION or minutes % 5:
        raise InvalidInput(
            f"duration must be {MIN_DURATION}-{MAX_DURATION} minutes in steps of 5, not {minutes}",
            code="bad_duration",
        )
    return timedelta(minutes=minutes)


def parse_zone(name: str | None, settings: Settings) -> ZoneInfo:
    if not name:
        return settings.timezone
    try:
        return iana_zone(name)
    except ValueError as exc:
        raise InvalidInput(f"unknown time zone {name!r}", code="bad_timezone") from exc


def window_for(start: date, end: date, tz: ZoneInfo) -> Interval:
    """``[start 00:00, end 00:00)`` in ``tz``, as UTC; validated (end after start, at most 62 days)."""
    if end <= start:
        raise InvalidInput("end must be after start", code="bad_window")
    if start.year < FIRST_YEAR or end.year > LAST_YEAR:
        # Far outside any horizon (nothing is ever offered there), and near date.min/max the
        # zone arithmetic below would overflow.
        raise InvalidInput(f"dates must lie between {FIRST_YEAR} and {LAST_YEAR}", code="bad_window")
    if (end - start).days > MAX_WINDOW_DAYS:
        raise InvalidInput(f"the window may span at most {MAX_WINDOW_DAYS} days", code="bad_window")
    return (
        datetime.combine(start, time(0), tzinfo=tz).astimezone(UTC),
        datetime.combine(end, time(0), tzinfo=tz).astimezone(UTC),
    )


_BUSY_SQL = f"""
SELECT start_at, end_at FROM busy_blocks WHERE agent_id = ? AND start_at < ? AND end_at > ?
UNION ALL
SELECT start_at, end_at FROM time_off WHERE agent_id = ? AND start_at < ? AND end_at > ?
UNION ALL
SELECT start_at, end_at FROM bookings
WHERE agent_id = ? AND status = '{BookingStatus.CONFIRMED}' AND (? IS NULL OR id <> ?) AND start_at < ? AND end_at > ?
"""
# psycopg cannot infer the type of a bare NULL parameter in "? IS NULL": say it is an integer.
_POSTGRES_BUSY_SQL = _BUSY_SQL.replace("(? IS NULL", "(?::integer IS NULL").replace("?", "%s")


def _sqlite_instant(value: datetime) -> str:
    """The text form SQLAlchemy stores in SQLite for a UTC instant (sortable, compared as text)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def busy_intervals(
    session: Session, agent_id: int, start: datetime, end: datetime, exclude_booking_id: int | None = None
) -> list[Interval]:
    """Everything that takes the agent's time in [start, end): synced blocks, bookings, time off.

    Answered from the per-process cache of parsed busy time (``busy_cache``, keyed by the agent's
    ``schedule_version``) when it holds this version; otherwise read from the database (a span
    around the window, then cached). Excluding a booking (a move) always reads the database.
    """
    if exclude_booking_id is None:
        version = busy_cache.version_for(session, agent_id)
        if version is not None:
            hit = busy_cache.lookup(session, agent_id, version, start, end)
            if hit is not None:
                return hit
            lo, hi = busy_cache.span(start, end)
            busy_cache.store(session, agent_id, version, lo, hi, _read_busy(session, agent_id, lo, hi, None))
            found = busy_cache.lookup(session, agent_id, version, start, end)
            if found is not None:
                return found
    return _read_busy(session, agent_id, start, end, exclude_booking_id)


def _read_busy(
    session: Session, agent_id: int, start: datetime, end: datetime, exclude_booking_id: int | None
) -> list[Interval]:
    """The busy rows overlapping [start, end) straight from the database.

    This is the hot path of every availability query, so one indexed UNION ALL goes straight to the
    driver. SQLite hands back text, parsed with ``datetime.fromisoformat(text + "+00:00")`` (C code,
    ~0.1 us each); psycopg hands back aware datetimes. The ORM's per-row result processing was 3-10x
    slower and dominated the query at thousands of busy blocks (see bench/availability.py).
    """
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        hi: object = _sqlite_instant(end)
        lo: object = _sqlite_instant(start)
    else:
        hi, lo = end.astimezone(UTC), start.astimezone(UTC)
    excluded = exclude_booking_id
    params = (agent_id, hi, lo, agent_id, hi, lo, agent_id, excluded, excluded, hi, lo)
    raw = session.connection().connection
    # psycopg's binary protocol skips text parsing of timestamps (~30% of the fetch).
    cursor = raw.cursor() if sqlite else raw.cursor(binary=True)
    try:
        cursor.execute(_BUSY_SQL if sqlite else _POSTGRES_BUSY_SQL, params)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if sqlite:
        parse = datetime.fromisoformat
        return [(parse(s + "+00:00"), parse(e + "+00:00")) for s, e in rows]
    # Sessions run in UTC (see create_app), so psycopg attaches datetime.UTC itself; anything else
    # (a pooled connection configured elsewhere) is converted, keeping the core's comparisons cheap.
    if rows and rows[0][0].tzinfo is not UTC:
        return [(s.astimezone(UTC), e.astimezone(UTC)) for s, e in rows]
    return [(s, e) for s, e in rows]


@dataclass(frozen=True)
class _SlotInputs:
    rules: SlotRules
    busy: list[Interval]
    working: list[Interval] | None
    limits: BookingLimits = NO_LIMITS


def _cap(agent_value: int | None, default: int) -> int | None:
    """The agent's own value wins over the deployment's; 0 means no cap."""
    value = default if agent_value is None else agent_value
    return value or None


def open_calls(session: Session, customer_id: int, now: datetime) -> int:
    """The customer's upcoming calls: THE one definition, for both caps (BOOKING_MAX_OPEN_BOOKINGS,
    the abuse cap, and BOOKING_MAX_OPEN_BOOKINGS_PER_CUSTOMER, the business cap), the API, the page
    and the slot check alike.

    Upcoming = a confirmed call that has not yet taken place: ``end_at > now``, so a call in progress
    still counts (both refusals say "wait until one has taken place"). The two caps used to count
    differently (``end_at`` vs ``start_at``), so during a call they disagreed (issue 19 review).
    """
    stmt = select(func.count()).where(
        Booking.customer_id == customer_id,
        Booking.kind == BookingKind.CALL,
        Booking.status == BookingStatus.CONFIRMED,
        Booking.end_at > now,
    )
    return session.scalar(stmt) or 0


def booking_limits(
    session: Session,
    settings: Settings,
    agent: Agent,
    window: Interval,
    now: datetime,
    customer_id: int | None = None,
    exclude_booking_id: int | None = None,
    held_calls: int | None = None,
) -> BookingLimits:
    """The agent's buffer and daily cap and the customer's open-call cap, with the counts they need.

    The counts are only queried when their cap is set. ``customer_id`` None (the per-agent GET
    endpoint) leaves the customer cap out; the booking page and the booking service pass it.
    A call being moved (``exclude_booking_id``) counts neither for its day nor for its customer.
    ``held_calls``: :func:`open_calls`, when the caller already counted it (the booking service).
    """
    buffer = timedelta(minutes=agent.buffer_minutes if agent.buffer_minutes is not None else settings.buffer_minutes)
    per_day = _cap(agent.max_calls_per_day, settings.max_calls_per_day)
    per_customer = settings.max_open_bookings_per_customer or None
    starts: tuple[datetime, ...] = ()
    if per_day is not None:
        # Every local day the window touches, whatever the agent's offset: two days of margin.
        stmt = select(Booking.start_at).where(
            Booking.agent_id == agent.id,
            Booking.kind == BookingKind.CALL,
            Booking.status == BookingStatus.CONFIRMED,
            Booking.start_at >= window[0] - timedelta(days=2),
            Booking.start_at < window[1] + timedelta(days=2),
        )
        if exclude_booking_id is not None:
            stmt = stmt.where(Booking.id != exclude_booking_id)
        starts = tuple(session.scalars(stmt))
    held = 0
    if per_customer is not None and customer_id is not None:
        counted = held_calls if held_calls is not None else open_calls(session, customer_id, now)
        held = counted - (1 if exclude_booking_id is not None else 0)
    return BookingLimits(
        buffer=buffer,
        max_calls_per_day=per_day,
        booked_call_starts=starts,
        day_zone=ZoneInfo(agent.timezone),
        max_open_bookings=per_customer if customer_id is not None else None,
        open_bookings=max(held, 0),
    )


def _slot_inputs(
    session: Session,
    settings: Settings,
    agent: Agent,
    window: Interval,
    duration: timedelta,
    exclude_booking_id: int | None,
    now: datetime,
    customer_id: int | None = None,
    held_calls: int | None = None,
) -> _SlotInputs:
    """What the core needs to decide on slots in ``window``: rules, busy time, working hours, limits."""
    rules = SlotRules(
        duration=duration, step=settings.slot_step, min_notice=settings.min_notice, horizon=settings.horizon
    )
    start, end = window
    limits = booking_limits(session, settings, agent, window, now, customer_id, exclude_booking_id, held_calls)
    # Busy time that starts before the window can still cover a slot inside it; a slot that starts
    # inside the window can end after it (plus the buffer kept after it).
    busy = busy_intervals(
        session, agent.id, start - timedelta(days=1), end + duration + limits.buffer, exclude_booking_id
    )
    working = weekly_hours_intervals(
        agent.working_hours, ZoneInfo(agent.timezone), start - timedelta(days=1), end + timedelta(days=1)
    )
    return _SlotInputs(rules, busy, working, limits)


def free_slots_for(
    session: Session,
    settings: Settings,
    agent: Agent,
    window: Interval,
    duration: timedelta,
    now: datetime,
    exclude_booking_id: int | None = None,
    customer_id: int | None = None,
) -> list[Interval]:
    """The slots the agent offers in ``window`` (UTC), by the rules of interface.md; with
    ``customer_id``, also within that customer's open-call cap."""
    given = _slot_inputs(session, settings, agent, window, duration, exclude_booking_id, now, customer_id)
    return free_slots(settings.calendar, window, given.rules, now, given.busy, given.working, given.limits)


def is_offered(
    session: Session,
    settings: Settings,
    agent: Agent,
    start: datetime,
    duration: timedelta,
    now: datetime,
    exclude_booking_id: int | None = None,
    customer_id: int | None = None,
    held_calls: int | None = None,
) -> bool:
    """Whether exactly this slot is offered now — the core's ``slot_offered``, i.e. the same
    computation as the GET endpoint, on the same busy time."""
    try:
        if not now <= start <= now + settings.horizon:
            return False  # cheap exit; also keeps date arithmetic away from datetime.min/max
    except OverflowError:  # comparing year-1 / year-9999 instants with extreme offsets
        return False
    window = (start, start + timedelta(seconds=1))
    given = _slot_inputs(session, settings, agent, window, duration, exclude_booking_id, now, customer_id, held_calls)
    return slot_offered(settings.calendar, start, given.rules, now, given.busy, given.working, given.limits)
