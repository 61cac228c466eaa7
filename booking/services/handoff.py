"""Warm hand-off (issue 16 item 2): the dedicated agent brings a senior into a live call.

:func:`start` records the hand-off (one per CallSid: a repeated click returns the first) with the
request it opens for the senior team, and queues :data:`EVENT_HANDOFF`; its outbox handler
(:func:`booking.voicemail.outbound.move_to_conference`) moves both legs of the call into a Twilio
``<Conference>`` named after the call and dials the senior into it. The conference's join/leave
callbacks land in :func:`participant_event`, which logs who joined or left on the request, once per
participant and event (keyed request events), and records the first response when the senior joins.

No Flask here.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking.config import Settings
from booking.core.sla import Severity
from booking.db_guards import write_transaction
from booking.models import Agent, Call, Customer
from booking.models_calls import Handoff
from booking.models_requests import RequestEvent
from booking.services import outbox, requests
from booking.services.calls import SENIOR_TEAM, on_call_senior, seniors_on_duty
from booking.services.directory import agent_by_slug
from booking.services.errors import Conflict, NotFound
from booking.services.requests import Actor, RequestIn
from booking.vocabulary import CallStatus, Tier

EVENT_HANDOFF = "call.handoff"


@dataclass(frozen=True)
class HandoffResult:
    handoff: Handoff
    created: bool
    outbox_ids: list[int]


def conference_name(call_sid: str) -> str:
    """The conference a call is moved into: named after the call, so one call has one conference."""
    return f"handoff-{call_sid}"


#: How long a call still ``dialing`` is shown as live on the dashboard (its dial-status hook may be lost).
LIVE_FOR = timedelta(hours=2)


@dataclass(frozen=True)
class LiveCall:
    call: Call
    customer: Customer | None
    handoff: Handoff | None


def live_calls(session: Session, agent: Agent, now: datetime) -> list[LiveCall]:
    """The agent's calls that may be going on now (newest first): what the dashboard offers to hand off."""
    calls = session.scalars(
        select(Call)
        .where(Call.agent_id == agent.id, Call.status == CallStatus.DIALING, Call.received_at > now - LIVE_FOR)
        .order_by(Call.received_at.desc())
        .limit(5)
    )
    return [
        LiveCall(
            call, session.get(Customer, call.customer_id) if call.customer_id else None, by_call(session, call.call_sid)
        )
        for call in calls
    ]


def by_call(session: Session, call_sid: str) -> Handoff | None:
    return session.scalar(select(Handoff).where(Handoff.call_sid == call_sid))


def _senior(session: Session, settings: Settings, slug: str | None, now: datetime) -> Agent:
    """The chosen senior, else the first senior on duty, else the on-call senior."""
    if slug is not None:
        senior = agent_by_slug(session, slug)
        if senior.tier != Tier.SENIOR or not senior.active:
            raise Conflict(f"{slug!r} is not an active senior agent", code="not_senior")
        return senior
    on_duty = seniors_on_duty(session, settings, now)
    found = on_duty[0] if on_duty else on_call_senior(session)
    if found is None:
        raise Conflict("no senior agent is on duty or on call", code="no_senior")
    return found


