"""The SLA queue (issue 13): every contact awaiting an answer is a request, whatever its channel.

One entry point for every channel (:func:`open_request`, or :func:`add_request` inside a channel's
own transaction, as the voicemail hook does), and one function per thing people do to a request:
respond (the first response is recorded once), resolve, escalate to the senior team, take (a senior
picks it up), assign (an admin sets customer / agent / severity; due times follow the severity).
Every change appends a row to ``request_events``: the log is the request's history and the SLA
report's source.

The breach scan (:func:`scan_breaches`, run every minute by the worker) warns the owner once
15 minutes before a first response is due and once when it is missed; each is an event keyed on the
request and its due time (unique in the database) and an outbox event with the same key, so two
workers scanning at once, or a scan repeated every minute, tell the owner once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from booking.config import Settings
from booking.core.business_time import BusinessCalendar
from booking.core.intervals import to_utc
from booking.core.sla import CHANNELS, Severity, targets, warning_at
from booking.db_guards import write_transaction
from booking.models import Agent, Booking, Callback, Customer
from booking.models_requests import TEAMS, RequestEvent, SupportRequest
from booking.services import outbox
from booking.services.calls import dedicated_agent
from booking.services.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from booking.vocabulary import BookingStatus, CallbackStatus

EVENT_DUE_SOON = "request.due_soon"
EVENT_BREACHED = "request.breached"
EVENT_ESCALATED = "request.escalated"
EVENT_TRIAGE = "request.triage"

STATUS_FILTERS = ("open", "responded", "resolved", "all")
SCAN_LIMIT = 200


@dataclass(frozen=True)
class Actor:
    """Who acts: an admin (bearer token), a signed-in agent, or the service itself (a channel, the scan).

    An agent may act on requests they own, a senior agent on every request of the senior team, and
    an agent with the ``admin`` flag on every request (acting as ``admin:<slug>`` in the event log).
    """

    kind: str  # "admin" | "agent" | "system"
    label: str
    agent_id: int | None = None

    @classmethod
    def admin(cls) -> Actor:
        return cls("admin", "admin")

    @classmethod
    def system(cls, label: str) -> Actor:
        return cls("system", label)

    @classmethod
    def for_agent(cls, agent: Agent) -> Actor:
        if agent.admin:
            return cls("admin", f"admin:{agent.slug}", agent.id)
        return cls("agent", f"agent:{agent.slug}", agent.id)


@dataclass(frozen=True)
class RequestIn:
    """What a channel knows about a new contact. ``team`` is derived when not given (see :func:`team_for`)."""

    channel: str
    received_at: datetime
    subject: str
    severity: int = int(Severity.STANDARD)
    customer_id: int | None = None
    agent_id: int | None = None
    team: str | None = None
    notes: str | None = None
    callback_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Changes:
    """A PATCH: only the fields that were sent (``customer_id=None`` sent on purpose is not expressible)."""

    customer_id: int | None = None
    agent_slug: str | None = None
    severity: int | None = None


def team_for(customer: Customer | None, agent: Agent | None) -> str:
    """``triage`` without a customer or an agent (visible to every admin, never dropped);
    ``senior`` when the owner is a senior agent (a critical call the on-call senior took);
    ``dedicated`` otherwise."""
    if customer is None or agent is None:
        return "triage"
    return "senior" if agent.tier == "senior" else "dedicated"


def log_event(
    session: Session,
    request: SupportRequest,
    kind: str,
    actor: Actor,
    now: datetime,
    details: dict[str, Any] | None = None,
    key: str | None = None,
) -> RequestEvent:
    """Append one row to the request's log (inside the caller's transaction); rows are never changed."""
    event = RequestEvent(request_id=request.id, kind=kind, actor=actor.label, at=now, details=details or {}, key=key)
    session.add(event)
    session.flush()
    return event


def _iso(moment: datetime | None) -> str | None:
    return to_utc(moment).isoformat() if moment is not None else None


# --------------------------------------------------------------------------------------------------
# Opening
# --------------------------------------------------------------------------------------------------


def add_request(
    session: Session, calendar: BusinessCalendar, data: RequestIn, actor: Actor, now: datetime
) -> SupportRequest:
    """Insert a request and its ``created`` event inside the caller's transaction."""
    if data.channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {data.channel!r}", code="bad_channel")
    try:
        severity = Severity(data.severity)
    except ValueError as exc:
        raise InvalidInput("severity must be 1-5", code="bad_severity") from exc
    customer = session.get(Customer, data.customer_id) if data.customer_id is not None else None
    agent = session.get(Agent, data.agent_id) if data.agent_id is not None else None
    team = data.team or team_for(customer, agent)
    if team not in TEAMS:
        raise InvalidInput(f"unknown team {team!r}", code="bad_team")
    due = targets(severity, data.received_at, calendar, data.channel)
    request = SupportRequest(
        channel=data.channel,
        customer_id=customer.id if customer else None,
        team=team,
        agent_id=agent.id if agent else None,
        severity=int(severity),
        subject=(" ".join(data.subject.split()) or f"{data.channel} request")[:300],
        notes=data.notes,
        received_at=to_utc(data.received_at),
        first_response_due_at=due.first_response_due,
        follow_up_due_at=due.follow_up_due,
        status="open",
        callback_id=data.callback_id,
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    session.flush()
    log_event(
        session,
        request,
        "created",
        actor,
        now,
        {
            "channel": data.channel,
            "team": team,
            "severity": int(severity),
            "first_response_due_at": _iso(due.first_response_due),
            "follow_up_due_at": _iso(due.follow_up_due),
            **data.details,
        },
    )
    return request


def triage_alert(session: Session, request: SupportRequest, now: datetime) -> list[int]:
    """A request nobody could be matched to is announced once (``BOOKING_TRIAGE_EMAIL``), so it is never
    left unseen; other teams' requests have an owner who finds them in their queue."""
    if request.team != "triage":
        return []
    return outbox.emit(session, EVENT_TRIAGE, {"request_id": request.id}, f"request:{request.id}:triage", now)


def open_request(
    session: Session, calendar: BusinessCalendar, data: RequestIn, actor: Actor, now: datetime
) -> tuple[SupportRequest, list[int]]:
    """The one entry point a channel calls on its own: opens a request in its own transaction.

    Returns the outbox ids to drain after the commit (the triage announcement).
    """
    with write_transaction(session):
        request = add_request(session, calendar, data, actor, now)
        ids = triage_alert(session, request, now)
    return request, ids


def open_for_callback(
    session: Session,
    calendar: BusinessCalendar,
    callback: Callback,
    received_at: datetime,
    now: datetime,
    team: str | None = None,
) -> tuple[SupportRequest, list[int]]:
    """A queued callback's phone request (inside the voicemail transaction).

    The callback's own due time stays the first-response due time, so the queue and the callback
    list tell one story; an unknown caller's voicemail goes to triage. ``team`` is set when the call
    itself decided it (a press-2 voicemail belongs to the senior team whoever is assigned); otherwise
    it follows from the owner (:func:`team_for`). Returns the outbox ids too.
    """
    customer = session.get(Customer, callback.customer_id) if callback.customer_id else None
    who = f"{customer.name} ({callback.phone})" if customer else callback.phone
    request = add_request(
        session,
        calendar,
        RequestIn(
            channel="phone",
            received_at=received_at,
            subject=f"Voicemail from {who}",
            severity=callback.severity,
            customer_id=callback.customer_id,
            agent_id=callback.agent_id,
            callback_id=callback.id,
            team=team,
            details={"callback_id": callback.id},
        ),
        Actor.system("twilio"),
        now,
    )
    request.first_response_due_at = to_utc(callback.due_at)
    return request, triage_alert(session, request, now)


def callback_completed(session: Session, callback: Callback, now: datetime) -> None:
    """A callback marked done is the phone request's first response (inside the caller's transaction)."""
    request = session.scalar(select(SupportRequest).where(SupportRequest.callback_id == callback.id))
    if request is not None and request.first_response_at is None:
        _record_response(session, request, Actor.system(f"callback:{callback.id}"), now)


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


def list_requests(
    session: Session,
    *,
    status: str = "open",
    agent_slug: str | None = None,
    team: str | None = None,
    channel: str | None = None,
    customer_id: int | None = None,
) -> list[SupportRequest]:
    """The queue, soonest first-response due first."""
    if status not in STATUS_FILTERS:
        raise InvalidInput(f"status must be one of {', '.join(STATUS_FILTERS)}", code="bad_status")
    query = (
        select(SupportRequest)
        .options(joinedload(SupportRequest.customer), joinedload(SupportRequest.agent))
        .order_by(SupportRequest.first_response_due_at, SupportRequest.id)
    )
    if status != "all":
        query = query.where(SupportRequest.status == status)
    if agent_slug is not None:
        query = query.join(Agent, SupportRequest.agent_id == Agent.id).where(Agent.slug == agent_slug)
    if team is not None:
        query = query.where(SupportRequest.team == team)
    if channel is not None:
        query = query.where(SupportRequest.channel == channel)
    if customer_id is not None:
        query = query.where(SupportRequest.customer_id == customer_id)
    return list(session.scalars(query).unique())


#: what an admin may look at besides their own queue
SCOPES = ("mine", "all", "triage")


def queue_for(
    session: Session, agent: Agent, *, status: str = "open", channel: str | None = None, scope: str = "mine"
) -> list[SupportRequest]:
    """An agent's queue: the requests they own, and for a senior the whole senior queue.

    A senior's line of work (issue 16) is every request of the senior team, whoever it is assigned
    to: escalations nobody took yet, and press-2 voicemails, which the voicemail service assigns to
    the on-call senior but any senior on duty may call back (each may act on them, ``_check_actor``).

    Filtered at the database on the owner, like the dashboard, so a template slip cannot show
    another agent's requests. An admin may ask for ``scope="all"`` (every agent's requests) or
    ``scope="triage"`` (what no customer could be matched to); anyone else asking gets Forbidden.
    """
    if status not in STATUS_FILTERS:
        raise InvalidInput(f"status must be one of {', '.join(STATUS_FILTERS)}", code="bad_status")
    if channel is not None and channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}", code="bad_channel")
    if scope not in SCOPES:
        raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}", code="bad_scope")
    if scope != "mine" and not agent.admin:
        raise Forbidden("only an admin sees other agents' queues", code="not_admin")
    mine = SupportRequest.agent_id == agent.id
    if agent.tier == "senior":
        mine = mine | (SupportRequest.team == "senior")
    owner = {"mine": mine, "all": true(), "triage": SupportRequest.team == "triage"}[scope]
    query = (
        select(SupportRequest)
        .options(
            joinedload(SupportRequest.customer), joinedload(SupportRequest.callback), joinedload(SupportRequest.agent)
        )
        .where(owner)
        .order_by(SupportRequest.first_response_due_at, SupportRequest.id)
        .limit(200)
    )
    if status != "all":
        query = query.where(SupportRequest.status == status)
    if channel is not None:
        query = query.where(SupportRequest.channel == channel)
    return list(session.scalars(query).unique())


