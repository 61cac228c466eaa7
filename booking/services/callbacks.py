"""Voicemails and the callbacks they queue: store, reserve time, notify; list, complete, move.

A voicemail is never lost and never handled twice:

* Twilio's recording callback is stored once per ``RecordingSid`` (unique column, re-checked under
  the write lock, and a concurrent duplicate's IntegrityError turns into "already stored").
* Exactly one callback per voicemail (unique ``voicemail_id``), due when the SLA core says
  (:func:`booking.core.sla.callback_due`: severity 1-2 wall clock, 3-5 business time; after hours
  the next opening, holidays skipped). The SLA clock starts when the *call* came in, not when the
  recording finished: a caller who rang at 16:58 called during business hours.
* The callback reserves 15 minutes in the agent's schedule as a bookings row of kind ``callback``,
  written by :mod:`booking.services.schedule` (the one owner of those rows, which also decides where
  the time goes: :func:`~booking.services.schedule.reservation_for`), so the database's overlap
  guard keeps customers from booking over it and the calendar push / feed show it. Its own events
  (``callback.reserved`` / ``moved`` / ``released``) reach the CalDAV push and no mail handler. The
  reservation marks the deadline in the calendar; agents are expected to call earlier ("usually at once").
* Agents act on their own callbacks only: ``complete`` and ``move`` take the acting agent's id and
  answer "not found" for anyone else's (the admin API passes none).
* The agent is told by SMS and e-mail through the outbox: the rows are written in the same
  transaction and sent after the commit, retried with back-off, and keyed on the callback id so
  a replayed webhook cannot send them twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, joinedload

from booking.config import Settings
from booking.core.intervals import to_utc
from booking.core.sla import Severity, callback_due
from booking.db_guards import is_overlap_error, write_transaction
from booking.models import Agent, Booking, Call, Callback, Customer, Voicemail
from booking.services import outbox, requests, schedule
from booking.services.calls import (
    caller_for_number,
    caller_number,
    move_call,
    on_call_senior,
    voicemail_team,
)
from booking.services.errors import Conflict, InvalidInput, NotFound, SlotUnavailable
from booking.services.schedule import SEARCH_SPAN, reservation_for
from booking.vocabulary import CALLBACK_TOPIC, BookingKind, BookingStatus, CallbackStatus, CallStatus

EVENT_CALLBACK_QUEUED = "callback.queued"
EVENT_CALLBACK_OVERDUE = "callback.overdue"

STATUSES = tuple(CallbackStatus)


@dataclass(frozen=True)
class RecordingIn:
    """What Twilio's recording status callback tells us (``From`` is not part of it)."""

    recording_sid: str
    recording_url: str
    duration: int
    call_sid: str
    from_raw: str | None = None


@dataclass(frozen=True)
class StoreResult:
    callback: Callback
    created: bool  # False when the RecordingSid was already stored (a replay)
    outbox_ids: list[int]
    callback_id: int
    due_at: datetime


# --------------------------------------------------------------------------------------------------
# The reserved time
# --------------------------------------------------------------------------------------------------


def _notes(callback: Callback, voicemail: Voicemail) -> str:
    severity = Severity(callback.severity)
    return (
        f"Call back {callback.phone} (severity {severity.label}).\n"
        f"Voicemail: {voicemail.recording_url} ({voicemail.duration} s), call {voicemail.call_sid}."
    )


def _reserve(
    session: Session,
    settings: Settings,
    callback: Callback,
    agent: Agent,
    customer: Customer,
    voicemail: Voicemail,
    now: datetime,
) -> list[int]:
    """Insert the reservation (inside the caller's transaction) and queue its calendar push."""
    slot = reservation_for(session, settings, agent, Severity(callback.severity), callback.due_at, now)
    if slot is None:
        return []
    try:
        with session.begin_nested():
            booking, ids = schedule.insert(
                session,
                now,
                kind=BookingKind.CALLBACK,
                agent_id=agent.id,
                customer_id=customer.id,
                start=slot[0],
                end=slot[1],
                topic=CALLBACK_TOPIC,
                contact_name=f"{customer.name} ({callback.phone})"[:200],
                # The agent's own address, not the customer's: a CalDAV server that does scheduling
                # would otherwise e-mail the customer an invitation to an internal reservation.
                contact_email=agent.email,
                notes=_notes(callback, voicemail),
            )
    except IntegrityError as exc:
        # Only possible if something bypassed the agent lock; the callback stays queued unreserved.
        if not is_overlap_error(exc):
            raise
        return []
    callback.booking_id = booking.id
    return ids


