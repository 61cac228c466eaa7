"""Twilio webhooks: the phone line's TwiML and the recording callback.

Every request must carry a valid ``X-Twilio-Signature`` for ``BOOKING_PUBLIC_URL`` + path (the
URL Twilio was configured with, not the one a reverse proxy hands us); anything else, and every
request while ``TWILIO_AUTH_TOKEN`` is unset, gets 403. The hooks are CSRF-exempt (Twilio has no
session cookie; the signature is the authentication) and log the CallSid, so one call can be
followed through the logs.

Failures never become an HTML 500: a caller hears an apology and a clean hang-up instead of
Twilio's "an application error has occurred". Side effects (SMS pages, e-mails, calendar pushes)
sit in the outbox and are drained after the response has been sent, so a slow Twilio or SMTP server
never keeps a caller waiting in silence; the scheduler retries whatever fails.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from booking import clock
from booking.db_faults import handle_database_unavailable, is_database_unavailable
from booking.extensions import db
from booking.routes.common import external_url, settings
from booking.routes.errors import has_nul_byte
from booking.security import allowed_media_url
from booking.services import calls, handoff
from booking.services.callbacks import RecordingIn, store_voicemail
from booking.vocabulary import RouteKind
from booking.voicemail import (
    notify,  # noqa: F401 - registers the outbox handlers
    twiml,
    twiml_calls,
)
from booking.voicemail.signature import SIGNATURE_HEADER, expected_url, is_valid_twilio_request

log = logging.getLogger(__name__)

bp = Blueprint("twilio", __name__, url_prefix="/twilio")

VOICE = "/twilio/voice"
DIAL_STATUS = "/twilio/voice/dial-status"
MENU = "/twilio/voice/menu"
RECORDED = "/twilio/voice/recorded"
VOICEMAIL = "/twilio/voicemail"
CONFERENCE = "/twilio/conference/status"  # booking.voicemail.outbound_routes: a hand-off's joins and leaves
_DIAL_TIMEOUT = 20  # seconds: shorter than a mobile's own voicemail (~25 s), so the message lands here


def _xml(document: str, status: int = 200) -> Response:
    return Response(document, status=status, mimetype="text/xml")


def _empty(status: int = 200) -> Response:
    return _xml('<?xml version="1.0" encoding="UTF-8"?><Response/>', status)


def _call_sid() -> str:
    return (request.form.get("CallSid") or "-")[:64]


@bp.before_request
def verify_signature() -> Response | None:
    """403 unless Twilio signed exactly this URL and form with our auth token (fails closed)."""
    cfg = settings()
    sid = _call_sid()
    if not cfg.twilio_auth_token:
        log.warning("twilio %s CallSid=%s refused: TWILIO_AUTH_TOKEN is not set", request.path, sid)
        return _empty(403)
    url = expected_url(cfg.public_url, request.url, request.path, request.query_string)
    if not is_valid_twilio_request(cfg.twilio_auth_token, url, request.form, request.headers.get(SIGNATURE_HEADER)):
        log.warning("twilio %s CallSid=%s refused: bad or missing signature for %s", request.path, sid, url)
        return _empty(403)
    if has_nul_byte():  # after the signature: a forged request learns nothing but 403
        log.warning("twilio %s CallSid=%s refused: NUL character in the request", request.path, sid)
        return _empty(400)
    log.info("twilio %s CallSid=%s", request.path, sid)
    return None


@bp.errorhandler(Exception)
def webhook_error(exc: Exception) -> Response:
    """XML, never an HTML page: an apology to a caller; a 500 to the recording callback.

    The recording callback gets a real 500 so the failure shows in Twilio's debugger (the recording
    itself stays on Twilio's side and can be replayed to this hook).
    """
    if isinstance(exc, HTTPException):
        return _empty(exc.code or 400)
    if is_database_unavailable(exc):  # 503 + Retry-After; a missed recording is reconciled later
        return handle_database_unavailable(exc)
    log.exception("twilio %s CallSid=%s failed", request.path, _call_sid())
    db.session.rollback()
    if request.path == VOICEMAIL:
        return _empty(500)
    return _xml(twiml.apology())


def _greeting(route: calls.Routing) -> twiml.Greeting:
    cfg = settings()
    assert route.next_opening is not None
    return twiml.Greeting(
        next_opening=route.next_opening,
        zone=cfg.timezone,
        opens=cfg.opens,
        closes=cfg.closes,
        days=cfg.business_days,
    )


@bp.post("/voice")
def voice() -> Response:
    """An incoming call: dial the dedicated agent, forward, or greet and take a voicemail."""
    form = request.form
    route = calls.incoming_call(db.session, settings(), _call_sid(), form.get("From"), form.get("To"), clock.now())
    record, status_cb = external_url(RECORDED), external_url(VOICEMAIL)
    if route.kind == RouteKind.DIAL and route.offer_seniors:
        assert route.dial_number is not None
        document = twiml.in_hours_menu(
            external_url(MENU),
            route.dial_number,
            route.caller_id,
            external_url(DIAL_STATUS),
            agent_name=route.agent_name,
            timeout=_DIAL_TIMEOUT,
        )
    elif route.kind == RouteKind.DIAL:
        assert route.dial_number is not None
        document = twiml.dial_agent(
            route.dial_number, route.caller_id, external_url(DIAL_STATUS), timeout=_DIAL_TIMEOUT
        )
    elif route.kind == RouteKind.SUPPORT:
        assert route.dial_number is not None
        document = twiml.forward_to_support(route.dial_number, route.caller_id, action_url=external_url(DIAL_STATUS))
    elif route.kind == RouteKind.AFTER_HOURS_MENU:
        document = twiml.after_hours_menu(_greeting(route), external_url(MENU), record, status_cb)
    elif route.kind == RouteKind.AFTER_HOURS_VOICEMAIL:
        document = twiml.after_hours_voicemail(_greeting(route), record, status_cb)
    else:
        document = twiml.leave_message(record, status_cb)
    log.info("twilio call CallSid=%s routed: %s", _call_sid(), route.kind)
    return _xml(document)


@bp.post("/voice/dial-status")
def dial_status() -> Response:
    """The ``<Dial>`` ended: hang up after a conversation, otherwise take a voicemail.

    A missed dial of the seniors (press 2) is a message for the senior team: the on-call senior has
    been paged already when the caller hears so.
    """
    outcome = calls.dial_finished(
        db.session, settings(), _call_sid(), request.form.get("DialCallStatus"), request.form.get("From"), clock.now()
    )
    moved = handoff.by_call(db.session, _call_sid())
    if moved is not None:  # handed to a senior: the agent's leg left the <Dial> for the conference
        return _xml(
            twiml_calls.conference(moved.conference, external_url(CONFERENCE), label="customer", end_on_exit=True)
        )
    if outcome.answered:
        return _xml(twiml.hangup())
    if outcome.senior:
        return _xml(twiml.senior_voicemail(external_url(RECORDED), external_url(VOICEMAIL)))
    return _xml(twiml.busy_voicemail(external_url(RECORDED), external_url(VOICEMAIL), agent_name=outcome.agent_name))


@bp.post("/voice/menu")
def menu() -> Response:
    """A menu's digit: after hours 1 = service down (severity 1, on-call senior paged); in hours 2 =
    every senior on duty rings (severity 2), any other key = the dedicated agent."""
    outcome = calls.menu_choice(
        db.session, settings(), _call_sid(), request.form.get("Digits"), request.form.get("From"), clock.now()
    )
    record, status_cb = external_url(RECORDED), external_url(VOICEMAIL)
    if outcome.kind == RouteKind.CRITICAL:
        document = twiml.critical_voicemail(record, status_cb)
    elif outcome.kind == RouteKind.SENIORS:
        document = twiml.dial_seniors(
            list(outcome.numbers), outcome.caller_id, external_url(DIAL_STATUS), timeout=_DIAL_TIMEOUT
        )
    elif outcome.kind == RouteKind.SENIOR_VOICEMAIL:
        document = twiml.senior_voicemail(record, status_cb)
    elif outcome.kind == RouteKind.DIAL:
        assert outcome.dial_number is not None
        document = twiml.dial_agent(
            outcome.dial_number, outcome.caller_id, external_url(DIAL_STATUS), timeout=_DIAL_TIMEOUT
        )
    else:
        document = twiml.leave_message(record, status_cb)
    log.info("twilio menu CallSid=%s routed: %s", _call_sid(), outcome.kind)
    return _xml(document)


@bp.post("/voice/recorded")
def recorded() -> Response:
    """``<Record action>``: the caller finished the message. Storing happens in the status callback."""
    return _xml(twiml.voicemail_saved())


@bp.post("/voicemail")
def voicemail() -> Response:
    """Recording status callback: store the voicemail and queue one callback per RecordingSid."""
    form = request.form
    status = form.get("RecordingStatus", "completed")
    if status != "completed":
        log.info("twilio recording %s CallSid=%s ignored: %s", form.get("RecordingSid"), _call_sid(), status)
        return _empty()
    recording_sid, recording_url = form.get("RecordingSid", ""), form.get("RecordingUrl", "")
    if not recording_sid or not recording_url or not form.get("CallSid"):
        return _empty(400)
    if not allowed_media_url(recording_url, settings().security.twilio_media_hosts):
        # The dashboard and the mails show it as a link: only Twilio's own https media (issue 12).
        log.warning("twilio recording %s CallSid=%s refused: RecordingUrl not on Twilio", recording_sid, _call_sid())
        return _empty(400)
    try:
        duration = min(max(0, int(form.get("RecordingDuration") or 0)), 86_400)
    except ValueError:
        duration = 0
    result = store_voicemail(
        db.session,
        settings(),
        RecordingIn(
            recording_sid=recording_sid[:64],
            recording_url=recording_url[:2000],
            duration=duration,
            call_sid=_call_sid(),
            from_raw=form.get("From"),
        ),
        clock.now(),
    )
    log.info(
        "twilio voicemail %s CallSid=%s %s callback %s due %s",
        recording_sid,
        _call_sid(),
        "queued" if result.created else "already queued",
        result.callback_id,
        result.due_at.isoformat(),
    )
    return _empty()