def owned_request(session: Session, agent: Agent, request_id: int) -> SupportRequest:
    """The request if the agent may act on it; NotFound otherwise (ids of others cannot be probed)."""
    request = session.get(SupportRequest, request_id)
    if request is None:
        raise NotFound("no such request", code="unknown_request")
    try:
        _check_actor(session, request, Actor.for_agent(agent))
    except Forbidden:
        raise NotFound("no such request", code="unknown_request") from None
    return request


def get_request(session: Session, request_id: int) -> SupportRequest:
    request = session.get(SupportRequest, request_id)
    if request is None:
        raise NotFound("no such request", code="unknown_request")
    return request


def events_of(session: Session, request_id: int) -> list[RequestEvent]:
    return list(
        session.scalars(select(RequestEvent).where(RequestEvent.request_id == request_id).order_by(RequestEvent.id))
    )


def locked_request(session: Session, request_id: int) -> SupportRequest:
    """Re-read inside the write transaction, row-locked on PostgreSQL (two admins clicking at once)."""
    stmt = select(SupportRequest).where(SupportRequest.id == request_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    request = session.scalar(stmt)
    if request is None:
        raise NotFound("no such request", code="unknown_request")
    return request


def check_actor(session: Session, request: SupportRequest, actor: Actor) -> None:
    """Forbidden unless ``actor`` may act on ``request`` (for use cases built on a request elsewhere)."""
    _check_actor(session, request, actor)


def _check_actor(session: Session, request: SupportRequest, actor: Actor) -> None:
    if actor.kind != "agent":
        return
    if request.agent_id is not None and request.agent_id == actor.agent_id:
        return
    agent = session.get(Agent, actor.agent_id) if actor.agent_id is not None else None
    if agent is not None and agent.tier == "senior" and request.team == "senior":
        return
    raise Forbidden("this request belongs to someone else", code="not_yours")


# --------------------------------------------------------------------------------------------------
# Acting
# --------------------------------------------------------------------------------------------------


def _record_response(session: Session, request: SupportRequest, actor: Actor, now: datetime) -> None:
    request.first_response_at = now
    if request.status == "open":
        request.status = "responded"
    request.updated_at = now
    log_event(
        session,
        request,
        "responded",
        actor,
        now,
        {"first_response_due_at": _iso(request.first_response_due_at), "in_time": now <= request.first_response_due_at},
    )


def respond(session: Session, request_id: int, actor: Actor, now: datetime) -> tuple[SupportRequest, list[int]]:
    """Record the first response; a repeat keeps the first time (and logs nothing).

    Answering a phone request *is* the callback: its still-pending callback is marked done too
    (``callbacks.complete``, which releases a reservation still ahead), so the dashboard and the
    overdue reminder do not chase a call already made. That runs in the callback service's own
    transaction after this one; a repeat completes a callback a failure left pending.
    """
    with write_transaction(session):
        request = locked_request(session, request_id)
        _check_actor(session, request, actor)
        if request.first_response_at is None:
            if request.status == "resolved":
                raise Conflict("this request is resolved", code="resolved")
            _record_response(session, request, actor, now)
        callback_id = request.callback_id
        pending = callback_id is not None and request.callback is not None and request.callback.status == "pending"
    ids: list[int] = []
    if pending and callback_id is not None:
        from booking.services import callbacks  # callbacks opens phone requests: import here, not at the top

        _, ids = callbacks.complete(session, callback_id, now)
    return request, ids


def resolve(session: Session, request_id: int, actor: Actor, now: datetime) -> SupportRequest:
    """Close the request (idempotent). An unanswered request closed stays counted as unanswered."""
    with write_transaction(session):
        request = locked_request(session, request_id)
        _check_actor(session, request, actor)
        if request.status != "resolved":
            request.status = "resolved"
            request.resolved_at = now
            request.updated_at = now
            log_event(session, request, "resolved", actor, now)
    return request


def escalate(
    session: Session, request_id: int, note: str | None, actor: Actor, now: datetime
) -> tuple[SupportRequest, list[int]]:
    """Hand the request to the senior team: customer, notes and due times stay as they are.

    The request waits for a senior to :func:`take` it (no agent until then); severity 1-2 pages the
    on-call senior at once (the ``request.escalated`` outbox event). Escalating a request the senior
    team already owns changes nothing.
    """
    with write_transaction(session):
        request = locked_request(session, request_id)
        _check_actor(session, request, actor)
        if request.status == "resolved":
            raise Conflict("this request is resolved", code="resolved")
        if request.team == "senior":
            return request, []
        previous = {"team": request.team, "agent": request.agent.slug if request.agent else None}
        request.team = "senior"
        request.agent_id = None
        if note:
            stamp = f"Escalated by {actor.label}: {note}"
            request.notes = f"{request.notes}\n\n{stamp}" if request.notes else stamp
        request.updated_at = now
        event = log_event(
            session, request, "escalated", actor, now, {"note": note, "from": previous, "severity": request.severity}
        )
        ids = outbox.emit(
            session,
            EVENT_ESCALATED,
            {"request_id": request.id, "page": Severity(request.severity).wall_clock},
            f"request:{request.id}:escalated:{event.id}",
            now,
        )
    return request, ids


def take(session: Session, request_id: int, agent: Agent, actor: Actor, now: datetime) -> SupportRequest:
    """A senior agent takes a senior-team request (409 for anyone else or another team's request)."""
    if agent.tier != "senior" or not agent.active:
        raise Conflict("only an active senior agent takes escalated requests", code="not_senior")
    with write_transaction(session):
        request = locked_request(session, request_id)
        if request.team != "senior":
            raise Conflict("only requests of the senior team are taken; escalate it first", code="not_escalated")
        if request.status == "resolved":
            raise Conflict("this request is resolved", code="resolved")
        if request.agent_id != agent.id:
            previous = request.agent.slug if request.agent else None
            request.agent_id = agent.id
            request.updated_at = now
            log_event(session, request, "taken", actor, now, {"agent": agent.slug, "from": previous})
    return request


def assign(
    session: Session, settings: Settings, request_id: int, changes: Changes, actor: Actor, now: datetime
) -> tuple[SupportRequest, list[int]]:
    """Set customer / agent / severity (an admin's triage). Due times follow a new severity.

    A customer without an agent given gets their dedicated agent; a triage request that now has both
    a customer and an agent leaves triage. A severity change recomputes both due times from when the
    request arrived (``core.sla.targets``) and logs a ``moved`` event with the old and new times.
    """
    from booking.services import schedule

    calendar = settings.calendar
    with write_transaction(session):
        # The lock order of every use case that touches busy time: the agent first (as a booking does,
        # which then touches the request), then the request. A new owner frees the old owner's reserved
        # time, so that agent is locked before the request row and before any write.
        reserved_agent_id = None
        if changes.customer_id is not None or changes.agent_slug is not None:
            reserved_agent_id = _reserved_agent_id(session, request_id)
        if reserved_agent_id is not None:
            schedule.lock_agent(session, reserved_agent_id)
        request = locked_request(session, request_id)
        if request.status == "resolved":
            raise Conflict("this request is resolved", code="resolved")
        done: dict[str, Any] = {}
        customer = request.customer
        if changes.customer_id is not None and changes.customer_id != request.customer_id:
            customer = session.get(Customer, changes.customer_id)
            if customer is None:
                raise NotFound("no such customer", code="unknown_customer")
            request.customer_id = customer.id
            done["customer"] = customer.id
        agent = request.agent
        if changes.agent_slug is not None:
            agent = session.scalar(select(Agent).where(Agent.slug == changes.agent_slug))
            if agent is None or not agent.active:
                raise NotFound("no such active agent", code="unknown_agent")
        elif "customer" in done and customer is not None:
            agent = dedicated_agent(session, customer) or agent
        if agent is not None and agent.id != request.agent_id:
            request.agent_id = agent.id
            done["agent"] = agent.slug
        if request.team == "triage" and customer is not None and agent is not None:
            request.team = team_for(customer, agent)
            done["team"] = request.team
        moved = {"customer", "agent"} & set(done)
        queued = _callback_owner_follows(session, request, reserved_agent_id, now) if moved else []
        if changes.severity is not None and changes.severity != request.severity:
            try:
                severity = Severity(changes.severity)
            except ValueError as exc:
                raise InvalidInput("severity must be 1-5", code="bad_severity") from exc
            before = (request.first_response_due_at, request.follow_up_due_at)
            due = targets(severity, request.received_at, calendar, request.channel)
            done["severity"] = int(severity)
            request.severity = int(severity)
            request.first_response_due_at = due.first_response_due
            request.follow_up_due_at = due.follow_up_due
            log_event(
                session,
                request,
                "moved",
                actor,
                now,
                {
                    "severity": int(severity),
                    "first_response_due_at": {"from": _iso(before[0]), "to": _iso(due.first_response_due)},
                    "follow_up_due_at": {"from": _iso(before[1]), "to": _iso(due.follow_up_due)},
                },
            )
        if done:
            request.updated_at = now
            log_event(session, request, "assigned", actor, now, done)
    ids = _callback_follows(session, settings, request, now) if "severity" in done else []
    return request, [*queued, *ids]


def _reserved_agent_id(session: Session, request_id: int) -> int | None:
    """The agent holding a confirmed reservation for the request's pending callback, if any: the agent
    a reassignment may have to lock (read before any lock, so it can be locked first)."""
    return session.scalar(
        select(Booking.agent_id)
        .join(Callback, Callback.booking_id == Booking.id)
        .join(SupportRequest, SupportRequest.callback_id == Callback.id)
        .where(
            SupportRequest.id == request_id,
            Callback.status == CallbackStatus.PENDING,
            Booking.status == BookingStatus.CONFIRMED,
        )
    )


def _callback_owner_follows(
    session: Session, request: SupportRequest, locked_agent_id: int | None, now: datetime
) -> list[int]:
    """A phone request's callback belongs to whoever the request now belongs to (inside assign's
    transaction): the agent's dashboard lists it, and the agent is told once, by SMS and e-mail, as
    if the voicemail had been theirs from the start (a triage voicemail told nobody).

    ``locked_agent_id``: the reservation's agent, locked by :func:`assign` first in its transaction.
    A reservation that changed hands between that read and the lock (a concurrent move) is a
    conflict to retry, never a cancellation in an agent's schedule without their lock.
    """
    from booking.services import schedule
    from booking.services.callbacks import EVENT_CALLBACK_QUEUED

    callback = request.callback
    if callback is None or callback.status != "pending":
        return []
    reserved = callback.booking
    if reserved is not None and reserved.status == "confirmed" and reserved.agent_id != locked_agent_id:
        raise Conflict("the callback's reservation changed meanwhile; please try again", code="retry")
    callback.customer_id = request.customer_id
    callback.agent_id = request.agent_id
    ids: list[int] = []
    if reserved is not None and reserved.status == "confirmed" and reserved.agent_id != callback.agent_id:
        # The old owner's reserved time is freed (and leaves their calendar); the new owner reserves
        # when they move the callback. Never a reservation in one agent's schedule for another's call.
        ids += schedule.cancel(session, reserved, now)
    if callback.agent_id is None:
        return ids
    key = f"callback:{callback.id}:agent:{callback.agent_id}"  # told once per owner
    return ids + outbox.emit(session, EVENT_CALLBACK_QUEUED, {"callback_id": callback.id}, key, now)


def _callback_follows(session: Session, settings: Settings, request: SupportRequest, now: datetime) -> list[int]:
    """A phone request's pending callback takes its new severity and due time (one story on every page).

    The reservation moves with it through ``callbacks.move`` (its own transaction, the schedule's
    rules); when no time is free after the new due time the due time still changes and the
    reservation stays where it was (the queue page then says the reserved time is later).
    """
    from booking.services import callbacks  # callbacks opens phone requests: import here, not at the top

    callback_id = request.callback_id
    callback = session.get(Callback, callback_id) if callback_id is not None else None
    if callback is None or callback.status != "pending":
        return []
    due = to_utc(request.first_response_due_at)
    with write_transaction(session):
        callback = session.get(Callback, callback.id, populate_existing=True)
        assert callback is not None
        callback.severity = request.severity
    try:
        _, ids = callbacks.move(session, settings, callback.id, max(due, now), now)
    except ServiceError:
        with write_transaction(session):
            callback = session.get(Callback, request.callback_id, populate_existing=True)
            if callback is not None and callback.status == "pending":
                callback.due_at = due
        return []
    return ids


# --------------------------------------------------------------------------------------------------
# The breach scan
# --------------------------------------------------------------------------------------------------


def _once(session: Session, request: SupportRequest, kind: str, key: str, now: datetime) -> bool:
    """Log a keyed event unless it is already there (a concurrent scan's duplicate is dropped)."""
    if session.scalar(select(exists().where(RequestEvent.key == key))):
        return False
    try:
        with session.begin_nested():
            log_event(
                session,
                request,
                kind,
                Actor.system("breach-scan"),
                now,
                {"first_response_due_at": _iso(request.first_response_due_at), "severity": request.severity},
                key=key,
            )
    except IntegrityError:
        return False
    return True


def scan_breaches(session: Session, now: datetime, limit: int = SCAN_LIMIT) -> list[int]:
    """Warn owners once at T-15 min and once at breach; returns the outbox ids to drain.

    A request first seen after its due time gets the breach only (a warning then would be a lie).
    Keys carry the due time, so a request whose due time an admin moved is watched afresh.
    """
    horizon = now + timedelta(minutes=15)
    ids: list[int] = []
    with write_transaction(session):
        query = (
            select(SupportRequest)
            .where(
                SupportRequest.status == "open",
                SupportRequest.first_response_at.is_(None),
                SupportRequest.first_response_due_at <= horizon,
                # Already told it is breached at its current due time: skip it, so a backlog of old
                # breaches never crowds newer requests out of the batch. A breach is only logged after
                # the due time, so "logged after the due time" means "about this due time"; a due time
                # moved later than that event is watched afresh. (Not ``updated_at``: an escalation or
                # a note after the breach would put the request back into every scan.)
                ~exists().where(
                    RequestEvent.request_id == SupportRequest.id,
                    RequestEvent.kind == "breached",
                    RequestEvent.at > SupportRequest.first_response_due_at,
                ),
            )
            .order_by(SupportRequest.first_response_due_at, SupportRequest.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        for request in session.scalars(query):
            due = to_utc(request.first_response_due_at)
            if now > due:
                kind, event = "breached", EVENT_BREACHED
            elif now >= warning_at(due):
                kind, event = "warned", EVENT_DUE_SOON
            else:  # pragma: no cover - the query's horizon is the warning lead
                continue
            key = f"request:{request.id}:{kind}:{due.isoformat()}"
            if _once(session, request, kind, key, now):
                ids += outbox.emit(session, event, {"request_id": request.id, "due_at": due.isoformat()}, key, now)
    return ids