# --------------------------------------------------------------------------------------------------
# Use cases
# --------------------------------------------------------------------------------------------------


def _by_recording(session: Session, recording_sid: str) -> Callback | None:
    return session.scalar(select(Callback).join(Voicemail).where(Voicemail.recording_sid == recording_sid))


def _assignee(session: Session, severity: Severity, dedicated: Agent | None) -> Agent | None:
    """Severity 1-2 → the on-call senior (awake at 03:00), else the dedicated agent; nobody for
    callers without dedicated support (their callback waits, unassigned, in the admin list)."""
    if dedicated is None:
        return None
    if severity.wall_clock:
        return on_call_senior(session) or dedicated
    return dedicated


def _recording_context(
    session: Session, rec: RecordingIn, now: datetime
) -> tuple[int | None, Call | None, Customer | None, Agent | None]:
    """(callback id if this RecordingSid is stored, call, customer, the call's agent row).

    For a known call ONE query: the recording check, the call, its customer and the agent the call was
    routed to (the dedicated agent or the backup covering for them; the customer's agent for a call
    stored without one), where it was four round trips in a transaction of its own (issue 19). Without
    a call row, the agent the voice hook would have rung (``calls.caller_for_number``)."""
    stored = (
        select(Callback.id)
        .join(Voicemail, Voicemail.id == Callback.voicemail_id)
        .where(Voicemail.recording_sid == rec.recording_sid)
        .scalar_subquery()
    )
    agent = aliased(Agent)
    row = session.execute(
        select(Call, Customer, agent, stored.label("stored"))
        .outerjoin(Customer, Customer.id == Call.customer_id)
        .outerjoin(agent, agent.id == func.coalesce(Call.agent_id, Customer.agent_id))
        .where(Call.call_sid == rec.call_sid)
    ).first()
    if row is not None:
        return row[3], row[0], row[1], row[2]
    # The incoming-call hook never reached us; the recording still must not be lost. Its callback goes
    # to the agent that hook would have rung (the backup while the dedicated agent is away).
    existing = _by_recording(session, rec.recording_sid)
    caller = caller_for_number(session, rec.from_raw, now)
    return existing.id if existing else None, None, caller.customer, caller.agent


def store_voicemail(session: Session, settings: Settings, rec: RecordingIn, now: datetime) -> StoreResult:
    """Store a recording and queue its callback, exactly once per ``RecordingSid``.

    One write transaction (issue 19): the recording check, the call, customer and agent in one read,
    the assignee's lock, then the rows. The reservation is inserted before the callback so the callback
    goes in with its ``booking_id`` (no UPDATE after). A replay returns the stored callback and writes
    nothing; a concurrent duplicate that wins the unique ``recording_sid`` turns into "already stored".
    """
    try:
        with write_transaction(session):
            stored_id, call, customer, agent_row = _recording_context(session, rec, now)
            if stored_id is not None:
                existing = session.get(Callback, stored_id)
                if existing is None:  # read in this transaction a moment ago; callbacks are never deleted
                    raise RuntimeError(f"callback {stored_id} vanished within its transaction")
                return _result(existing, created=False, outbox_ids=[])
            if call is not None:
                severity, received_at, phone = Severity(call.severity), call.received_at, call.from_number
            else:
                severity, received_at, phone = Severity.STANDARD, now, caller_number(rec.from_raw)
            dedicated = schedule.eligible_agent(customer, agent_row)
            assignee = _assignee(session, severity, dedicated)
            if assignee is not None:
                assignee = schedule.lock_agent(session, assignee.id)
            due = callback_due(severity, received_at, settings.calendar)
            customer_id = customer.id if customer else None
            assignee_id = assignee.id if assignee else None
            voicemail = Voicemail(
                recording_sid=rec.recording_sid,
                call_sid=rec.call_sid,
                recording_url=rec.recording_url,
                duration=rec.duration,
                from_number=phone,
                customer_id=customer_id,
                agent_id=assignee_id,
                severity=int(severity),
                received_at=received_at,
            )
            session.add(voicemail)
            session.flush()
            callback = Callback(
                voicemail_id=voicemail.id,
                customer_id=customer_id,
                agent_id=assignee_id,
                phone=phone,
                severity=int(severity),
                due_at=due,
                status=CallbackStatus.PENDING,
                created_at=now,
            )
            ids: list[int] = []
            if assignee is not None and customer is not None:  # sets callback.booking_id before its INSERT
                ids += _reserve(session, settings, callback, assignee, customer, voicemail, now)
            session.add(callback)
            session.flush()
            _, request_ids = requests.open_for_callback(  # issue 13; a press-2 message is the senior team's (issue 16)
                session, settings.calendar, callback, received_at, now, team=voicemail_team(call)
            )
            ids += request_ids
            if assignee is not None and customer is not None:
                ids += outbox.emit(
                    session, EVENT_CALLBACK_QUEUED, {"callback_id": callback.id}, f"callback:{callback.id}", now
                )
            if call is not None:
                move_call(call, CallStatus.VOICEMAIL)
            result = _result(callback, created=True, outbox_ids=ids)
    except IntegrityError:
        existing = _by_recording(session, rec.recording_sid)
        if existing is None:
            raise
        return _result(existing, created=False, outbox_ids=[])
    return result


