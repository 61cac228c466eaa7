"""The agent's queue page (issue 13): every request they owe an answer, across channels, soonest due first.

Server-rendered in the agent's zone with plain CSRF-protected POST forms that redirect back
(post/redirect/get), like the dashboard; ``static/queue.js`` only keeps the countdowns current
between reloads. A senior also sees the senior team's requests nobody has taken yet, and takes them
here. Another agent's request answers 404, the same as one that does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy.orm import Session

from booking import clock
from booking.core.sla import clock_state, followup_is_contractual
from booking.core.sla_report import month_period
from booking.extensions import db
from booking.models import Agent
from booking.models_requests import SupportRequest
from booking.routes.agent import SEVERITY_NAMES, format_instant, signed_in
from booking.routes.common import clean_text, settings
from booking.routes.pages import page
from booking.routes.requests import report_as_csv
from booking.services import call_now, requests, sla_report
from booking.services.requests import Actor
from booking.sla_chart import severity_chart

bp = Blueprint("queue", __name__, url_prefix="/agent/queue")

CHANNEL_NAMES: dict[str, Any] = {"phone": _l("Voicemail"), "email": _l("E-mail"), "chat": _l("Chat")}
STATUS_NAMES: dict[str, Any] = {
    "open": _l("Awaiting a first response"),
    "responded": _l("Answered"),
    "resolved": _l("Resolved"),
    "all": _l("All"),
}
SCOPE_NAMES: dict[str, Any] = {
    "mine": _l("Mine"),
    "all": _l("Every agent’s"),
    "triage": _l("Triage (no customer matched)"),
}
CLOCK_NAMES: dict[str, Any] = {"on_time": _l("On time"), "due_soon": _l("Due soon"), "late": _l("Late")}
NOTICES: dict[str, tuple[str, Any]] = {
    "responded": ("success", _l("First response recorded.")),
    "resolved": ("success", _l("Request resolved.")),
    "escalated": ("success", _l("Handed to the senior team. Your notes and the due times go with it.")),
    "taken": ("success", _l("The request is yours now.")),
    "calling": ("success", _l("Calling: your phone rings first, then the customer’s.")),
    "called": ("warning", _l("That call was placed already; its outcome shows on the request.")),
}


def _db() -> Session:
    return db.session


def span(minutes: int) -> str:
    """``12 min`` / ``1 h 05``: the same in English and French (static/queue.js writes it the same way)."""
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d}"


def countdown(due: datetime, now: datetime) -> dict[str, Any]:
    """Whole minutes left and the text shown beside the due time (late from the second after it)."""
    if now > due:
        late = max(1, int((now - due).total_seconds() // 60))
        return {"minutes": -late, "text": gettext("%(time)s late", time=span(late))}
    left = int((due - now).total_seconds() // 60)
    return {"minutes": left, "text": gettext("%(time)s left", time=span(left))}


def reservation_note(item: SupportRequest) -> str | None:
    """Why a callback's reserved slot and its due time differ, if they do (one story on the page)."""
    callback = item.callback
    booking = callback.booking if callback is not None else None
    if booking is None or booking.status != "confirmed":
        return None
    if booking.start_at > item.first_response_due_at:
        return "later"
    return None


@bp.get("")
@signed_in
def home(agent: Agent) -> Any:
    """The queue, filtered by channel and status (default: awaiting a first response)."""
    status = request.args.get("status", "open")
    channel = request.args.get("channel") or None
    status = status if status in STATUS_NAMES else "open"
    channel = channel if channel in CHANNEL_NAMES else None
    scope = request.args.get("scope", "mine") if agent.admin else "mine"
    scope = scope if scope in SCOPE_NAMES else "mine"
    now = clock.now()
    tz = ZoneInfo(agent.timezone)
    items = requests.queue_for(_db(), agent, status=status, channel=channel, scope=scope)
    return page(
        "agent/queue.html",
        agent=agent,
        items=items,
        now=now,
        current_status=status,
        current_channel=channel,
        current_scope=scope,
        scopes=SCOPE_NAMES,
        statuses=STATUS_NAMES,
        channels=CHANNEL_NAMES,
        clocks=CLOCK_NAMES,
        notice=NOTICES.get(request.args.get("notice", "")),
        state=lambda item: clock_state(item.first_response_due_at, now, item.first_response_at),
        countdown=lambda item: countdown(item.first_response_due_at, now),
        contractual=followup_is_contractual,
        reservation_note=reservation_note,
        instant=lambda moment: format_instant(moment, tz),
        severity=lambda value: f"{value} {SEVERITY_NAMES.get(value, '')}",
        attempts=lambda item: call_now.attempts_of(_db(), item.id) if item.channel == "phone" else [],
        outcomes=ATTEMPT_NAMES,
    )


