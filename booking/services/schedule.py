"""An agent's schedule: the one owner of ``bookings`` rows, for customer calls and callback reservations.

Booking a call and reserving a callback used to lock, check slots and write rows each in its own way
(issue 9, item 2). Everything that decides or changes what occupies an agent's time now lives here:

* who serves a customer (:func:`dedicated_agent`, the one eligibility rule),
* the agent lock (:func:`lock_agent`), taken inside the use case's ``write_transaction``,
* the slot inputs: whether a call's slot is still offered (:func:`call_slot_offered`, the very
  computation the GET endpoint shows) and where a callback's reserved time goes (:func:`reservation_for`),
* insert / move / cancel of a row (:func:`insert`, :func:`move`, :func:`cancel`), each queueing its
  outbox event in the same transaction.

The use cases (``bookings.book``, ``callbacks.store_voicemail``...) own their transaction and call in
here; these functions never commit. A test (``tests/test_schedule_owner.py``) fails if another module
constructs a ``Booking`` or assigns its schedule attributes.

Calls and callback reservations queue different events: a reservation is an internal marker in the
agent's calendar, so only the CalDAV push listens to ``callback.*`` while the booking mails (to the
customer and the agent) listen to ``booking.*``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from booking.config import Settings
from booking.core.availability import SlotRules, free_slots
from booking.core.business_time import weekly_hours_intervals
from booking.core.intervals import Interval, merge, to_utc
from booking.core.sla import Severity
from booking.models import Agent, Booking, Customer
from booking.services import busy_cache, outbox
from booking.services.availability import busy_intervals, is_offered
from booking.vocabulary import BookingKind, BookingStatus, CallMethod

EVENT_CONFIRMED = "booking.confirmed"
EVENT_RESCHEDULED = "booking.rescheduled"
EVENT_CANCELLED = "booking.cancelled"
EVENT_CALLBACK_RESERVED = "callback.reserved"
EVENT_CALLBACK_MOVED = "callback.moved"
EVENT_CALLBACK_RELEASED = "callback.released"

#: The event each change queues, by the row's kind: (inserted, moved, cancelled).
_EVENTS: dict[str, tuple[str, str, str]] = {
    BookingKind.CALL: (EVENT_CONFIRMED, EVENT_RESCHEDULED, EVENT_CANCELLED),
    BookingKind.CALLBACK: (EVENT_CALLBACK_RESERVED, EVENT_CALLBACK_MOVED, EVENT_CALLBACK_RELEASED),
}
KINDS = tuple(_EVENTS)

#: A callback reserves this much of the agent's time.
RESERVATION = timedelta(minutes=15)
#: How far after the due time a reservation is searched for before the callback stays unreserved.
SEARCH_SPAN = timedelta(days=62)
_WALL_CLOCK_ROUNDING = timedelta(minutes=5)


# --------------------------------------------------------------------------------------------------
# Who, and the lock
# --------------------------------------------------------------------------------------------------


def dedicated_agent(session: Session, customer: Customer | None, *, lock: bool = False) -> Agent | None:
    """The customer's active dedicated agent, or None: THE eligibility rule of product.md.

    All-inclusive plan with the dedicated-support add-on (``Customer.eligible``) and an agent who is
    still active. Booking pages and the API (403 without it), voicemail routing (no agent → general
    line) and callback assignment all ask this one function, so they cannot disagree.

    ``lock=True`` (inside ``write_transaction``) reads the agent with :func:`lock_agent`, so a booking
    decides eligibility and takes the agent lock in one statement.
    """
    if customer is None or not customer.eligible or customer.agent_id is None:
        return None
    agent = lock_agent(session, customer.agent_id) if lock else session.get(Agent, customer.agent_id)
    return eligible_agent(customer, agent)


def eligible_agent(customer: Customer | None, agent: Agent | None) -> Agent | None:
    """:func:`dedicated_agent`'s rule for an agent row already read with the customer (one query):
    the agent while the customer has dedicated support and the agent is active, else None.

    The voicemail callback passes the agent its call was routed to (the dedicated agent, or the
    backup covering for them: ``coverage.phone_agent``), so the callback goes where the call went.
    """
    if customer is None or not customer.eligible or agent is None:
        return None
    return agent if agent.active else None


def lock_agent(session: Session, agent_id: int) -> Agent:
    """Lock the agent row and increment its ``schedule_version``: THE first step of every change to
    the agent's busy time (bookings, reservations, time off, synced blocks; a test enforces it).

    One ``UPDATE ... RETURNING``: on PostgreSQL the row lock serializes writers per agent (SQLite
    already holds its database write lock), and the increment, committed or rolled back with the
    change, keys the parsed busy-time cache (``services.busy_cache``). Called first thing inside
    ``write_transaction``, so one agent's changes never interleave and never deadlock.
    """
    stmt = (
        update(Agent)
        .where(Agent.id == agent_id)
        .values(schedule_version=Agent.schedule_version + 1)
        .returning(Agent)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    agent = session.scalars(stmt).one_or_none()
    assert agent is not None
    busy_cache.locked(session, agent_id, agent.schedule_version - 1)
    return agent


# --------------------------------------------------------------------------------------------------
# Slot inputs
# --------------------------------------------------------------------------------------------------


def call_slot_offered(
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
    """Whether a customer may (still) book exactly this slot: the availability GET's own answer.

    Asked under the agent lock, so nothing can take the slot between this answer and the insert;
    ``exclude_booking_id`` lets a call being moved not collide with itself. The buffer and the
    caps (``customer_id``'s open calls, the agent's calls per day) are part of the answer, so
    concurrent bookings serialised by the lock cannot exceed them. ``held_calls``: the customer's
    upcoming calls, when the caller already counted them under the lock (not queried again).
    """
    return is_offered(
        session,
        settings,
        agent,
        start,
        duration,
        now,
        exclude_booking_id=exclude_booking_id,
        customer_id=customer_id,
        held_calls=held_calls,
    )


def _ceil(moment: datetime, step: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=moment.tzinfo)
    remainder = (moment - epoch) % step
    return moment if not remainder else moment + (step - remainder)


def _first_gap(busy: list[Interval], start: datetime, length: timedelta) -> datetime:
    """The first instant at or after ``start`` followed by ``length`` of time outside ``busy``."""
    cursor = start
    for b_start, b_end in merge(busy):
        if b_end <= cursor:
            continue
        if b_start >= cursor + length:
            break
        cursor = max(cursor, b_end)
    return cursor


def reservation_for(
    session: Session,
    settings: Settings,
    agent: Agent,
    severity: Severity,
    due_at: datetime,
    now: datetime,
    exclude_booking_id: int | None = None,
) -> Interval | None:
    """Where a callback's 15 minutes go in ``agent``'s schedule.

    Severity 3-5: the first slot at or after the due time that customers could have booked (slot
    grid, business hours, the agent's working hours, busy time). Severity 1-2: the on-call senior
    works outside business hours, so the first free 15 minutes at or after the due time on the wall
    clock (rounded up to 5 minutes), day or night. ``None`` when nothing is free within
    :data:`SEARCH_SPAN`: the callback is then still queued (never lost), just without a reservation.
    """
    start = max(to_utc(due_at), to_utc(now))
    if severity.wall_clock:
        start = _ceil(start, _WALL_CLOCK_ROUNDING)
        busy = busy_intervals(session, agent.id, start - timedelta(days=1), start + SEARCH_SPAN, exclude_booking_id)
        begin = _first_gap(busy, start, RESERVATION)
        return (begin, begin + RESERVATION) if begin < start + SEARCH_SPAN else None
    window = (start, start + SEARCH_SPAN)
    rules = SlotRules(duration=RESERVATION, step=settings.slot_step, min_notice=timedelta(0), horizon=SEARCH_SPAN)
    busy = busy_intervals(session, agent.id, start - timedelta(days=1), window[1] + RESERVATION, exclude_booking_id)
    working = weekly_hours_intervals(
        agent.working_hours, ZoneInfo(agent.timezone), start - timedelta(days=1), window[1] + timedelta(days=1)
    )
    slots = free_slots(settings.calendar, window, rules, start, busy, working)
    return slots[0] if slots else None


# --------------------------------------------------------------------------------------------------
# Writing rows (inside the caller's transaction, under the agent lock)
# --------------------------------------------------------------------------------------------------


def queue_change(session: Session, booking: Booking, event: str, now: datetime, reason: str | None = None) -> list[int]:
    """Queue ``event`` for a booking row, keyed so it is sent once per SEQUENCE.

    ``reason`` (an admin cancelling on the customer's behalf) travels to the contact's mail."""
    payload: dict[str, object] = {"booking_id": booking.id, "kind": booking.kind}
    if reason:
        payload["reason"] = reason
    word = event.rsplit(".", 1)[-1]
    return outbox.emit(session, event, payload, f"{booking.uid}:{booking.sequence}:{word}", now)


def insert(
    session: Session,
    now: datetime,
    *,
    kind: str,
    agent_id: int,
    customer_id: int,
    start: datetime,
    end: datetime,
    topic: str,
    contact_name: str,
    contact_email: str,
    notes: str | None = None,
    locale: str | None = None,
    idempotency_key: str | None = None,
    contact_timezone: str | None = None,
    phone: str | None = None,
    call_method: str = CallMethod.PHONE,
) -> tuple[Booking, list[int]]:
    """Insert a confirmed row (SEQUENCE 0), flush it and queue its kind's "inserted" event.

    The flush runs the database's overlap guard now: an overlap raises ``IntegrityError`` here, for
    the use case to turn into a 409 (a call) or an unreserved callback.
    """
    booking = Booking(
        kind=kind,
        agent_id=agent_id,
        customer_id=customer_id,
        start_at=start,
        end_at=end,
        topic=topic,
        status=BookingStatus.CONFIRMED,
        sequence=0,
        contact_name=contact_name,
        contact_email=contact_email,
        notes=notes,
        locale=locale,
        idempotency_key=idempotency_key,
        contact_timezone=contact_timezone,
        phone=phone,
        call_method=call_method,
        created_at=now,
        updated_at=now,
    )
    busy_cache.written(session, agent_id)
    session.add(booking)
    session.flush()
    return booking, queue_change(session, booking, _EVENTS[kind][0], now)


def move(
    session: Session,
    booking: Booking,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    contact_timezone: str | None = None,
) -> list[int]:
    """Move a row (same UID, SEQUENCE+1) and queue its kind's "moved" event; a new
    ``contact_timezone`` replaces the contact's zone (None keeps it)."""
    busy_cache.written(session, booking.agent_id)
    booking.start_at, booking.end_at = start, end
    if contact_timezone is not None:
        booking.contact_timezone = contact_timezone
    booking.sequence += 1
    booking.updated_at = now
    return queue_change(session, booking, _EVENTS[booking.kind][1], now)


def cancel(session: Session, booking: Booking, now: datetime, reason: str | None = None) -> list[int]:
    """Cancel a row (SEQUENCE+1, the slot is free at once) and queue its kind's "cancelled" event."""
    busy_cache.written(session, booking.agent_id)
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = now
    booking.updated_at = now
    booking.sequence += 1
    return queue_change(session, booking, _EVENTS[booking.kind][2], now, reason)
