"""How an incoming call's state (``calls.status``) may move, in one table.

One call produces several Twilio webhooks (incoming, dial status, menu digit, recording), each of
which may be retried, and the state they leave behind is what the dashboard and the callback queue
read. Declaring the moves here, and refusing the rest, keeps a late or confused webhook from
rewinding a call (a retried ``/twilio/voice`` must not turn a critical call back into a dialling one).

* Staying put is always allowed: Twilio retries webhooks, and a retry must be a no-op.
* ``voicemail`` can follow every state but ``answered``: a stored recording is a fact, whichever
  webhook before it went missing; after a conversation the call is hung up, so no recording follows.
* ``ringing`` is only where a call starts; nothing moves back to it.
* Pressing 2 in business hours (the greeting plays while the call is ``dialing``) rings the seniors
  on duty (``seniors``); nobody on duty, or nobody answering, leaves the caller a message for the
  senior team (``senior-voicemail``), which a stored recording then turns into ``voicemail``.

Pure: the service that owns the ``calls`` row (``booking.services.calls.move_call``) applies it.
"""

from __future__ import annotations

from collections.abc import Mapping

from booking.vocabulary import CallStatus

__all__ = ["DIAL_OUTCOMES", "TRANSITIONS", "IllegalCallMove", "check_move", "dial_outcome"]

#: How a ``<Dial>`` can end (Twilio's ``DialCallStatus``, ``completed`` read as ``answered``).
DIAL_OUTCOMES: frozenset[CallStatus] = frozenset(
    {CallStatus.ANSWERED, CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED, CallStatus.CANCELED}
)
_MISSED = DIAL_OUTCOMES - {CallStatus.ANSWERED}
#: Where pressing 2 in business hours leads (the seniors ring, or a message for them).
_SENIOR_LINE = frozenset({CallStatus.SENIORS, CallStatus.SENIOR_VOICEMAIL})

#: state -> the states it may move to (besides itself).
TRANSITIONS: Mapping[CallStatus, frozenset[CallStatus]] = {
    # Routed by /twilio/voice; a later hook may also arrive for a call whose first hook was lost.
    CallStatus.RINGING: frozenset(
        {CallStatus.DIALING, CallStatus.FORWARDED, CallStatus.AFTER_HOURS, CallStatus.CRITICAL, CallStatus.VOICEMAIL}
        | DIAL_OUTCOMES
        | _SENIOR_LINE
    ),
    CallStatus.DIALING: DIAL_OUTCOMES | _SENIOR_LINE | {CallStatus.VOICEMAIL},
    CallStatus.SENIORS: frozenset({CallStatus.ANSWERED, CallStatus.SENIOR_VOICEMAIL, CallStatus.VOICEMAIL}),
    CallStatus.SENIOR_VOICEMAIL: frozenset({CallStatus.VOICEMAIL}),
    CallStatus.FORWARDED: DIAL_OUTCOMES | {CallStatus.VOICEMAIL},
    CallStatus.AFTER_HOURS: frozenset({CallStatus.CRITICAL, CallStatus.VOICEMAIL}),
    CallStatus.CRITICAL: frozenset({CallStatus.VOICEMAIL}),
    **{missed: frozenset({CallStatus.VOICEMAIL}) for missed in _MISSED},
    CallStatus.ANSWERED: frozenset(),
    CallStatus.VOICEMAIL: frozenset(),
}


class IllegalCallMove(ValueError):
    """A webhook asked for a move the table does not allow (a bug, or hooks far out of order)."""

    def __init__(self, current: str, target: CallStatus) -> None:
        super().__init__(f"a call cannot move from {current!r} to {target.value!r}")
        self.current = current
        self.target = target


def check_move(current: str, target: CallStatus) -> CallStatus:
    """``target`` if a call in state ``current`` may move there, else :class:`IllegalCallMove`."""
    try:
        state = CallStatus(current)
    except ValueError:
        raise IllegalCallMove(current, target) from None
    if target is not state and target not in TRANSITIONS[state]:
        raise IllegalCallMove(current, target)
    return target


def dial_outcome(dial_call_status: str | None) -> CallStatus:
    """The state a ``DialCallStatus`` leaves a call in; a value Twilio does not document counts as failed.

    Twilio sends ``completed``, ``answered``, ``busy``, ``no-answer``, ``failed`` or ``canceled``;
    anything else (or nothing) must still end in a voicemail, and in a state the database accepts.
    """
    value = (dial_call_status or "").strip().lower()
    if value == "completed":
        return CallStatus.ANSWERED
    try:
        outcome = CallStatus(value)
    except ValueError:
        return CallStatus.FAILED
    return outcome if outcome in DIAL_OUTCOMES else CallStatus.FAILED