def _result(callback: Callback, *, created: bool, outbox_ids: list[int]) -> StoreResult:
    """The result with the callback's id and due time read now, before the commit expires the row
    (the route logs them; reading them afterwards was one more SELECT per webhook)."""
    return StoreResult(callback, created, outbox_ids, callback.id, to_utc(callback.due_at))


def list_callbacks(session: Session, status: str | None = None, agent_slug: str | None = None) -> list[Callback]:
    """Callbacks by due time (soonest first), optionally only one status and/or one agent's."""
    query = (
        select(Callback)
        .options(
            joinedload(Callback.voicemail),
            joinedload(Callback.customer),
            joinedload(Callback.agent),
            joinedload(Callback.booking),
        )
        .order_by(Callback.due_at, Callback.id)
    )
    if status is not None:
        query = query.where(Callback.status == status)
    if agent_slug is not None:
        query = query.join(Agent, Callback.agent_id == Agent.id).where(Agent.slug == agent_slug)
    return list(session.scalars(query).unique())


def _get(session: Session, callback_id: int, acting_agent_id: int | None = None) -> Callback:
    """The callback, or NotFound; with ``acting_agent_id`` only if it is assigned to that agent.

    Someone else's callback gets the same answer as one that does not exist, so ids cannot be
    probed. ``None`` is the admin (the bearer-token API), who acts on every callback.
    """
    callback = session.get(Callback, callback_id)
    if callback is None or (acting_agent_id is not None and callback.agent_id != acting_agent_id):
        raise NotFound("no such callback", code="unknown_callback")
    return callback


