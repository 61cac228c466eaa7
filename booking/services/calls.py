"""Incoming phone calls: who is calling, where the call goes, and what the caller chose.

Twilio retries a webhook when it gets no answer in time, and one call produces several webhooks
(incoming, dial status, menu digit, recording), so every function here is keyed on the ``CallSid``
and safe to run twice: the ``calls`` row is created once (unique ``call_sid``) and later hooks only
advance its state. The routing decision is taken from the row, so a retried ``/twilio/voice`` gets
the same answer as the first attempt even if the clock crossed 17:00 in between.

No Flask here: routes turn a :class:`Routing` into TwiML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from booking.config import Settings
from booking.core.business_time import weekly_hours_intervals
from booking.core.call_states import check_move, dial_outcome
from booking.core.duty import on_duty
from booking.core.sla import Severity, callback_due
from booking.db_guards import write_transaction
from booking.models import Agent, Booking, Call, Customer, CustomerPhone, TimeOff
from booking.services import coverage, outbox, schedule
from booking.vocabulary import BookingKind, BookingStatus, CallStatus, RouteKind, Tier
from booking.voicemail.phone import normalize_e164

EVENT_CRITICAL_CALL = "phone.critical"
EVENT_SENIOR_MISSED = "phone.senior_missed"

#: ``team`` of the request a press-2 voicemail opens (``booking.models_requests.TEAMS``).
SENIOR_TEAM = "senior"

#: The state a fresh call moves to once routed (``voicemail`` for both voicemail routes).
_ROUTED = {
    RouteKind.DIAL: CallStatus.DIALING,
    RouteKind.SUPPORT: CallStatus.FORWARDED,
    RouteKind.AFTER_HOURS_MENU: CallStatus.AFTER_HOURS,
    RouteKind.AFTER_HOURS_VOICEMAIL: CallStatus.VOICEMAIL,
    RouteKind.VOICEMAIL: CallStatus.VOICEMAIL,
}


@dataclass(frozen=True)
class Routing:
    """Where an incoming call goes; ``dial_number`` is set for ``dial`` and ``support``."""

    kind: RouteKind
    caller_id: str
    dial_number: str | None = None
    agent_name: str | None = None
    next_opening: datetime | None = None
    offer_seniors: bool = False  # ``dial`` only: the greeting offers "press 2 for a senior" first


@dataclass(frozen=True)
class DialOutcome:
    answered: bool
    agent_name: str | None
    senior: bool = False  # the dial was the seniors': a missed one is a voicemail for the senior team


@dataclass(frozen=True)
class MenuOutcome:
    """What a key pressed in a menu leads to.

    ``kind`` is ``critical`` (after hours, 1), ``seniors`` (in hours, 2, with ``numbers`` to ring),
    ``senior_voicemail`` (2, nobody on duty), ``dial`` (in hours, any other key: the dedicated agent
    at ``dial_number``) or ``voicemail`` (a plain message).
    """

    kind: RouteKind
    outbox_ids: list[int]
    numbers: tuple[str, ...] = ()
    dial_number: str | None = None
    agent_name: str | None = None
    caller_id: str = ""

    @property
    def critical(self) -> bool:
        return self.kind == RouteKind.CRITICAL


def caller_number(raw: str | None) -> str:
    """E.164 when the number is real, else what Twilio sent (``anonymous``), cut to the column size."""
    return normalize_e164(raw) or (raw or "unknown").strip()[:32] or "unknown"


def dedicated_agent(session: Session, customer: Customer | None) -> Agent | None:
    """The customer's active dedicated agent, or None: the one rule, ``schedule.dedicated_agent``."""
    return schedule.dedicated_agent(session, customer)


def on_call_senior(session: Session) -> Agent | None:
    """The senior (tier 2) agent on call; the lowest id wins when an admin set several."""
    return session.scalar(
        select(Agent)
        .where(Agent.tier == Tier.SENIOR, Agent.on_call.is_(True), Agent.active.is_(True))
        .order_by(Agent.id)
        .limit(1)
    )


