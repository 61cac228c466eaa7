"""Click to call back (issue 16 item 3): "Call now" on a phone request rings the agent, then the customer.

A press writes a ``call_attempts`` row (unique per request and attempt number) and queues the
outbox event :data:`EVENT_CALL_NOW` in the same transaction; the handler
(:func:`booking.voicemail.outbound.place_call`) asks Twilio after the commit, so the press is fast and
a replayed press, a double click or an outbox retry places no second call for the same attempt. The
page sends the attempt number it showed ("attempt 2"); the API may leave it out, and then a press
while the last attempt is still ringing returns that attempt.

The webhooks of the call move the attempt on (:func:`connected`, :func:`failed`): the customer
answering is the request's first response (``requests.respond``, which marks the callback done and
releases the reservation through the callback service, the one owner of reservations); a busy,
unanswered or failed attempt is logged on the request and the reservation stays. Each outcome is a
request event keyed on the attempt, so a replayed webhook changes nothing.

No Flask here.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking.db_guards import write_transaction
from booking.models import Agent
from booking.models_calls import CallAttempt
from booking.models_requests import RequestEvent, SupportRequest
from booking.services import outbox, requests
from booking.services.errors import Conflict, InvalidInput, NotFound
from booking.services.requests import Actor
from booking.vocabulary import AttemptStatus
from booking.voicemail.phone import normalize_e164

EVENT_CALL_NOW = "request.call_now"

#: An attempt still "ringing" after this long lost its webhooks: a new press may start another one.
STALE_AFTER = timedelta(minutes=10)
#: Twilio's words for a leg that ended without a conversation.
MISSED = frozenset({"busy", "no-answer", "failed", "canceled"})
_ACTIVE = (AttemptStatus.QUEUED, AttemptStatus.CALLING)


@dataclass(frozen=True)
class Press:
    attempt: CallAttempt
    created: bool  # False: this press was a replay of (or a click during) an attempt already made
    outbox_ids: list[int]


def attempts_of(session: Session, request_id: int) -> list[CallAttempt]:
    return list(
        session.scalars(select(CallAttempt).where(CallAttempt.request_id == request_id).order_by(CallAttempt.attempt))
    )


def next_attempt(session: Session, request_id: int) -> int:
    """The number the next press will carry (what the page puts in its form)."""
    attempts = attempts_of(session, request_id)
    return attempts[-1].attempt + 1 if attempts else 1


def _caller(session: Session, request: SupportRequest, actor: Actor) -> Agent:
    """Whose phone rings first: the signed-in agent, or for the bearer admin the request's agent."""
    agent_id = actor.agent_id if actor.agent_id is not None else request.agent_id
    agent = session.get(Agent, agent_id) if agent_id is not None else None
    if agent is None or not agent.active:
        raise Conflict("nobody to place the call: the request has no active agent", code="no_agent")
    if normalize_e164(agent.phone) is None:
        raise Conflict(f"the agent's phone {agent.phone!r} is not a callable number", code="no_agent_phone")
    return agent


def _customer_phone(request: SupportRequest) -> str:
    if request.channel != "phone" or request.callback is None:
        raise Conflict("only a phone request has a number to call back", code="not_a_phone_request")
    number = normalize_e164(request.callback.phone)
    if number is None:
        raise Conflict(f"the caller's number {request.callback.phone!r} cannot be called", code="no_number")
    return number


