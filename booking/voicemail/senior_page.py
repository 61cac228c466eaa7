"""The page sent when a caller pressed 2 for a senior agent and no senior could take the call (issue 16).

Queued by :func:`booking.services.calls.dial_finished` / ``menu_choice`` in the transaction that
sends the caller to the senior voicemail, keyed on the CallSid, and run after the commit like every
outbox handler (declared in :mod:`booking.effects`). It reloads the call and does nothing when the
call or the agent is gone.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from booking.models import Agent, Call, Customer
from booking.voicemail.notify import local_text, send_sms

if TYPE_CHECKING:  # the composition root imports this module: no cycle at import time
    from booking.effects import Context

HANDLER_NAME = "phone.page_senior_missed"


def page_senior_missed(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    """Text the on-call senior: a customer asked for a senior, none was free, a callback is due within the hour."""
    session, cfg = ctx.session, ctx.settings
    agent = session.get(Agent, int(payload["agent_id"]))
    call = session.scalar(select(Call).where(Call.call_sid == payload["call_sid"]))
    if agent is None or call is None:
        return
    customer = session.get(Customer, call.customer_id) if call.customer_id else None
    due = datetime.fromisoformat(payload["due_at"])
    send_sms(
        ctx.adapters.sms,
        agent.phone,
        f"SENIOR NEEDED: {customer.name if customer else 'a customer'} {call.from_number} pressed 2 for a senior "
        f"agent (called {local_text(call.received_at, cfg.timezone)}) and no senior could answer. Severity 2: "
        f"call back by {local_text(due, cfg.timezone)}. Voicemail follows.",
    )