#: how the page names a "Call now" attempt's state (booking.vocabulary.AttemptStatus)
ATTEMPT_NAMES: dict[str, Any] = {
    "queued": _l("Calling…"),
    "calling": _l("Ringing"),
    "connected": _l("Connected"),
    "failed": _l("Not reached"),
}


@bp.get("/report")
@signed_in
def report(agent: Agent) -> Any:
    """The SLA report for admins: a month's figures per severity and customer, the chart, a CSV link."""
    if not agent.admin:
        abort(404)
    cfg = settings()
    now = clock.now()
    month = request.args.get("month") or now.astimezone(cfg.timezone).strftime("%Y-%m")
    try:
        first, end = month_period(month)
    except ValueError:
        return page("agent/report.html", 400, agent=agent, month=month, result=None, chart=None)
    result = sla_report.build(_db(), cfg.timezone, first, end, now)
    title = gettext("First responses, %(month)s (%(zone)s)", month=month, zone=result.timezone)
    return page(
        "agent/report.html",
        agent=agent,
        month=month,
        result=result,
        chart=Markup(severity_chart(result.severities, title)),  # drawn by us, every text escaped there
        severity=lambda value: f"{value} {SEVERITY_NAMES.get(value, '')}",
    )


@bp.get("/report.csv")
@signed_in
def report_csv(agent: Agent) -> Any:
    """The same month as a spreadsheet (the API's CSV, for a signed-in admin)."""
    if not agent.admin:
        abort(404)
    cfg = settings()
    month = request.args.get("month") or clock.now().astimezone(cfg.timezone).strftime("%Y-%m")
    try:
        first, end = month_period(month)
    except ValueError:
        abort(400)
    return report_as_csv(sla_report.build(_db(), cfg.timezone, first, end, clock.now()))


def _back(notice: str, request_id: int) -> Any:
    return redirect(url_for("queue.home", notice=notice, _anchor=f"request-{request_id}"), code=303)


@bp.post("/<int(max=2147483647):request_id>/respond")
@signed_in
def respond(agent: Agent, request_id: int) -> Any:
    requests.owned_request(_db(), agent, request_id)
    _, ids = requests.respond(_db(), request_id, Actor.for_agent(agent), clock.now())
    return _back("responded", request_id)


@bp.post("/<int(max=2147483647):request_id>/resolve")
@signed_in
def resolve(agent: Agent, request_id: int) -> Any:
    requests.owned_request(_db(), agent, request_id)
    requests.resolve(_db(), request_id, Actor.for_agent(agent), clock.now())
    return _back("resolved", request_id)


@bp.post("/<int(max=2147483647):request_id>/escalate")
@signed_in
def escalate(agent: Agent, request_id: int) -> Any:
    requests.owned_request(_db(), agent, request_id)
    note = clean_text(request.form.get("note", ""), multiline=True)[:4000] or None
    _, ids = requests.escalate(_db(), request_id, note, Actor.for_agent(agent), clock.now())
    return _back("escalated", request_id)


@bp.post("/<int(max=2147483647):request_id>/call")
@signed_in
def call(agent: Agent, request_id: int) -> Any:
    """Call now: the attempt number the page showed makes a double click or a replay one call."""
    requests.owned_request(_db(), agent, request_id)
    raw = request.form.get("attempt", "")
    attempt = int(raw) if raw.isdigit() and len(raw) < 6 else None
    if attempt is None:
        abort(400)
    press = call_now.press(_db(), request_id, Actor.for_agent(agent), attempt, clock.now())
    return _back("calling" if press.created else "called", request_id)


@bp.post("/<int(max=2147483647):request_id>/take")
@signed_in
def take(agent: Agent, request_id: int) -> Any:
    requests.owned_request(_db(), agent, request_id)
    requests.take(_db(), request_id, agent, Actor.for_agent(agent), clock.now())
    return _back("taken", request_id)
