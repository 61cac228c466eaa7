"""Book, cancel and reschedule calls: the customer's use cases on top of :mod:`booking.services.schedule`.

Each function owns its transaction; the rows themselves are written by ``schedule`` (the one owner
of ``bookings`` rows, shared with callback reservations). Between the availability check and the
insert the write lock is held (SQLite ``BEGIN IMMEDIATE``; PostgreSQL ``SELECT ... FOR UPDATE`` on
the agent row), and the database's own overlap guard (``booking.db_guards``) is the last word: if
anything slips past the check, the insert fails and the caller gets a clean 409, never a double
booking. Side effects (calendar push, e-mails) are queued in the outbox inside the same transaction
and run after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from booking.config import Settings
from booking.core.availability import BookingLimits
from booking.db_guards import is_overlap_error, write_transaction
from booking.models import Agent, Booking, Customer, token_matches
from booking.services import coverage, schedule, validation
from booking.services.availability import open_calls, parse_zone, validate_duration
from booking.services.errors import (
    BookingLimitReached,
    Conflict,
    Forbidden,
    InvalidInput,
    NotEligible,
    NotFound,
    SlotUnavailable,
    TooLate,
    TooManyOpenBookings,
)
from booking.services.schedule import EVENT_CANCELLED, EVENT_CONFIRMED, EVENT_RESCHEDULED, queue_change
from booking.text import has_unsafe_chars
from booking.vocabulary import BookingKind, BookingStatus, CallMethod

__all__ = [
    "EVENT_CANCELLED",
    "EVENT_CONFIRMED",
    "EVENT_RESCHEDULED",
    "TOPICS",
    "BookResult",
    "BookingRequest",
    "book",
    "booking_agent",
    "cancel",
    "customer_by_token",
    "eligible_agent",
    "get_managed",
    "queue_change",
    "reschedule",
    "serving",
]

TOPICS = ("help", "training", "setup-changes")


@dataclass(frozen=True)
class BookingRequest:
    token: str
    start: datetime
    duration_minutes: int | None
    topic: str
    name: str
    email: str
    notes: str | None = None
    locale: str | None = None
    idempotency_key: str | None = None
    timezone: str | None = None  # the contact's IANA zone; None: the business zone
    phone: str | None = None  # any common spelling; None: the customer's first number
    call_method: str | None = None  # CallMethod; None: phone


@dataclass(frozen=True)
class ContactDetails:
    """How the contact is reached and shown times: validated once for the API and the page."""

    timezone: str
    phone: str | None
    call_method: str


def contact_details(
    settings: Settings, customer: Customer, timezone: str | None, phone: str | None, call_method: str | None
) -> ContactDetails:
    """Validate the zone (IANA), the number (E.164, read in BOOKING_PHONE_REGION) and the method.

    No number given: the customer's first one. ``video`` is offered only when
    BOOKING_VIDEO_URL_TEMPLATE is set.
    """
    zone = parse_zone(timezone, settings).key
    method = call_method or CallMethod.PHONE
    if method not in tuple(CallMethod):
        raise InvalidInput(f"call_method must be phone or video, not {method!r}", code="bad_call_method")
    if method == CallMethod.VIDEO and not settings.video_url_template:
        raise InvalidInput("video calls are not offered here; choose phone", code="video_unavailable")
    number = validation.phone(phone, settings.phone_region) if phone else None
    if number is None and customer.phones:
        number = customer.phones[0].e164
    return ContactDetails(zone, number, method)


@dataclass(frozen=True)
class BookResult:
    booking: Booking
    created: bool  # False when an Idempotency-Key replay returned the first result
    outbox_ids: list[int]


def customer_by_token(session: Session, token: str, *, with_phones: bool = False) -> Customer:
    """The customer behind a booking link, or NotFound; ``with_phones`` loads the numbers in the same
    statement (the booking falls back to the first one: one round trip less per booking, issue 19)."""
    stmt = select(Customer).where(Customer.booking_token == token)
    if with_phones:
        stmt = stmt.options(joinedload(Customer.phones))
    customer = session.scalars(stmt).unique().one_or_none()
    if customer is None:
        raise NotFound("no booking page for this link", code="unknown_token")
    return customer


def eligible_agent(session: Session, customer: Customer, *, lock: bool = False) -> Agent:
    """The customer's dedicated agent (``schedule.dedicated_agent``), or NotEligible (403);
    ``lock=True`` inside ``write_transaction``: the agent row is locked as it is read."""
    agent = schedule.dedicated_agent(session, customer, lock=lock)
    if agent is not None:
        return agent
    if not customer.eligible:
        raise NotEligible(
            "dedicated calls are part of the All-inclusive plan with dedicated support; "
            "this account does not include it"
        )
    raise NotEligible("this account has no active dedicated agent")


def serving(session: Session, customer: Customer, now: datetime) -> coverage.Coverage:
    """Who serves the booking page: the dedicated agent, and the backup while they are away.

    NotEligible (403) without the add-on, or when neither the dedicated agent nor a backup is active.
    """
    cover = coverage.coverage(session, customer, now)
    if not customer.eligible:
        eligible_agent(session, customer)  # raises the plan's message
    if cover.dedicated is None or (not cover.dedicated.active and cover.backup is None):
        raise NotEligible("this account has no active dedicated agent")
    return cover


def booking_agent(session: Session, customer: Customer, start: datetime, end: datetime, *, lock: bool = False) -> Agent:
    """The agent a call at ``[start, end)`` is booked with (``coverage.agent_for_slot``), or NotEligible;
    ``lock=True`` inside ``write_transaction``: that agent's row is locked (``schedule.lock_agent``).

    Without a backup named, the dedicated agent's time off need not be read here (it is busy time, so
    the slot check refuses it): the agent is read and locked in one statement, as before issue 14.
    With a backup named and ``lock=True``, both agents are locked FIRST, and only then is the
    dedicated agent's time off read to choose: an admin changing that time off takes the same lock
    (``time_off``), so the choice is made on committed time off that cannot change before this
    booking commits (read before the lock, a removal landing in between left the call with the
    backup while the dedicated agent was free). They are locked in ascending id order, whichever is
    the dedicated one: two agents are often each other's backup, and locking "dedicated, then
    backup" let two bookings of their two customers take the same two locks in opposite orders (a
    deadlock PostgreSQL breaks by failing one of them).
    """
    if not customer.eligible or customer.backup_agent_id is None:
        return eligible_agent(session, customer, lock=lock)  # raises the plan's message if need be
    locked: dict[int, Agent] = {}
    if lock:
        for agent_id in sorted(i for i in (customer.agent_id, customer.backup_agent_id) if i is not None):
            locked.setdefault(agent_id, schedule.lock_agent(session, agent_id))
    agent = coverage.agent_for_slot(session, customer, start, end)
    if agent is None:
        raise NotEligible("this account has no active dedicated agent")
    return locked.get(agent.id, agent)


def _within_horizon(start: datetime, settings: Settings, now: datetime) -> bool:
    """Cheap bounds check before any query: year 1 / 9999 instants with offsets never reach SQL."""
    try:
        return now <= start <= now + settings.horizon
    except OverflowError:
        return False


def _replay(session: Session, customer_id: int, key: str | None) -> Booking | None:
    if not key:
        return None
    return session.scalar(select(Booking).where(Booking.customer_id == customer_id, Booking.idempotency_key == key))


def _fingerprint(
    start: datetime,
    duration: timedelta,
    topic: str,
    name: str,
    email: str,
    notes: str | None,
    locale: str | None,
    contact: tuple[str | None, str | None, str],
) -> tuple[object, ...]:
    return (start, duration, topic, name, email, notes or None, locale, contact)


def _check_replay(existing: Booking, req: BookingRequest, duration: timedelta, contact: ContactDetails) -> None:
    """A replay must be the same request: any other time, length, topic, contact or note is a 409.

    Returning the first booking for a different body would tell the client its new details were
    saved when they were not (issue 12).
    """
    stored = _fingerprint(
        existing.start_at,
        existing.end_at - existing.start_at,
        existing.topic,
        existing.contact_name,
        existing.contact_email,
        existing.notes,
        existing.locale,
        (existing.contact_timezone, existing.phone, existing.call_method),
    )
    asked = (contact.timezone, contact.phone, contact.call_method)
    if stored != _fingerprint(req.start, duration, req.topic, req.name, req.email, req.notes, req.locale, asked):
        raise Conflict("this Idempotency-Key was already used for a different booking", code="idempotency_key_reused")


def _check_open_bookings(settings: Settings, held: int) -> None:
    """At most ``BOOKING_MAX_OPEN_BOOKINGS`` upcoming calls per customer (the abuse cap: a leaked
    link's damage), on the count taken under the agent lock (``availability.open_calls``)."""
    cap = settings.security.max_open_bookings
    if held >= cap:
        raise TooManyOpenBookings(
            f"this account already has {cap} upcoming calls, the most it can hold; "
            "cancel one or wait until one has taken place"
        )


def _check_customer_cap(settings: Settings, held: int) -> None:
    """BOOKING_MAX_OPEN_BOOKINGS_PER_CUSTOMER (the business cap), asked of the core's limits on the same
    count as the abuse cap, taken under the agent lock (a customer's calls all go to their one
    dedicated agent, so that lock serialises them too). The slot check refuses the slot as well;
    this gives the refusal its own code."""
    cap = settings.max_open_bookings_per_customer
    if not cap:
        return
    if BookingLimits(max_open_bookings=cap, open_bookings=held).customer_capped:
        raise BookingLimitReached(
            f"you already have {cap} upcoming calls booked, the most allowed; "
            "cancel one or wait until one has taken place"
        )


def book(session: Session, settings: Settings, req: BookingRequest, now: datetime) -> BookResult:
    """Book a call with the customer's dedicated agent, exactly once per Idempotency-Key."""
    if has_unsafe_chars(req.name) or has_unsafe_chars(req.email):  # they go into mail headers
        raise InvalidInput("name and e-mail must be one line without control characters", code="bad_text")
    duration = validate_duration(req.duration_minutes, settings)
    customer_id: int | None = None
    contact: ContactDetails | None = None
    try:
        # One transaction from the token to the insert (issue 19: each round trip to a busy database
        # costs milliseconds): the customer is read, the agent of this slot chosen (the dedicated
        # agent, or the backup while they are away: issue 14) and locked, so eligibility, the replay
        # check and the slot check all run under the lock.
        with write_transaction(session):
            customer = customer_by_token(session, req.token, with_phones=True)
            contact = contact_details(settings, customer, req.timezone, req.phone, req.call_method)
            agent: Agent | None = None
            if _within_horizon(req.start, settings, now):
                agent = booking_agent(session, customer, req.start, req.start + duration, lock=True)
            else:
                serving(session, customer, now)  # 403 for an account without the add-on, whatever the time
            customer_id = customer.id
            existing = _replay(session, customer_id, req.idempotency_key)
            if existing is not None:
                _check_replay(existing, req, duration, contact)
                return BookResult(existing, created=False, outbox_ids=[])
            if agent is None:
                raise SlotUnavailable("this time is not (or no longer) available; please pick another slot")
            agent_id = agent.id
            # One count of upcoming calls answers both caps and the slot check's own (issue 19).
            held = open_calls(session, customer_id, now)
            _check_open_bookings(settings, held)
            _check_customer_cap(settings, held)
            if not schedule.call_slot_offered(
                session, settings, agent, req.start, duration, now, customer_id=customer_id, held_calls=held
            ):
                raise SlotUnavailable("this time is not (or no longer) available; please pick another slot")
            booking, ids = schedule.insert(
                session,
                now,
                kind=BookingKind.CALL,
                agent_id=agent_id,
                customer_id=customer_id,
                start=req.start,
                end=req.start + duration,
                topic=req.topic,
                contact_name=req.name,
                contact_email=req.email,
                notes=req.notes,
                locale=req.locale,
                idempotency_key=req.idempotency_key,
                contact_timezone=contact.timezone,
                phone=contact.phone,
                call_method=contact.call_method,
            )
    except IntegrityError as exc:
        if is_overlap_error(exc):
            raise SlotUnavailable("this time was just taken; please pick another slot") from exc
        if customer_id is None or contact is None:
            raise
        replay = _replay(session, customer_id, req.idempotency_key)
        if replay is not None:  # a concurrent retry with the same key won the race
            _check_replay(replay, req, duration, contact)
            return BookResult(replay, created=False, outbox_ids=[])
        raise
    return BookResult(booking, created=True, outbox_ids=ids)


def _managed(session: Session, booking_id: int, token: str | None) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None or booking.kind != BookingKind.CALL:
        raise NotFound("no such booking", code="unknown_booking")
    if not token_matches(booking.manage_token, token):
        raise Forbidden("this manage link is not valid for this booking", code="bad_token")
    return booking


def get_managed(session: Session, booking_id: int, token: str | None) -> Booking:
    """Load a booking for its manage page / invitation; 404 unknown id, 403 wrong token."""
    return _managed(session, booking_id, token)


def cancel(
    session: Session, booking_id: int, token: str | None, now: datetime, reason: str | None = None
) -> tuple[Booking, list[int]]:
    """Cancel; the slot is free at once. Cancelling twice is harmless; after the start it is too late.

    ``reason``: an admin cancelling on the customer's behalf; it is written in the contact's mail."""
    booking = _managed(session, booking_id, token)
    if booking.status == BookingStatus.CANCELLED:
        return booking, []
    if booking.start_at <= now:
        raise TooLate("this call has already started or taken place and can no longer be cancelled")
    agent_id = booking.agent_id
    with write_transaction(session):
        schedule.lock_agent(session, agent_id)  # the lock of book/reschedule: one agent's changes never interleave
        booking = _managed(session, booking_id, token)
        if booking.status == BookingStatus.CANCELLED:
            return booking, []
        ids = schedule.cancel(session, booking, now, reason)
    return booking, ids


def _check_movable(booking: Booking, now: datetime) -> None:
    if booking.status != BookingStatus.CONFIRMED:
        raise Conflict("a cancelled booking cannot be moved; please book a new call", code="cancelled")
    if booking.start_at <= now:
        raise TooLate("this call has already started or taken place and can no longer be moved")


def reschedule(
    session: Session,
    settings: Settings,
    booking_id: int,
    token: str | None,
    start: datetime,
    duration_minutes: int | None,
    now: datetime,
    timezone: str | None = None,
) -> tuple[Booking, list[int]]:
    """Move a booking (same UID, SEQUENCE+1) to a slot that is offered now.

    The contact's zone is kept, or replaced by ``timezone`` (validated IANA) when given.
    """
    zone = parse_zone(timezone, settings).key if timezone else None
    booking = _managed(session, booking_id, token)
    duration = (
        validate_duration(duration_minutes, settings)
        if duration_minutes is not None
        else booking.end_at - booking.start_at
    )
    _check_movable(booking, now)
    if booking.start_at == start and booking.end_at - booking.start_at == duration:
        return booking, []
    agent_id = booking.agent_id
    try:
        with write_transaction(session):
            agent = schedule.lock_agent(session, agent_id)
            booking = _managed(session, booking_id, token)
            _check_movable(booking, now)  # again, under the lock: a cancel may have landed meanwhile
            if not schedule.call_slot_offered(
                session, settings, agent, start, duration, now, booking.id, customer_id=booking.customer_id
            ):
                raise SlotUnavailable("this time is not (or no longer) available; please pick another slot")
            ids = schedule.move(session, booking, start, start + duration, now, contact_timezone=zone)
    except IntegrityError as exc:
        if is_overlap_error(exc):
            raise SlotUnavailable("this time was just taken; please pick another slot") from exc
        raise
    return booking, ids
