"""The agent's pages: password-less sign-in, the dashboard, and its callback actions.

Sign-in is a link by e-mail (see ``booking.services.agent_auth`` for the rules). Opening the link shows
a one-button confirmation page and only the button's POST uses the link up: mail security scanners
(Outlook Safe Links, Mimecast, ...) fetch every link in a message with GET, and a link used up by a
scanner would leave the agent with a dead link. The POST is CSRF-protected like every form here.

The dashboard is one server-rendered page in the agent's own zone; its actions are plain POST forms
that redirect back (post/redirect/get), so it works without JavaScript and a reload repeats nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from flask import Blueprint, current_app, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l

from booking import clock, links
from booking.calendar_sync.invitations import video_url
from booking.core.sla import Severity
from booking.extensions import db
from booking.i18n import TOPIC_LABELS, current_locale, format_day, format_time, format_when
from booking.models import Agent
from booking.routes.common import external_url, settings
from booking.routes.pages import page
from booking.services import agent_auth, callbacks, dashboard, handoff
from booking.services.calls import seniors_on_duty
from booking.services.errors import Conflict, InvalidInput, SlotUnavailable
from booking.wiring import after_response, mail_base_url

bp = Blueprint("agent", __name__, url_prefix="/agent")

SESSION_KEYS = ("agent_id", "agent_generation", "agent_signed_in_at")

SEVERITY_NAMES: dict[int, Any] = {
    1: _l("Critical"),
    2: _l("High"),
    3: _l("Standard"),
    4: _l("Bug fixes"),
    5: _l("Requests"),
}

# Why a link was refused, as the agent reads it on the sign-in page.
LINK_ERRORS: dict[str, tuple[int, Any]] = {
    "expired": (410, _l("This sign-in link has expired. Links work for 15 minutes; ask for a new one below.")),
    "used": (
        410,
        _l("This sign-in link was already used, or a newer one replaced it. Ask for a new one below."),
    ),
    "invalid": (
        400,
        _l("This sign-in link is not valid. Please open the whole link from the e-mail, or ask for a new one."),
    ),
}


# --------------------------------------------------------------------------- #
# Session helpers
# --------------------------------------------------------------------------- #


def current_agent() -> Agent | None:
    """The signed-in agent for this request, or None (read from the session cookie each time).

    Not cached on ``g``: ``g`` lives on the app context, which tests (and CLI code) keep across requests.
    """
    return agent_auth.session_agent(
        db.session,
        session.get("agent_id"),
        session.get("agent_generation"),
        session.get("agent_signed_in_at"),
        clock.now(),
    )


def _start_session(agent: Agent, now: datetime) -> None:
    """A fresh session for the agent: the old one is dropped first so nothing carries over (fixation)."""
    session.clear()
    session["agent_id"] = agent.id
    session["agent_generation"] = agent.session_generation
    session["agent_signed_in_at"] = now.isoformat()


def _zone(agent: Agent) -> ZoneInfo:
    return ZoneInfo(agent.timezone)


def format_instant(moment: datetime, tz: ZoneInfo) -> str:
    """« mardi 1 décembre, 09:00 » / "Tuesday, December 1, 9:00 AM" in ``tz``."""
    return f"{format_day(moment.astimezone(tz).date())}, {format_time(moment, tz)}"


# --------------------------------------------------------------------------- #
# Sign-in and sign-out
# --------------------------------------------------------------------------- #


def _sign_in_form(
    status: int = 200, *, email: str = "", error: Any = None, email_error: Any = None, notice: Any = None
) -> Any:
    return page("agent/sign_in.html", status, email=email, error=error, email_error=email_error, notice=notice)


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    """Ask for a link. Every well-formed address gets the same answer, known or not."""
    if request.method == "GET":
        if current_agent() is not None:
            return redirect(url_for("agent.home"), code=303)
        notice = {
            "signed_out": _l("You are signed out."),
            "expired": _l("Your session has ended. Please sign in again."),
        }.get(request.args.get("notice", ""))
        return _sign_in_form(notice=notice)
    raw = request.form.get("email", "").strip()
    try:
        email = validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError:
        message = _l("Please enter an e-mail address such as name@company.com.")
        return _sign_in_form(400, email=raw, email_error=message)
    base = mail_base_url()
    if base is None:
        return _sign_in_form(503, email=email, error=_l("Sign-in by e-mail is not set up on this server yet."))
    locale = current_locale()

    def request_link() -> list[int]:
        return agent_auth.request_sign_in(db.session, email, clock.now(), base_url=base, locale=locale)

    # The lookup, the write and the mail all happen after the answer has gone out, so a real
    # address and an unknown one are answered equally fast (no account enumeration by timing).
    return after_response(page("agent/sign_in_sent.html", email=email), request_link)


def _refused(reason: str) -> Any:
    status, message = LINK_ERRORS[reason]
    return _sign_in_form(status, error=message)


@bp.route("/sign-in/<token>", methods=["GET", "POST"])
def sign_in_link(token: str) -> Any:
    """GET: confirm who is signing in (uses nothing up). POST: use the link and start the session."""
    now = clock.now()
    secret = current_app.config["SECRET_KEY"]
    try:
        if request.method == "GET":
            agent = agent_auth.check_link(db.session, secret, token, now)
            response = page("agent/sign_in_confirm.html", agent=agent)
            response.headers["Referrer-Policy"] = "no-referrer"  # the link is in this page's URL
            return response
        agent = agent_auth.use_link(db.session, secret, token, now)
    except agent_auth.SignInError as exc:
        return _refused(exc.reason)
    _start_session(agent, now)
    return redirect(url_for("agent.home"), code=303)


@bp.post("/sign-out")
def sign_out() -> Any:
    """End every session of this agent (all browsers), then show the sign-in page."""
    agent = current_agent()
    if agent is not None:
        agent_auth.sign_out(db.session, agent.id)
        from booking.chat import streams
        from booking.services import chat

        streams.publish(current_app, chat.agent_signed_out(db.session, agent.id))
    for key in SESSION_KEYS:
        session.pop(key, None)
    return redirect(url_for("agent.sign_in", notice="signed_out"), code=303)


# --------------------------------------------------------------------------- #
# Dashboard
# --------------------------------------------------------------------------- #


def _seen(agent: Agent) -> None:
    """Chat presence (issue 17): a signed-in agent's request is the activity ``available`` relies on."""
    from booking.chat import streams
    from booking.services import chat

    streams.publish(current_app, chat.touch_agent(db.session, agent, clock.now()))


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``view(agent, ...)`` for a signed-in agent; send anyone else to the sign-in page.

    A session that was signed out elsewhere or grew too old is dropped and the page says so.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        agent = current_agent()
        if agent is None:
            notice = "expired" if session.get("agent_id") is not None else None
            for key in SESSION_KEYS:
                session.pop(key, None)
            return redirect(url_for("agent.sign_in", notice=notice), code=303)
        _seen(agent)
        return view(agent, *args, **kwargs)

    return wrapper


