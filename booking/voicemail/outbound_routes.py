"""The signed webhooks of the calls the service places or reshapes (issue 16): "Call now" and the
conference of a warm hand-off. Their outbox handlers, and the call flows, are described in
:mod:`booking.voicemail.outbound`.

They share the incoming line's signature check (403 unless Twilio signed BOOKING_PUBLIC_URL + path)
and error handling (:mod:`booking.voicemail.routes`), and are CSRF-exempt like it. Each replays
safely: the services they call key every outcome on the attempt or the participant.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from booking import clock
from booking.extensions import db
from booking.models_calls import CallAttempt
from booking.routes.common import settings
from booking.services import call_now, handoff
from booking.vocabulary import AttemptStatus
from booking.voicemail import routes as line
from booking.voicemail import twiml_calls
from booking.voicemail.outbound import CALL_NOW

bp = Blueprint("twilio_calls", __name__, url_prefix="/twilio")
bp.before_request(line.verify_signature)
bp.register_error_handler(Exception, line.webhook_error)


def _attempt_or_empty(attempt_id: int) -> CallAttempt | None:
    return db.session.get(CallAttempt, attempt_id)


@bp.post("/call-now/<int(max=2147483647):attempt_id>/connect")
def connect(attempt_id: int) -> Response:
    """The agent picked up: dial the customer with the service's number as caller ID."""
    attempt = _attempt_or_empty(attempt_id)
    if attempt is None:
        return line._xml(twiml_calls.call_ended(answered=True))
    cfg = settings()
    request_ = attempt.request
    who = request_.customer.name if request_.customer else attempt.customer_phone
    base = f"{(cfg.public_url or '').rstrip('/')}{CALL_NOW}/{attempt.id}"
    document = twiml_calls.connect_customer(
        attempt.customer_phone,
        cfg.twilio_from_number or "",
        f"{base}/dialed",
        f"{base}/customer-status",
        who,
    )
    return line._xml(document)


@bp.post("/call-now/<int(max=2147483647):attempt_id>/customer-status")
def customer_status(attempt_id: int) -> Response:
    """The customer's leg: ``in-progress``/``answered`` is the first response; a miss is logged."""
    status = (request.form.get("CallStatus") or "").strip().lower()
    if _attempt_or_empty(attempt_id) is None:
        return line._empty()
    if status in ("in-progress", "answered"):
        call_now.connected(db.session, attempt_id, clock.now())
    elif status in call_now.MISSED:
        call_now.failed(db.session, attempt_id, status, clock.now())
    return line._empty()


@bp.post("/call-now/<int(max=2147483647):attempt_id>/dialed")
def dialed(attempt_id: int) -> Response:
    """The ``<Dial>`` of the customer ended: hang up the agent; a missed dial is a failed attempt."""
    status = (request.form.get("DialCallStatus") or "").strip().lower()
    answered = status in ("completed", "answered")
    if not answered and _attempt_or_empty(attempt_id) is not None:
        call_now.failed(db.session, attempt_id, status if status in call_now.MISSED else "failed", clock.now())
    return line._xml(twiml_calls.call_ended(answered))


@bp.post("/call-now/<int(max=2147483647):attempt_id>/agent-status")
def agent_status(attempt_id: int) -> Response:
    """The agent's own leg: one that never picked up (busy, no answer) fails the attempt."""
    status = (request.form.get("CallStatus") or "").strip().lower()
    attempt = _attempt_or_empty(attempt_id)
    if attempt is not None and status in call_now.MISSED and attempt.status == AttemptStatus.CALLING:
        call_now.failed(db.session, attempt_id, status, clock.now(), leg="agent")
    return line._empty()


@bp.post("/conference/status")
def conference_status() -> Response:
    """A hand-off conference's join/leave: who came and went is logged on the request."""
    form = request.form
    handoff.participant_event(
        db.session,
        (form.get("FriendlyName") or "")[:100],
        form.get("StatusCallbackEvent") or "",
        (form.get("CallSid") or "")[:64],
        (form.get("ParticipantLabel") or "")[:100],
        clock.now(),
    )
    return line._empty()