def press(session: Session, request_id: int, actor: Actor, attempt_no: int | None, now: datetime) -> Press:
    """Record one press of "Call now" and queue the outbound call (idempotent per attempt number)."""
    request = requests.get_request(session, request_id)
    requests.check_actor(session, request, actor)
    if request.status == "resolved":
        raise Conflict("this request is resolved", code="resolved")
    number = _customer_phone(request)
    agent = _caller(session, request, actor)
    if attempt_no is not None and attempt_no < 1:
        raise InvalidInput("attempt must be 1 or more", code="bad_attempt")
    try:
        with write_transaction(session):
            attempts = attempts_of(session, request_id)
            last = attempts[-1] if attempts else None
            if attempt_no is not None and attempt_no <= len(attempts):
                return Press(attempts[attempt_no - 1], created=False, outbox_ids=[])
            active = last is not None and last.status in _ACTIVE and now - last.updated_at < STALE_AFTER
            if attempt_no is None and active:
                assert last is not None
                return Press(last, created=False, outbox_ids=[])
            expected = (last.attempt if last else 0) + 1
            if attempt_no is not None and attempt_no != expected:
                raise Conflict(f"the next attempt is {expected}, not {attempt_no}", code="stale_attempt")
            if active:
                raise Conflict("a call for this request is ringing already", code="call_in_progress")
            attempt = CallAttempt(
                request_id=request_id,
                attempt=expected,
                agent_id=agent.id,
                agent_phone=agent.phone,
                customer_phone=number,
                status=AttemptStatus.QUEUED,
                created_at=now,
                updated_at=now,
            )
            session.add(attempt)
            session.flush()
            ids = outbox.emit(session, EVENT_CALL_NOW, {"attempt_id": attempt.id}, f"call-attempt:{attempt.id}", now)
    except IntegrityError:  # a double click in another process inserted this attempt number first
        attempts = attempts_of(session, request_id)
        if not attempts:
            raise
        return Press(attempts[-1], created=False, outbox_ids=[])
    return Press(attempt, created=True, outbox_ids=ids)


def get_attempt(session: Session, attempt_id: int) -> CallAttempt:
    attempt = session.get(CallAttempt, attempt_id)
    if attempt is None:
        raise NotFound("no such call attempt", code="unknown_attempt")
    return attempt


def _logged(session: Session, key: str) -> bool:
    return session.scalar(select(RequestEvent.id).where(RequestEvent.key == key)) is not None


def dialling(session: Session, attempt_id: int, call_sid: str, now: datetime) -> None:
    """Twilio accepted the call: the agent's phone rings (called from the outbox handler)."""
    with write_transaction(session):
        attempt = get_attempt(session, attempt_id)
        if attempt.status == AttemptStatus.QUEUED:
            attempt.status = AttemptStatus.CALLING
            attempt.call_sid = call_sid[:64]
            attempt.updated_at = now


def connected(session: Session, attempt_id: int, now: datetime) -> bool:
    """The customer answered: log it once and record the request's first response (callback done,
    reservation released). Returns False for a replayed webhook."""
    key = f"call-attempt:{attempt_id}:outcome"
    if _logged(session, key):
        return False
    try:
        _log_outcome(session, attempt_id, AttemptStatus.CONNECTED, "in-progress", {"outcome": "answered"}, key, now)
    except IntegrityError:  # the same webhook, retried concurrently, logged it first
        return False
    attempt = get_attempt(session, attempt_id)
    with suppress(Conflict):  # resolved meanwhile without a response: the call is logged, nothing to record
        requests.respond(session, attempt.request_id, Actor.system(f"call-now:{attempt.agent.slug}"), now)
    return True


def failed(session: Session, attempt_id: int, outcome: str, now: datetime, *, leg: str = "customer") -> bool:
    """The attempt ended without a conversation: logged on the request once; the reservation stays."""
    key = f"call-attempt:{attempt_id}:outcome"
    if _logged(session, key):
        return False
    try:
        _log_outcome(
            session, attempt_id, AttemptStatus.FAILED, outcome, {"outcome": outcome[:32], "leg": leg}, key, now
        )
    except IntegrityError:
        return False
    return True


def _log_outcome(
    session: Session,
    attempt_id: int,
    status: AttemptStatus,
    outcome: str,
    details: dict[str, str],
    key: str,
    now: datetime,
) -> None:
    """Move the attempt to its final state and log it on the request, once (the event key is unique)."""
    with write_transaction(session):
        attempt = get_attempt(session, attempt_id)
        request = requests.get_request(session, attempt.request_id)
        attempt.status = status
        attempt.outcome = outcome[:32]
        attempt.updated_at = now
        requests.log_event(
            session,
            request,
            "called",
            Actor.system("twilio"),
            now,
            {"attempt": attempt.attempt, "agent": attempt.agent.slug, **details},
            key=key,
        )