def _get_locked(session: Session, callback_id: int, acting_agent_id: int | None) -> Callback:
    """Re-read the callback inside a write transaction, row-locked on PostgreSQL.

    ``complete`` and ``move`` each check the status (and the owner) again under this lock: a
    callback marked done between a move's first check and its transaction must not get a fresh
    reservation back.
    """
    stmt = select(Callback).where(Callback.id == callback_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    callback = session.scalar(stmt)
    if callback is None or (acting_agent_id is not None and callback.agent_id != acting_agent_id):
        raise NotFound("no such callback", code="unknown_callback")
    return callback


def _release(session: Session, booking: Booking | None, now: datetime) -> list[int]:
    """Free a reservation that has not started yet (a past one is history and stays)."""
    if booking is None or booking.status != BookingStatus.CONFIRMED or booking.start_at <= now:
        return []
    return schedule.cancel(session, booking, now)


def complete(
    session: Session, callback_id: int, now: datetime, *, acting_agent_id: int | None = None
) -> tuple[Callback, list[int]]:
    """Mark a callback done (idempotent) and give back the reserved time if it is still ahead.

    ``acting_agent_id``: the signed-in agent, who may complete only their own callbacks (NotFound
    otherwise); ``None`` for the admin.
    """
    callback = _get(session, callback_id, acting_agent_id)
    if callback.status == CallbackStatus.DONE:
        return callback, []
    reserved_agent_id = callback.booking.agent_id if callback.booking is not None else None
    with write_transaction(session):
        if reserved_agent_id is not None:  # releasing the reservation changes that agent's busy time
            schedule.lock_agent(session, reserved_agent_id)
        callback = _get_locked(session, callback_id, acting_agent_id)
        if callback.status == CallbackStatus.DONE:
            return callback, []
        callback.status = CallbackStatus.DONE
        callback.done_at = now
        requests.callback_completed(session, callback, now)  # issue 13: the phone request is answered
        ids = _release(session, callback.booking, now)
    return callback, ids


def _check_pending(callback: Callback) -> None:
    if callback.status != CallbackStatus.PENDING:
        raise Conflict(f"this callback is {callback.status}; only pending callbacks move", code="not_pending")


def move(
    session: Session,
    settings: Settings,
    callback_id: int,
    due_at: datetime,
    now: datetime,
    *,
    acting_agent_id: int | None = None,
) -> tuple[Callback, list[int]]:
    """Give a pending callback a new due time and move its reservation to match.

    ``acting_agent_id``: the signed-in agent, who may move only their own callbacks (NotFound
    otherwise); ``None`` for the admin.

    The reservation keeps its UID (SEQUENCE+1) so calendars update the event instead of adding a
    second one. 409 ``slot_unavailable`` (nothing changed) when no time is free after the new due
    time; 400 for a due time in the past or beyond the search span.
    """
    try:
        due_at = to_utc(due_at)
        if due_at < now - timedelta(minutes=1) or due_at > now + SEARCH_SPAN:
            raise InvalidInput(f"due_at must be between now and {SEARCH_SPAN.days} days ahead", code="bad_due_at")
    except OverflowError as exc:
        raise InvalidInput("due_at is out of range", code="bad_due_at") from exc
    callback = _get(session, callback_id, acting_agent_id)
    _check_pending(callback)
    agent_id = callback.agent_id
    try:
        with write_transaction(session):
            agent = schedule.lock_agent(session, agent_id) if agent_id is not None else None
            callback = _get_locked(session, callback_id, acting_agent_id)
            _check_pending(callback)  # again, under the lock: it may have been completed meanwhile
            callback.due_at = due_at
            ids: list[int] = []
            booking = callback.booking
            if agent is None or callback.customer_id is None:
                return callback, ids
            keep = booking if booking is not None and booking.status == BookingStatus.CONFIRMED else None
            slot = reservation_for(
                session,
                settings,
                agent,
                Severity(callback.severity),
                due_at,
                now,
                exclude_booking_id=keep.id if keep else None,
            )
            if slot is None:
                raise SlotUnavailable("no free time for this callback after the new due time")
            if keep is None:
                customer = session.get(Customer, callback.customer_id)
                assert customer is not None
                ids += _reserve(session, settings, callback, agent, customer, callback.voicemail, now)
            elif (keep.start_at, keep.end_at) != slot:
                ids += schedule.move(session, keep, slot[0], slot[1], now)
    except IntegrityError as exc:
        if is_overlap_error(exc):
            raise SlotUnavailable("that time was just taken; try again") from exc
        raise
    return callback, ids


def flag_overdue(session: Session, now: datetime, limit: int = 200) -> list[int]:
    """Queue one reminder per assigned callback whose due time has passed while still pending.

    Keyed on the callback *and* its due time: a reminder is sent once, and again only if an admin
    moved the callback and the new due time passes too. Run by the scheduler every minute.
    """
    with write_transaction(session):
        overdue = session.scalars(
            select(Callback)
            .where(Callback.status == CallbackStatus.PENDING, Callback.due_at <= now, Callback.agent_id.is_not(None))
            .order_by(Callback.due_at)
            .limit(limit)
        ).all()
        ids: list[int] = []
        for callback in overdue:
            ids += outbox.emit(
                session,
                EVENT_CALLBACK_OVERDUE,
                {"callback_id": callback.id},
                f"overdue:{callback.id}:{to_utc(callback.due_at).isoformat()}",
                now,
            )
    return ids
