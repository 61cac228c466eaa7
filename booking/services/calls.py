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
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking.config import Settings
from booking.core.call_states import check_move, dial_outcome
from booking.core.sla import Severity, callback_due
from booking.db_guards import write_transaction
from booking.models import Agent, Call, Customer, CustomerPhone
from booking.services import outbox, schedule
from booking.vocabulary import CallStatus, RouteKind, Tier
from booking.voicemail.phone import normalize_e164

EVENT_CRITICAL_CALL = "phone.critical"

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


@dataclass(frozen=True)
class DialOutcome:
    answered: bool
    agent_name: str | None


@dataclass(frozen=True)
class MenuOutcome:
    critical: bool
    outbox_ids: list[int]


def caller_number(raw: str | None) -> str:
    """E.164 when the number is real, else what Twilio sent (``anonymous``), cut to the column size."""
    return normalize_e164(raw) or (raw or "unknown").strip()[:32] or "unknown"


def customer_for_number(session: Session, raw: str | None) -> Customer | None:
    """The customer whose stored numbers include the caller's (both sides normalised to E.164)."""
    e164 = normalize_e164(raw)
    if e164 is None:
        return None
    return session.scalar(select(Customer).join(CustomerPhone).where(CustomerPhone.e164 == e164))


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
    customer = customer_for_number(session, from_raw)
    agent = dedicated_agent(session, customer)
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
    * Customers with dedicated support: in business hours their agent's phone rings; after hours
      (holidays included) they hear when the line opens and when they will be called back, may
      press 1 if their service is down, and leave a voicemail.
    """
    call = ensure_call(session, settings, call_sid, from_raw, to_raw, now)
    agent = session.get(Agent, call.agent_id) if call.agent_id else None
    # Keep the caller's number on the forwarded leg so the agent sees who is calling; Twilio allows
    # this for calls it received. Hidden callers fall back to the number they dialled.
    caller_id = normalize_e164(from_raw) or to_raw or settings.twilio_from_number or ""
    next_opening = settings.calendar.next_opening(call.received_at)
    if agent is None:
        if settings.support_number:
            route = Routing(RouteKind.SUPPORT, caller_id, dial_number=settings.support_number)
        elif call.after_hours:
            route = Routing(RouteKind.AFTER_HOURS_VOICEMAIL, caller_id, next_opening=next_opening)
        else:
            route = Routing(RouteKind.VOICEMAIL, caller_id)
    elif call.after_hours:
        route = Routing(RouteKind.AFTER_HOURS_MENU, caller_id, agent_name=agent.name, next_opening=next_opening)
    else:
        route = Routing(RouteKind.DIAL, caller_id, dial_number=agent.phone, agent_name=agent.name)
    if call.status == CallStatus.RINGING:  # a retried hook finds the call routed already
        with write_transaction(session):
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
    """Record how the ``<Dial>`` ended; anything but an answer sends the caller to voicemail."""
    outcome = dial_outcome(dial_status)
    call = ensure_call(session, settings, call_sid, from_raw, None, now)
    with write_transaction(session):
        move_call(call, outcome)
        agent = session.get(Agent, call.agent_id) if call.agent_id else None
        agent_name = agent.name if agent else None
    return DialOutcome(answered=outcome == CallStatus.ANSWERED, agent_name=agent_name)


def menu_choice(
    session: Session,
    settings: Settings,
    call_sid: str,
    digits: str | None,
    from_raw: str | None,
    now: datetime,
) -> MenuOutcome:
    """The after-hours ``<Gather>`` result. ``1`` = service down: severity 1, page the on-call senior.

    The page is queued here, when the caller presses 1, not when the recording arrives: "critical
    outages do not wait", and a caller who hangs up without leaving a message must still be called
    back. One page per call (outbox key ``page:<CallSid>``), however often Twilio retries the hook.
    Only customers with dedicated support hear the menu; a ``1`` from anyone else is a plain message.
    """
    call = ensure_call(session, settings, call_sid, from_raw, None, now)
    if (digits or "").strip() != "1" or call.agent_id is None:
        return MenuOutcome(critical=False, outbox_ids=[])
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
    return MenuOutcome(critical=True, outbox_ids=ids)
