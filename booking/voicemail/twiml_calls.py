"""TwiML of the calls the service places or reshapes (issue 16): "Call now" and the warm hand-off.

Built with the Twilio SDK's ``VoiceResponse`` like :mod:`booking.voicemail.twiml` (which holds the
incoming line's documents); what is said here is said to our own agents, in French then English.
"""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from booking.voicemail.twiml import _check_range, _say_both, _xml_safe

#: Seconds the customer's phone rings on "Call now" before the attempt counts as unanswered.
CUSTOMER_RING_SECONDS = 30


def connect_customer(customer_phone: str, caller_id: str, action_url: str, status_url: str, who: str) -> str:
    """The agent picked up the outbound call: say whom we call, then dial the customer.

    ``caller_id`` is the service's number (``TWILIO_FROM_NUMBER``), so the customer sees the line they
    called. The ``<Number>`` reports ``answered`` and ``completed`` to ``status_url`` (the customer's
    leg: the first response is recorded on ``answered``); ``action_url`` hears how the dial ended.
    """
    response = VoiceResponse()
    _say_both(response, {"fr": f"Appel de {who}.", "en": f"Calling {who}."})
    dial = response.dial(
        action=_xml_safe(action_url),
        method="POST",
        caller_id=_xml_safe(caller_id),
        timeout=_check_range("timeout", CUSTOMER_RING_SECONDS, 5, 600),
        answer_on_bridge=True,
    )
    dial.number(
        _xml_safe(customer_phone),
        status_callback=_xml_safe(status_url),
        status_callback_event="answered completed",
        status_callback_method="POST",
    )
    return str(response)


def call_ended(answered: bool) -> str:
    """After the customer's leg: hang up the agent, telling them when nobody answered."""
    response = VoiceResponse()
    if not answered:
        _say_both(
            response,
            {
                "fr": "Le client n'a pas répondu. La tentative est notée sur la demande.",
                "en": "The customer did not answer. The attempt is logged on the request.",
            },
        )
    response.hangup()
    return str(response)


def conference(name: str, status_url: str, *, label: str, end_on_exit: bool) -> str:
    """Put a leg into the hand-off conference ``name`` (``<Dial><Conference>``).

    The customer's leg ends the conference when it leaves (``end_on_exit``); the agent's does not, so
    the agent may stay or leave once the senior is there. Every leg reports ``join``/``leave`` to
    ``status_url`` under its ``participantLabel``, which is how the request learns who joined.
    """
    response = VoiceResponse()
    dial = response.dial()
    dial.conference(
        _xml_safe(name),
        start_conference_on_enter=True,
        end_conference_on_exit=end_on_exit,
        beep=False,
        status_callback=_xml_safe(status_url),
        status_callback_event="join leave",
        status_callback_method="POST",
        participant_label=_xml_safe(label),
    )
    return str(response)
