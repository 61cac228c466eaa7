"""Calls the service places or reshapes through Twilio's REST API (issue 16): the outbox handlers.

Their signed webhooks are in :mod:`booking.voicemail.outbound_routes` (this module is imported by
the worker, which loads no route).

* "Call now" (:func:`place_call`): ``calls.create`` rings the agent's phone (``to`` = the agent,
  ``from`` = ``TWILIO_FROM_NUMBER``); when the agent picks up, Twilio fetches
  :data:`CALL_NOW` ``/<attempt>/connect``, whose ``<Dial callerId=service number>`` rings the customer.
  The customer's leg reports ``answered``/``completed`` to ``/customer-status``, the dial's end goes
  to ``/dialed`` and the agent's own leg to ``/agent-status`` (an agent who never picked up is a
  failed attempt too).
* Warm hand-off (:func:`move_to_conference`): both legs of the live call get conference TwiML
  (``calls(sid).update(twiml=...)``: the agent's leg first, found as the child of the call, then the
  customer's), and the senior is dialled into the conference (``conferences(name).participants.create``).
  The conference reports joins and leaves to :data:`CONFERENCE_STATUS`.

The handlers run in the ``sms`` lane (the one that already talks to Twilio), after the commit of the
press, so the page answers at once and a retried row never places a second call: the attempt's state
is checked first.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from twilio.base.exceptions import TwilioRestException

from booking.models_calls import CallAttempt, Handoff
from booking.services import call_now, handoff, outbox
from booking.vocabulary import AttemptStatus
from booking.voicemail import twiml_calls

if TYPE_CHECKING:
    from booking.effects import Context

log = logging.getLogger(__name__)

CALL_NOW_HANDLER = "phone.call_now"
HANDOFF_HANDLER = "phone.handoff"
CALL_NOW = "/twilio/call-now"
CONFERENCE_STATUS = "/twilio/conference/status"
AGENT_RING_SECONDS = 25


def _configured(ctx: Context) -> bool:
    return ctx.adapters.twilio_rest is not None and bool(ctx.settings.twilio_from_number)


def _twilio(ctx: Context) -> Any:
    if not _configured(ctx):
        raise outbox.PermanentError(
            "Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER)"
        )
    return ctx.adapters.twilio_rest


def _public(ctx: Context, path: str) -> str:
    """Twilio calls us back at BOOKING_PUBLIC_URL, the URL its signatures are checked against."""
    return f"{(ctx.settings.public_url or '').rstrip('/')}{path}"


def _refused(exc: TwilioRestException) -> bool:
    """A 4xx other than 429: asking again will not help (a bad number, a closed account)."""
    return 400 <= int(exc.status or 0) < 500 and exc.status != 429


# -- outbox handlers -------------------------------------------------------------------------------


def place_call(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    """Ring the agent for one "Call now" attempt, once: an attempt past ``queued`` is left alone."""
    session = ctx.session
    attempt = session.get(CallAttempt, payload["attempt_id"])
    if attempt is None or attempt.status != AttemptStatus.QUEUED:
        return
    if not _configured(ctx):  # logged on the request, so the agent sees why nothing rang
        call_now.failed(session, attempt.id, "not-configured", now, leg="agent")
    client = _twilio(ctx)
    base = f"{CALL_NOW}/{attempt.id}"
    try:
        call = client.calls.create(
            to=attempt.agent_phone,
            from_=ctx.settings.twilio_from_number,
            url=_public(ctx, f"{base}/connect"),
            method="POST",
            status_callback=_public(ctx, f"{base}/agent-status"),
            status_callback_event=["answered", "completed"],
            status_callback_method="POST",
            timeout=AGENT_RING_SECONDS,
        )
    except TwilioRestException as exc:
        if not _refused(exc):
            raise  # a 5xx or 429: the outbox retries (Twilio created no call)
        log.warning("call-now attempt %s refused by Twilio: %s", attempt.id, exc.msg)
        call_now.failed(session, attempt.id, "refused", now, leg="agent")
        return
    call_now.dialling(session, attempt.id, str(call.sid), now)
    log.info("call-now attempt %s: Twilio call %s rings the agent", attempt.id, call.sid)


def move_to_conference(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    """Move the call's legs into its conference and dial the senior in (each step done once)."""
    session = ctx.session
    row = session.get(Handoff, payload["handoff_id"])
    if row is None or row.senior_leg_sid is not None:
        return
    client = _twilio(ctx)
    status_url = _public(ctx, CONFERENCE_STATUS)
    name, handoff_id, call_sid = row.conference, row.id, row.call_sid
    agent_label, senior_label, senior_phone = f"agent:{row.agent.slug}", f"senior:{row.senior.slug}", row.senior.phone
    if row.agent_leg_sid is None:
        legs = [c.sid for c in client.calls.list(parent_call_sid=call_sid, status="in-progress", limit=5)]
        agent_twiml = twiml_calls.conference(name, status_url, label=agent_label, end_on_exit=False)
        for leg in legs:  # the agent's leg first: moving the customer's would hang it up
            client.calls(leg).update(twiml=agent_twiml)
        customer_twiml = twiml_calls.conference(name, status_url, label="customer", end_on_exit=True)
        client.calls(call_sid).update(twiml=customer_twiml)
        handoff.legs_moved(session, handoff_id, legs[0] if legs else None, None)
    try:
        participant = client.conferences(name).participants.create(
            from_=ctx.settings.twilio_from_number,
            to=senior_phone,
            label=senior_label,
            timeout=AGENT_RING_SECONDS,
            early_media=False,
            beep="false",
            end_conference_on_exit=False,
            conference_status_callback=status_url,
            conference_status_callback_event=["join", "leave"],
            conference_status_callback_method="POST",
        )
    except TwilioRestException as exc:
        if _refused(exc):  # the senior's number is refused: retrying will not help (the outbox row fails)
            raise outbox.PermanentError(f"Twilio refused to dial {senior_label}: {exc.msg}") from exc
        raise
    handoff.legs_moved(session, handoff_id, None, str(participant.call_sid))
    log.info(
        "handoff %s: call %s in conference %s, senior dialled (%s)", handoff_id, call_sid, name, participant.call_sid
    )