def has_seniors(session: Session) -> bool:
    """Does the service have any active senior agent? Only then does the greeting offer "press 2"."""
    return bool(session.scalar(select(exists().where(Agent.tier == Tier.SENIOR, Agent.active.is_(True)))))


def seniors_on_duty(session: Session, settings: Settings, now: datetime) -> list[Agent]:
    """The senior agents a press-2 call rings: active, tier senior, on duty at ``now`` (by id).

    On duty (:func:`booking.core.duty.on_duty`): inside their working hours in their own zone (the
    business hours when they have none), not on time off, and not in a booked call (a confirmed
    ``call`` booking). A callback reservation does not count: it marks a deadline in the calendar,
    the senior is expected to have called earlier, and is free to pick up.
    """
    seniors = list(
        session.scalars(select(Agent).where(Agent.tier == Tier.SENIOR, Agent.active.is_(True)).order_by(Agent.id))
    )
    if not seniors:
        return []
    ids = [agent.id for agent in seniors]
    away: dict[int, list[tuple[datetime, datetime]]] = {agent_id: [] for agent_id in ids}
    for agent_id, start, end in session.execute(
        select(TimeOff.agent_id, TimeOff.start_at, TimeOff.end_at).where(
            TimeOff.agent_id.in_(ids), TimeOff.start_at <= now, TimeOff.end_at > now
        )
    ):
        away[agent_id].append((start, end))
    for agent_id, start, end in session.execute(
        select(Booking.agent_id, Booking.start_at, Booking.end_at).where(
            Booking.agent_id.in_(ids),
            Booking.kind == BookingKind.CALL,
            Booking.status == BookingStatus.CONFIRMED,
            Booking.start_at <= now,
            Booking.end_at > now,
        )
    ):
        away[agent_id].append((start, end))
    business_open = settings.calendar.is_open(now)
    day = timedelta(days=1)
    return [
        agent
        for agent in seniors
        if on_duty(
            now,
            working=weekly_hours_intervals(agent.working_hours, ZoneInfo(agent.timezone), now - day, now + day),
            business_open=business_open,
            away=away[agent.id],
        )
    ]


def voicemail_team(call: Call | None) -> str | None:
    """The team a call's voicemail belongs to when the call decided it: ``senior`` after a press 2."""
    if call is not None and call.status == CallStatus.SENIOR_VOICEMAIL:
        return SENIOR_TEAM
    return None


def move_call(call: Call, target: CallStatus) -> None:
    """The one way to change ``call.status``: moves not in ``booking.core.call_states`` raise.

    The caller owns the transaction; a refused move (``IllegalCallMove``) leaves the row as it was.
    """
    call.status = check_move(call.status, target)


def _call(session: Session, call_sid: str) -> Call | None:
    return session.scalar(select(Call).where(Call.call_sid == call_sid))


def ensure_call(
    session: Session,
    settings: Settings,
    call_sid: str,
    from_raw: str | None,
    to_raw: str | None,
    now: datetime,
) -> Call:
    """The ``calls`` row for ``call_sid``, created on first sight (idempotent, race-safe).

    ``after_hours`` is decided once, from the time the call came in, so every later webhook of the
    same call (and every retry) sees the same decision.
    """
    call = _call(session, call_sid)
    if call is not None:
        return call
    # The agent the voice hook would have rung (``coverage.phone_agent``: the backup while the
    # dedicated agent is away), so a call first seen by a later hook or by the reconciliation is
    # owned by the same agent as one routed by ``incoming_call``.
    caller = caller_for_number(session, from_raw, now)
    customer, agent = caller.customer, caller.agent
    try:
        with write_transaction(session):
            call = _call(session, call_sid)
            if call is None:
                call = Call(
                    call_sid=call_sid,
                    from_number=caller_number(from_raw),
                    to_number=(to_raw or None) and to_raw[:32],
                    customer_id=customer.id if customer else None,
                    agent_id=agent.id if agent else None,
                    severity=int(Severity.STANDARD),
                    after_hours=not settings.calendar.is_open(now),
                    status=CallStatus.RINGING,
                    received_at=now,
                )
                session.add(call)
    except IntegrityError:  # the same webhook, retried concurrently, inserted it first
        call = _call(session, call_sid)
        if call is None:
            raise
    return call


