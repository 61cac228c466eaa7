"""Outbox handlers of the e-mail channel: send a queued thread message, tell the agent about new mail.

``send_message`` sends one outgoing ``request_messages`` row (the acknowledgement or an agent's
reply) exactly as stored: its own Message-ID, ``In-Reply-To`` / ``References`` so the customer's
client threads it, from BOOKING_SUPPORT_EMAIL so the answer comes back to the channel, and
``Auto-Submitted: auto-replied`` on the acknowledgement (RFC 3834), so well-behaved responders do
not answer it. The row's ``sent_at`` is written in the outbox row's transaction; a retry after a
crash re-sends with the same Message-ID (at most one duplicate, recognisable).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from booking import links
from booking.core.sla import Severity
from booking.effects import Context
from booking.inbound.models import RequestMessage
from booking.mail import Mail
from booking.models_requests import SupportRequest

SEND_HANDLER = "email.request_message"
AGENT_HANDLER = "email.request_agent"


def thread_headers(row: RequestMessage) -> dict[str, str]:
    headers: dict[str, str] = {}
    if row.in_reply_to:
        headers["In-Reply-To"] = row.in_reply_to
    if row.refs:
        headers["References"] = row.refs
    if row.kind == "ack":
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"  # Exchange's responders stay silent too
    if row.language:
        headers["Content-Language"] = row.language
    return headers


def send_message(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    row = ctx.session.get(RequestMessage, int(payload["message_row"]))
    if row is None or row.direction != "out" or row.sent_at is not None or not row.recipient:
        return
    ctx.adapters.mailer.send(
        Mail(
            to=[row.recipient],
            subject=row.subject,
            text=row.text,
            message_id=row.message_id,
            from_address=row.sender,
            from_name=row.sender_name,
            headers=thread_headers(row),
        )
    )
    row.sent_at = now


def notify_agent(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    """Business hours: the request's agent reads the customer's message at once, with a link to answer."""
    session = ctx.session
    request = session.get(SupportRequest, int(payload["request_id"]))
    row = session.get(RequestMessage, int(payload["message_row"]))
    if request is None or row is None or request.status == "resolved":
        return
    agent = request.agent
    if agent is None or not agent.active:
        return
    who = request.customer.name if request.customer else row.sender
    base = payload.get("base_url") or ctx.settings.public_url
    lines = [
        f"{who} <{row.sender}> wrote on request #{request.id} (severity {Severity(request.severity).label}):",
        "",
        row.display_text,
        "",
        f"Read the thread and reply: {links.absolute(base, links.request_thread_path(request.id))}",
    ]
    ctx.adapters.mailer.send(
        Mail(
            to=[agent.email],
            subject=f"[E-mail #{request.id}] {who}: {row.subject[:120]}",
            text="\n".join(lines),
            reply_to=None,
        )
    )
