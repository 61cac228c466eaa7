"""Telling people about requests (issue 13): breach warnings to the owner, pages for escalations.

Outbox handlers (SMS and e-mail are separate handlers, so a failing SMTP server never re-sends an
SMS) and the worker's once-a-minute breach scan. The owner is the request's agent; a request no
agent owns yet (senior team before someone took it, triage) goes to the on-call senior, so a
breach is never told to nobody. Each handler re-reads the request and stays silent when the news
is stale: answered meanwhile, or the due time moved (the scan then warns about the new one).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask_babel import gettext
from sqlalchemy.orm import Session

from booking.config import Settings
from booking.core.sla import Severity
from booking.effects import Context
from booking.mail import Mail
from booking.models import Agent
from booking.models_requests import SupportRequest
from booking.services.calls import on_call_senior
from booking.services.requests import EVENT_BREACHED
from booking.voicemail.notify import in_language, local_text, send_sms

log = logging.getLogger(__name__)


def _local(moment: datetime, cfg: Settings, language: str = "en") -> str:
    return local_text(moment, cfg.timezone, language)


def owner_of(session: Session, request: SupportRequest) -> Agent | None:
    """Who answers for the request now: its agent, else the on-call senior (senior team, triage)."""
    if request.agent is not None and request.agent.active:
        return request.agent
    return on_call_senior(session)


def _still_true(session: Session, payload: dict[str, Any]) -> tuple[SupportRequest, Agent] | None:
    request = session.get(SupportRequest, int(payload["request_id"]))
    if request is None or request.status != "open" or request.first_response_at is not None:
        return None
    if request.first_response_due_at != datetime.fromisoformat(payload["due_at"]):
        return None
    owner = owner_of(session, request)
    if owner is None:
        log.warning("request %s: nobody to tell about %s (no agent, no on-call senior)", request.id, payload["event"])
        return None
    return request, owner


def _who(request: SupportRequest) -> str:
    return request.customer.name if request.customer else gettext("unknown sender (triage)")


def alert_text(request: SupportRequest, event: str, cfg: Settings, owner: Agent | None = None) -> str:
    """The SMS about a due or breached first response, in the owner's language."""
    with in_language(owner) as lang:
        head = gettext("SLA BREACHED") if event == EVENT_BREACHED else gettext("Due in 15 min")
        return gettext(
            "%(head)s: request #%(id)d (%(channel)s, severity %(severity)s) from %(who)s: %(subject)s. "
            "First response due %(due)s.",
            head=head,
            id=request.id,
            channel=request.channel,
            severity=Severity(request.severity).label,
            who=_who(request),
            subject=request.subject[:80],
            due=_local(request.first_response_due_at, cfg, lang),
        )


def alert_mail(request: SupportRequest, owner: Agent, event: str, cfg: Settings) -> Mail:
    """The e-mail with the same news and the request's details, in the owner's language."""
    with in_language(owner) as lang:
        severity = Severity(request.severity)
        breached = event == EVENT_BREACHED
        lines = [
            (
                gettext("The first-response target of this request has been missed.")
                if breached
                else gettext("The first response to this request is due in 15 minutes.")
            ),
            "",
            gettext("Request: #%(id)d - %(subject)s", id=request.id, subject=request.subject),
            gettext("From: %(who)s", who=_who(request)),
            gettext("Channel: %(channel)s", channel=request.channel),
            gettext("Severity: %(label)s - %(definition)s", label=severity.label, definition=severity.definition),
            gettext("Received: %(when)s", when=_local(request.received_at, cfg, lang)),
            gettext("First response due: %(when)s", when=_local(request.first_response_due_at, cfg, lang)),
            gettext("Follow-up due: %(when)s", when=_local(request.follow_up_due_at, cfg, lang)),
            "",
            gettext(
                "Answer it, then POST /api/requests/%(id)d/respond (or escalate it to the senior team).",
                id=request.id,
            ),
        ]
        prefix = gettext("[SLA breached]") if breached else gettext("[Due in 15 min]")
        subject = f"{prefix} #{request.id} {_who(request)}: {request.subject[:80]}"
    return Mail(to=[owner.email], subject=subject, text="\n".join(lines))


def alert_sms(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    """Text the owner: 15 minutes left, or the target missed."""
    found = _still_true(ctx.session, payload)
    if found is not None:
        request, owner = found
        send_sms(ctx.adapters.sms, owner.phone, alert_text(request, payload["event"], ctx.settings, owner))


def alert_email(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    """E-mail the owner the same news with the request's details."""
    found = _still_true(ctx.session, payload)
    if found is not None:
        request, owner = found
        ctx.adapters.mailer.send(alert_mail(request, owner, payload["event"], ctx.settings))


def page_senior(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    """Severity 1-2 escalated: page the on-call senior by SMS (lower severities wait in the senior queue)."""
    if not payload.get("page"):
        return
    session, cfg = ctx.session, ctx.settings
    request = session.get(SupportRequest, int(payload["request_id"]))
    senior = on_call_senior(session)
    if request is None or request.status == "resolved" or senior is None:
        return
    with in_language(senior) as lang:
        text = gettext(
            "ESCALATED: request #%(id)d (severity %(severity)s) from %(who)s: %(subject)s. First response due %(due)s.",
            id=request.id,
            severity=Severity(request.severity).label,
            who=_who(request),
            subject=request.subject[:80],
            due=_local(request.first_response_due_at, cfg, lang),
        )
    send_sms(ctx.adapters.sms, senior.phone, text)


def mail_triage(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    """Tell BOOKING_TRIAGE_EMAIL about a request no customer could be matched to (still in triage)."""
    cfg = ctx.settings
    request = ctx.session.get(SupportRequest, int(payload["request_id"]))
    if not cfg.triage_email or request is None or request.team != "triage" or request.status == "resolved":
        return
    lines = [
        "Nobody could match this request to a customer: it waits in triage until an admin assigns it.",
        "",
        f"Request: #{request.id} - {request.subject}",
        f"Channel: {request.channel}",
        f"Severity: {Severity(request.severity).label}",
        f"Received: {_local(request.received_at, cfg)}",
        f"First response due: {_local(request.first_response_due_at, cfg)}",
        "",
        f'Assign it: PATCH /api/requests/{request.id} {{"customer": <id>, "agent": <slug>, "severity": <1-5>}}',
    ]
    ctx.adapters.mailer.send(
        Mail(to=[cfg.triage_email], subject=f"[Triage] #{request.id} {request.subject[:80]}", text="\n".join(lines))
    )