@dataclass(frozen=True)
class Caller:
    """What one query tells about a caller: the customer, the agent to ring, whether a senior exists."""

    customer: Customer | None
    agent: Agent | None  # coverage.phone_agent: the dedicated agent, or the backup while they are away
    seniors: bool | None  # None when no customer row came back (then no route asks)


def caller_for_number(session: Session, raw: str | None, now: datetime) -> Caller:
    """The caller's customer, its dedicated and backup agents' rows, whether the dedicated agent is on
    time off at ``now`` and whether the service has a senior: ONE query.

    The customer by number, :func:`dedicated_agent`'s read and :func:`has_seniors` were three
    round trips while Twilio waited (issue 19); who is rung is decided by
    :func:`booking.services.coverage.phone_agent`, the booking page's backup rule for the present.
    """
    e164 = normalize_e164(raw)
    if e164 is None:
        return Caller(None, None, None)
    agent, backup, senior = aliased(Agent), aliased(Agent), aliased(Agent)
    any_senior = exists().where(senior.tier == Tier.SENIOR, senior.active.is_(True)).label("has_seniors")
    away = (
        exists()
        .where(TimeOff.agent_id == Customer.agent_id, TimeOff.start_at <= now, TimeOff.end_at > now)
        .label("away")
    )
    row = session.execute(
        select(Customer, agent, backup, any_senior, away)
        .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
        .outerjoin(agent, agent.id == Customer.agent_id)
        .outerjoin(backup, backup.id == Customer.backup_agent_id)
        .where(CustomerPhone.e164 == e164)
        .limit(1)
    ).first()
    if row is None:
        return Caller(None, None, None)
    customer, dedicated, covering, seniors, away_now = row
    return Caller(customer, coverage.phone_agent(customer, dedicated, covering, bool(away_now), now), bool(seniors))


def _route(
    session: Session,
    settings: Settings,
    caller_id: str,
    agent: Agent | None,
    after_hours: bool,
    received_at: datetime,
    seniors: bool | None,
) -> Routing:
    """Issue 6's routing table for a call whose agent and hours are known (see :func:`incoming_call`)."""
    if agent is None:
        if settings.support_number:
            return Routing(RouteKind.SUPPORT, caller_id, dial_number=settings.support_number)
        if after_hours:
            opening = settings.calendar.next_opening(received_at)
            return Routing(RouteKind.AFTER_HOURS_VOICEMAIL, caller_id, next_opening=opening)
        return Routing(RouteKind.VOICEMAIL, caller_id)
    if after_hours:
        return Routing(
            RouteKind.AFTER_HOURS_MENU,
            caller_id,
            agent_name=agent.name,
            next_opening=settings.calendar.next_opening(received_at),
        )
    return Routing(
        RouteKind.DIAL,
        caller_id,
        dial_number=agent.phone,
        agent_name=agent.name,
        offer_seniors=has_seniors(session) if seniors is None else seniors,
    )


def _insert_routed(session: Session, values: dict[str, object]) -> Call | None:
    """``INSERT ... ON CONFLICT (call_sid) DO NOTHING RETURNING``: the new row, or None if it existed.

    The row goes in already routed (no insert-then-update) and a concurrent or replayed webhook's
    insert turns into "nothing" instead of an IntegrityError and a second transaction.
    """
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(Call).values(**values).on_conflict_do_nothing(index_elements=["call_sid"]).returning(Call)
    return session.scalars(stmt).one_or_none()