def start(
    session: Session, settings: Settings, call_sid: str, actor: Actor, senior_slug: str | None, now: datetime
) -> HandoffResult:
    """Hand the live call ``call_sid`` to a senior: a senior-team request, then the conference."""
    call = session.scalar(select(Call).where(Call.call_sid == call_sid))
    # An agent may hand off only their own calls; someone else's answers as if it did not exist.
    if call is None or (actor.kind == "agent" and call.agent_id != actor.agent_id):
        raise NotFound("no such call", code="unknown_call")
    existing = by_call(session, call_sid)
    if existing is not None:
        return HandoffResult(existing, created=False, outbox_ids=[])
    # ``dialing`` is the live state: the dial-status hook (``answered``) only arrives once the call is over.
    if call.status != CallStatus.DIALING or call.agent_id is None:
        raise Conflict("only a live call with the dedicated agent can be handed off", code="not_in_progress")
    agent = session.get(Agent, actor.agent_id if actor.agent_id is not None else call.agent_id)
    assert agent is not None
    senior = _senior(session, settings, senior_slug, now)
    customer = session.get(Customer, call.customer_id) if call.customer_id else None
    who = f"{customer.name} ({call.from_number})" if customer else call.from_number
    try:
        with write_transaction(session):
            request = requests.add_request(
                session,
                settings.calendar,
                RequestIn(
                    channel="phone",
                    received_at=call.received_at,
                    subject=f"Call from {who} handed to a senior by {agent.name}",
                    severity=min(call.severity, int(Severity.HIGH)),
                    customer_id=call.customer_id,
                    agent_id=senior.id,
                    team=SENIOR_TEAM,
                    details={"call_sid": call_sid},
                ),
                actor,
                now,
            )
            handoff = Handoff(
                call_sid=call_sid,
                conference=conference_name(call_sid),
                request_id=request.id,
                agent_id=agent.id,
                senior_id=senior.id,
                created_at=now,
            )
            session.add(handoff)
            session.flush()
            requests.log_event(
                session,
                request,
                "handoff",
                actor,
                now,
                {"agent": agent.slug, "senior": senior.slug, "conference": handoff.conference, "call_sid": call_sid},
            )
            ids = outbox.emit(session, EVENT_HANDOFF, {"handoff_id": handoff.id}, f"handoff:{handoff.id}", now)
    except IntegrityError:  # a double click in another process handed it off first
        existing = by_call(session, call_sid)
        if existing is None:
            raise
        return HandoffResult(existing, created=False, outbox_ids=[])
    return HandoffResult(handoff, created=True, outbox_ids=ids)


def legs_moved(session: Session, handoff_id: int, agent_leg_sid: str | None, senior_leg_sid: str | None) -> None:
    """Remember the legs' CallSids as Twilio hands them out (from the outbox handler)."""
    with write_transaction(session):
        handoff = session.get(Handoff, handoff_id)
        if handoff is None:
            return
        if agent_leg_sid and handoff.agent_leg_sid is None:
            handoff.agent_leg_sid = agent_leg_sid[:64]
        if senior_leg_sid and handoff.senior_leg_sid is None:
            handoff.senior_leg_sid = senior_leg_sid[:64]


def _who(session: Session, handoff: Handoff, label: str, call_sid: str) -> tuple[str, str]:
    """(role, who) of a participant: from its label (``agent:<slug>``), else from the leg's CallSid."""
    role, _, slug = label.partition(":")
    if role in ("agent", "senior") and slug:
        return role, slug
    if label == "customer" or call_sid == handoff.call_sid:
        return "customer", "customer"
    if call_sid and call_sid == handoff.senior_leg_sid:
        return "senior", handoff.senior.slug
    if call_sid and call_sid == handoff.agent_leg_sid:
        return "agent", handoff.agent.slug
    return "unknown", call_sid or "unknown"


def participant_event(
    session: Session, conference: str, status_event: str, call_sid: str, label: str, now: datetime
) -> bool:
    """A conference join/leave: logged on the request once; a senior joining is its first response.

    Returns False when there is nothing to do (another conference, another event, a replay).
    """
    kind = {"participant-join": "joined", "participant-leave": "left"}.get(status_event)
    handoff = session.scalar(select(Handoff).where(Handoff.conference == conference))
    if kind is None or handoff is None:
        return False
    role, who = _who(session, handoff, label, call_sid)
    key = f"handoff:{handoff.id}:{kind}:{call_sid or label}"[:200]
    if session.scalar(select(RequestEvent.id).where(RequestEvent.key == key)) is not None:
        return False
    request_id = handoff.request_id
    try:
        with write_transaction(session):
            request = requests.get_request(session, request_id)
            details = {"role": role, "agent": who, "call_sid": call_sid, "conference": conference}
            requests.log_event(session, request, kind, Actor.system("twilio"), now, details, key=key)
    except IntegrityError:  # the same callback, retried concurrently
        return False
    if kind == "joined" and role == "senior":
        with suppress(Conflict):  # resolved meanwhile
            requests.respond(session, request_id, Actor.system(f"handoff:{who}"), now)
    return True
