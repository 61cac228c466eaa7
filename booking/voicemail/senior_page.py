"""The page sent when a caller pressed 2 for a senior agent and no senior could take the call (issue 16).

Queued by :func:`booking.services.calls.dial_finished` / ``menu_choice`` in the transaction that
sends the caller to the senior voicemail, keyed on the CallSid, and run after the commit like every
outbox handler (declared in :mod:`booking.effects`). It reloads the call and does nothing when the
call or the agent is gone.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_babel import gettext

from booking.voicemail.notify import page_about_call

if TYPE_CHECKING:  # the composition root imports this module: no cycle at import time
    from booking.effects import Context

HANDLER_NAME = "phone.page_senior_missed"


def page_senior_missed(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    """Text the on-call senior: a customer asked for a senior, none was free, a callback is due within the hour."""
    page_about_call(
        ctx,
        payload,
        lambda who, caller, called, due: gettext(
            "SENIOR NEEDED: %(who)s %(caller)s pressed 2 for a senior agent (called %(called)s) and no senior "
            "could answer. Severity 2: call back by %(due)s. Voicemail follows.",
            who=who,
            caller=caller,
            called=called,
            due=due,
        ),
    )