def incoming_call(
    session: Session,
    settings: Settings,
    call_sid: str,
    from_raw: str | None,
    to_raw: str | None,
    now: datetime,
) -> Routing:
    """Decide where a call goes (issue 6, "Routing"), recording the call once per CallSid.

    * Callers that are not customers with dedicated support go to ``BOOKING_SUPPORT_NUMBER`` when
      it is set, at any hour (the general line has its own hours and voicemail), else to our
      voicemail.
    * Customers with dedicated support: the agent is their dedicated agent, or their backup agent
      while the dedicated one is away (time off now, or deactivated; ``coverage.phone_agent``), and
      the call's later hooks and its voicemail's callback follow the call's agent.
    * In business hours that agent's phone rings (first offering
      "press 2 for a senior technical agent" when the service has senior agents); after hours
      (holidays included) they hear when the line opens and when they will be called back, may
      press 1 if their service is down, and leave a voicemail.

    One write transaction, four round trips on first sight (issue 19): the caller, its agents, the
    time off check and the senior flag in one SELECT, then the call inserted already in its routed
    state. A replay (the row exists) changes nothing and answers from the stored row (its agent, its
    ``after_hours``), as the first attempt did; a row another hook created first (still ``ringing``)
    is moved on.
    """
    # Keep the caller's number on the forwarded leg so the agent sees who is calling; Twilio allows
    # this for calls it received. Hidden callers fall back to the number they dialled.
    caller_id = normalize_e164(from_raw) or to_raw or settings.twilio_from_number or ""
    with write_transaction(session):
        caller = caller_for_number(session, from_raw, now)
        customer, agent, seniors = caller.customer, caller.agent, caller.seniors
        after_hours = not settings.calendar.is_open(now)
        route = _route(session, settings, caller_id, agent, after_hours, now, seniors)
        call = _insert_routed(
            session,
            {
                "call_sid": call_sid,
                "from_number": caller_number(from_raw),
                "to_number": (to_raw or None) and to_raw[:32],
                "customer_id": customer.id if customer is not None else None,
                "agent_id": agent.id if agent else None,
                "severity": int(Severity.STANDARD),
                "after_hours": after_hours,
                # A new call is RINGING and moved to its route at once: the move is checked as
                # ``move_call`` would (the one rule of call states), only written in the INSERT.
                "status": check_move(CallStatus.RINGING, _ROUTED[route.kind]),
                "received_at": now,
            },
        )
        if call is None:  # a replay, or another hook of this call came first: the stored row decides
            stored = select(Call).where(Call.call_sid == call_sid).execution_options(populate_existing=True)
            call = session.scalar(stored)
            if call is None:  # the conflicting row is committed (the INSERT waited for it): never
                raise RuntimeError(f"call {call_sid} neither inserted nor found")
            if call.agent_id is None:
                agent = None
            elif agent is None or agent.id != call.agent_id:
                agent = session.get(Agent, call.agent_id)
            route = _route(session, settings, caller_id, agent, call.after_hours, call.received_at, seniors)
            if call.status == CallStatus.RINGING:
                move_call(call, _ROUTED[route.kind])
    return route


def dial_finished(
    session: Session,
    settings: Settings,
    call_sid: str,
    dial_status: str | None,
    from_raw: str | None,
    now: datetime,
) -> DialOutcome:
    """Record how the ``<Dial>`` ended; anything but an answer sends the caller to voicemail.

    After a press 2 the dial was the seniors': a missed one leaves a message for the senior team
    (``senior-voicemail``, severity 2) and pages the on-call senior, once per call however often
    Twilio retries the hook.
    """
    outcome = dial_outcome(dial_status)
    call = ensure_call(session, settings, call_sid, from_raw, None, now)
    senior = call.status in (CallStatus.SENIORS, CallStatus.SENIOR_VOICEMAIL)
    with write_transaction(session):
        if senior and outcome != CallStatus.ANSWERED:
            outcome = CallStatus.SENIOR_VOICEMAIL
            move_call(call, outcome)
            _page_senior(session, settings, call, now)
        else:
            move_call(call, outcome)
        agent = session.get(Agent, call.agent_id) if call.agent_id else None
        agent_name = agent.name if agent else None
    return DialOutcome(answered=outcome == CallStatus.ANSWERED, agent_name=agent_name, senior=senior)


def _page_senior(session: Session, settings: Settings, call: Call, now: datetime) -> list[int]:
    """Queue the page for a press-2 call no senior could take (inside the caller's transaction).

    The on-call senior is paged, or the dedicated agent when no senior is on call (someone must
    know); the callback is due within the severity-2 target. Keyed on the CallSid: one page per call.
    """
    target = on_call_senior(session) or (session.get(Agent, call.agent_id) if call.agent_id else None)
    if target is None:
        return []
    due = callback_due(Severity.HIGH, call.received_at, settings.calendar)
    return outbox.emit(
        session,
        EVENT_SENIOR_MISSED,
        {"call_sid": call.call_sid, "agent_id": target.id, "due_at": due.isoformat()},
        f"senior-page:{call.call_sid}",
        now,
    )