NOTICES: dict[str, tuple[str, Any]] = {
    "done": ("success", _l("Callback marked as done.")),
    "moved": ("success", _l("Callback moved. Its reserved time in your calendar moved with it.")),
    "taken": ("warning", _l("No free time after that due time: the callback has not moved. Please pick another time.")),
    "bad_due_at": ("error", _l("Please enter a due time between now and 62 days ahead.")),
    "not_pending": ("warning", _l("This callback is no longer pending, so it cannot be moved.")),
    "handoff": ("success", _l("Bringing in a senior: the call moves into a conference and the senior is dialled.")),
    "handoff_again": ("warning", _l("A senior was already called into this call.")),
}


def _render_dashboard(agent: Agent, status: int = 200, notice: str | None = None, focus: int | None = None) -> Any:
    now = clock.now()
    tz = _zone(agent)
    data = dashboard.load(db.session, agent, now)
    live = handoff.live_calls(db.session, agent, now)  # issue 16: calls the agent may hand to a senior
    return page(
        "agent/dashboard.html",
        status,
        agent=agent,
        data=data,
        now=now,
        tz=tz,
        notice=NOTICES.get(notice or ""),
        focus=focus,
        when=lambda start, end: format_when(start, end, tz),
        instant=lambda moment: format_instant(moment, tz),
        severity=lambda value: f"{value} {SEVERITY_NAMES.get(value, '')}",
        is_wall_clock=lambda value: Severity(value).wall_clock,
        topic=lambda value: TOPIC_LABELS.get(value, value),
        local_input=lambda moment: moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
        feed_url=external_url(links.feed_path(agent)),
        manage_url=lambda b: external_url(links.manage_path(b)),
        ics_url=links.invite_path,
        live=live,
        seniors=seniors_on_duty(db.session, settings(), now) if live else [],
        video_url=lambda b: video_url(b, settings()),
    )


@bp.get("")
@signed_in
def home(agent: Agent) -> Any:
    """The dashboard: calls, callbacks, voicemails, calendar sync and feed, in the agent's zone."""
    return _render_dashboard(agent, notice=request.args.get("notice"))


@bp.post("/callbacks/<int(max=2147483647):callback_id>/done")
@signed_in
def callback_done(agent: Agent, callback_id: int) -> Any:
    """Mark one of the agent's callbacks done (idempotent); its future reserved time is released."""
    callbacks.complete(db.session, callback_id, clock.now(), acting_agent_id=agent.id)  # 404: not theirs
    return redirect(url_for("agent.home", notice="done", _anchor="callbacks"), code=303)


def _parse_due(raw: str, tz: ZoneInfo) -> datetime | None:
    """A ``datetime-local`` value is a wall time in the agent's zone (an explicit offset also works)."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


@bp.post("/callbacks/<int(max=2147483647):callback_id>/move")
@signed_in
def callback_move(agent: Agent, callback_id: int) -> Any:
    """Give one of the agent's callbacks a new due time; the reservation follows it."""
    due = _parse_due(request.form.get("due_at", ""), _zone(agent))
    if due is None:
        return _render_dashboard(agent, 400, "bad_due_at", callback_id)
    try:
        callbacks.move(db.session, settings(), callback_id, due, clock.now(), acting_agent_id=agent.id)
    except SlotUnavailable:
        return _render_dashboard(agent, 409, "taken", callback_id)
    except InvalidInput:
        return _render_dashboard(agent, 400, "bad_due_at", callback_id)
    except Conflict:
        return _render_dashboard(agent, 409, "not_pending", callback_id)
    return redirect(url_for("agent.home", notice="moved", _anchor="callbacks"), code=303)