def _caller_id(settings: Settings, call: Call, from_raw: str | None) -> str:
    """The number the dialled phones show: the caller's, as for the dedicated agent's dial."""
    caller = normalize_e164(from_raw) or normalize_e164(call.from_number)
    return caller or call.to_number or settings.twilio_from_number or ""


def menu_choice(
    session: Session,
    settings: Settings,
    call_sid: str,
    digits: str | None,
    from_raw: str | None,
    now: datetime,
) -> MenuOutcome:
    """A menu's ``<Gather>`` result: after hours ``1`` = service down, in hours ``2`` = a senior agent.

    After hours, ``1`` means severity 1 and the on-call senior is paged. The page is queued here, when
    the caller presses 1, not when the recording arrives: "critical outages do not wait", and a caller
    who hangs up without leaving a message must still be called back. One page per call (outbox key
    ``page:<CallSid>``), however often Twilio retries the hook. Any other key is a plain message.

    In business hours, ``2`` rings every senior on duty at once (severity 2); with nobody on duty the
    caller leaves a message for the senior team and the on-call senior is paged (key
    ``senior-page:<CallSid>``). Any other key goes on to the dedicated agent, as no key does.
    Only customers with dedicated support hear a menu; a key from anyone else is a plain message.
    """
    call = ensure_call(session, settings, call_sid, from_raw, None, now)
    digit = (digits or "").strip()
    agent = session.get(Agent, call.agent_id) if call.agent_id is not None else None
    if agent is None:
        return MenuOutcome(RouteKind.VOICEMAIL, outbox_ids=[])
    if not call.after_hours:
        return _in_hours_choice(session, settings, call, agent, digit, from_raw, now)
    if digit != "1":
        return MenuOutcome(RouteKind.VOICEMAIL, outbox_ids=[])
    with write_transaction(session):
        call.severity = int(Severity.CRITICAL)
        move_call(call, CallStatus.CRITICAL)
        target = on_call_senior(session) or session.get(Agent, call.agent_id)
        ids: list[int] = []
        if target is not None:
            due = callback_due(Severity.CRITICAL, call.received_at, settings.calendar)
            ids = outbox.emit(
                session,
                EVENT_CRITICAL_CALL,
                {"call_sid": call.call_sid, "agent_id": target.id, "due_at": due.isoformat()},
                f"page:{call.call_sid}",
                now,
            )
    return MenuOutcome(RouteKind.CRITICAL, outbox_ids=ids)


def _in_hours_choice(
    session: Session,
    settings: Settings,
    call: Call,
    agent: Agent,
    digit: str,
    from_raw: str | None,
    now: datetime,
) -> MenuOutcome:
    """The in-hours menu: ``2`` for the seniors on duty (or their voicemail), else the dedicated agent."""
    caller_id = _caller_id(settings, call, from_raw)
    if digit != "2":
        return MenuOutcome(
            RouteKind.DIAL, outbox_ids=[], dial_number=agent.phone, agent_name=agent.name, caller_id=caller_id
        )
    if call.status == CallStatus.SENIOR_VOICEMAIL:  # a retried hook: the page is queued already
        return MenuOutcome(RouteKind.SENIOR_VOICEMAIL, outbox_ids=[], caller_id=caller_id)
    seniors = seniors_on_duty(session, settings, now)
    with write_transaction(session):
        call.severity = int(Severity.HIGH)
        if seniors:
            move_call(call, CallStatus.SENIORS)
            return MenuOutcome(
                RouteKind.SENIORS, outbox_ids=[], numbers=tuple(s.phone for s in seniors), caller_id=caller_id
            )
        move_call(call, CallStatus.SENIOR_VOICEMAIL)
        ids = _page_senior(session, settings, call, now)
    return MenuOutcome(RouteKind.SENIOR_VOICEMAIL, outbox_ids=ids, caller_id=caller_id)
