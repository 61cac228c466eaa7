"""The support manager's console in the browser (issue 14, item 3): agents, and the audit log.

Server-rendered like the dashboard, CSRF-protected POST forms that redirect back (post/redirect/get),
so it works without JavaScript. Only a signed-in agent with the ``admin`` flag gets in (anyone else
signed in sees a friendly 403). Every form calls the same service as the admin API (one validation
path: ``booking.services.validation`` through ``directory``), re-renders with the service's message
and everything typed when it is refused, and every change is written to the audit log.
Customers and bookings are in ``booking.routes.admin_customers``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from booking import clock, links
from booking.calendar_sync import feed
from booking.calendar_sync.connection import connect_calendar
from booking.calendar_sync.sync import sync_agent
from booking.core.business_time import WEEKDAYS
from booking.extensions import db
from booking.models import Agent
from booking.routes.agent import format_instant, signed_in
from booking.routes.common import external_url, settings
from booking.routes.pages import page
from booking.services import audit, directory, time_off
from booking.services.errors import ServiceError
from booking.vocabulary import Language, Tier

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")

NOTICES: dict[str, Any] = {
    "created": _l("Created."),
    "saved": _l("Saved."),
    "hours": _l("Working hours saved: the booking pages offer the new times at once."),
    "time_off_added": _l("Time off added."),
    "time_off_removed": _l("Time off removed."),
    "calendar": _l("Calendar connected: the server answered."),
    "synced": _l("Connection tested: one sync pass ran."),
    "feed_key": _l("New feed address issued: the old one stopped working."),
    "rotated": _l("New booking link issued: the old one stopped working."),
    "cancelled": _l("The call is cancelled and the contact was told why by e-mail."),
}


def admin_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """``view(admin, ...)`` for a signed-in admin; sign-in page for nobody, a 403 page for other agents."""

    @wraps(view)
    def check(agent: Agent, *args: Any, **kwargs: Any) -> Any:
        if not agent.admin:
            title = _l("This page is for admins")
            message = _l("Your account cannot manage agents and customers. Ask an admin if you need to.")
            return make_response(render_template("error.html", status=403, title=title, message=message), 403)
        return view(agent, *args, **kwargs)

    return signed_in(check)


def log(admin: Agent, action: str, target: str, details: dict[str, Any] | None = None) -> None:
    audit.record(db.session, f"agent:{admin.slug}", action, target, details, clock.now())


def render(template: str, admin: Agent, status: int = 200, **context: Any) -> Any:
    """An admin page: the admin, the notice named in ``?notice=``, times in the admin's zone (by default)."""
    tz = ZoneInfo(admin.timezone)
    context.setdefault("instant", lambda moment: format_instant(moment, tz) if moment else "")
    return page(template, status, admin=admin, notice=NOTICES.get(request.args.get("notice", "")), **context)


def checkbox(name: str) -> bool:
    return request.form.get(name) in ("on", "true", "1", "yes")


def agent_form() -> dict[str, Any]:
    """The agent form's fields as typed (strings and booleans), for the service and for a re-render."""
    form = request.form
    return {
        "slug": form.get("slug", "").strip(),
        "name": form.get("name", ""),
        "email": form.get("email", "").strip(),
        "phone": form.get("phone", "").strip(),
        "timezone": form.get("timezone", "").strip(),
        "tier": form.get("tier", Tier.DEDICATED),
        "on_call": checkbox("on_call"),
        "admin": checkbox("admin"),
        "active": checkbox("active"),
        "language": form.get("language", Language.EN).strip(),
        "buffer_minutes": form.get("buffer_minutes", "").strip(),
        "max_calls_per_day": form.get("max_calls_per_day", "").strip(),
    }


#: The agent's own booking rules (issue 18): typed as text, a whole number for the service.
RULE_FIELDS = ("buffer_minutes", "max_calls_per_day")
_WHOLE = re.compile(r"[0-9]{1,9}")


def _rule(typed: str) -> int | str | None:
    """Empty: None (the deployment's default); digits: the number; anything else as typed, for
    ``validation.minutes_or_default`` (through ``directory``) to refuse with the API's message."""
    if not typed:
        return None
    return int(typed) if _WHOLE.fullmatch(typed) else typed


def service_fields(form: dict[str, Any]) -> dict[str, Any]:
    """The typed form as the directory service takes it (the rules as numbers, the rest as typed)."""
    return {k: (_rule(v) if k in RULE_FIELDS else v) for k, v in form.items()}


def rules_text(agent: Agent) -> dict[str, str]:
    """The agent's rules as the form shows them: 0 stays "0", the default (None) is an empty field."""
    return {k: "" if getattr(agent, k) is None else str(getattr(agent, k)) for k in RULE_FIELDS}


_SHIFT_SPLIT = re.compile(r"[,;\s]+")


def hours_form() -> dict[str, str]:
    return {day: request.form.get(f"hours-{day}", "").strip() for day in WEEKDAYS}


def hours_text(agent: Agent) -> dict[str, str]:
    hours = agent.working_hours or {}
    return {day: ", ".join(hours.get(day, [])) for day in WEEKDAYS}


def local_input(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def parse_local(raw: str, tz: ZoneInfo) -> datetime | None:
    """A ``datetime-local`` value is a wall time in the agent's zone."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


# --------------------------------------------------------------------------- #
# Agents
# --------------------------------------------------------------------------- #


def _agents_page(admin: Agent, status: int = 200, form: dict[str, Any] | None = None, error: str | None = None) -> Any:
    blank = {"tier": Tier.DEDICATED, "timezone": settings().timezone.key, "active": True, "language": Language.EN}
    return render(
        "admin/agents.html",
        admin,
        status,
        agents=directory.list_agents(db.session),
        form=form or blank,
        error=error,
        tiers=list(Tier),
        languages=list(Language),
        defaults=settings(),
    )


@bp.get("")
@admin_only
def home(admin: Agent) -> Any:
    return redirect(url_for("admin_pages.agents"), code=303)


@bp.route("/agents", methods=["GET", "POST"])
@admin_only
def agents(admin: Agent) -> Any:
    """Every agent, and the form to add one."""
    if request.method == "GET":
        return _agents_page(admin)
    form = agent_form()
    fields = {k: v for k, v in service_fields(form).items() if k != "active"}
    fields["timezone"] = fields["timezone"] or None
    try:
        agent = directory.create_agent(db.session, settings(), **fields)
    except ServiceError as exc:
        return _agents_page(admin, exc.status, form, exc.message)
    log(admin, "create_agent", f"agent:{agent.slug}", {k: v for k, v in fields.items() if k != "slug"})
    return redirect(url_for("admin_pages.agent", slug=agent.slug, notice="created"), code=303)


def _agent_page(
    admin: Agent, agent: Agent, status: int = 200, error: str | None = None, section: str | None = None, **typed: Any
) -> Any:
    tz = ZoneInfo(agent.timezone)
    form = typed.get("form") or {
        "name": agent.name,
        "email": agent.email,
        "phone": agent.phone,
        "timezone": agent.timezone,
        "tier": agent.tier,
        "on_call": agent.on_call,
        "admin": agent.admin,
        "active": agent.active,
        "language": agent.language,
        **rules_text(agent),
    }
    return render(
        "admin/agent.html",
        admin,
        status,
        agent=agent,
        form=form,
        hours=typed.get("hours") or hours_text(agent),
        business_hours=typed.get("business_hours", agent.working_hours is None),
        time_off=time_off.upcoming(db.session, agent, clock.now()),
        time_off_form=typed.get("time_off_form") or {},
        calendar_form=typed.get("calendar_form") or {"url": agent.calendar.url if agent.calendar else ""},
        error=error,
        section=section,
        weekdays=WEEKDAYS,
        tiers=list(Tier),
        languages=list(Language),
        defaults=settings(),
        tz=tz,
        local=lambda moment: local_input(moment, tz),
        instant=lambda moment: format_instant(moment, tz) if moment else "",  # the agent's zone, as the form
        feed_url=external_url(links.feed_path(agent)),
        entries=audit.recent(db.session, 20, target=f"agent:{agent.slug}"),
    )


@bp.route("/agents/<slug>", methods=["GET", "POST"])
@admin_only
def agent(admin: Agent, slug: str) -> Any:
    """One agent: details, working hours, time off, calendar and feed (each its own form)."""
    target = directory.agent_by_slug(db.session, slug)  # 404 page for an unknown slug
    if request.method == "GET":
        return _agent_page(admin, target)
    form = agent_form()
    changes = {k: v for k, v in service_fields(form).items() if k != "slug"}
    try:
        directory.update_agent(db.session, slug, changes, clock.now())
    except ServiceError as exc:
        db.session.rollback()
        return _agent_page(
            admin, directory.agent_by_slug(db.session, slug), exc.status, exc.message, "details", form=form
        )
    log(admin, "update_agent", f"agent:{slug}", changes)
    return redirect(url_for("admin_pages.agent", slug=slug, notice="saved"), code=303)


@bp.post("/agents/<slug>/hours")
@admin_only
def agent_hours(admin: Agent, slug: str) -> Any:
    """The working-hours editor: per weekday, one or more shifts (``09:00-12:00, 13:00-17:00``)."""
    target = directory.agent_by_slug(db.session, slug)
    typed = hours_form()
    business = checkbox("business_hours")
    hours = None if business else {d: _SHIFT_SPLIT.split(v) for d, v in typed.items() if v}
    try:
        directory.update_agent(db.session, slug, {"working_hours": hours}, clock.now())
    except ServiceError as exc:
        return _agent_page(admin, target, exc.status, exc.message, "hours", hours=typed, business_hours=business)
    log(admin, "update_working_hours", f"agent:{slug}", {"working_hours": hours})
    return redirect(url_for("admin_pages.agent", slug=slug, notice="hours", _anchor="hours"), code=303)


@bp.post("/agents/<slug>/time-off")
@admin_only
def agent_time_off(admin: Agent, slug: str) -> Any:
    target = directory.agent_by_slug(db.session, slug)
    tz = ZoneInfo(target.timezone)
    typed = {k: request.form.get(k, "") for k in ("start", "end", "reason")}
    start, end = parse_local(typed["start"], tz), parse_local(typed["end"], tz)
    if start is None or end is None:
        message = str(_l("Please enter a start and an end (date and time)."))
        return _agent_page(admin, target, 400, message, "time_off", time_off_form=typed)
    try:
        added = time_off.add(db.session, target, start, end, typed["reason"].strip() or None)
    except ServiceError as exc:
        return _agent_page(admin, target, exc.status, exc.message, "time_off", time_off_form=typed)
    details = {"start": start.isoformat(), "end": end.isoformat(), "reason": typed["reason"], "id": added.time_off.id}
    log(admin, "add_time_off", f"agent:{slug}", details)
    return redirect(url_for("admin_pages.agent", slug=slug, notice="time_off_added", _anchor="time-off"), code=303)


@bp.post("/agents/<slug>/time-off/<int(max=2147483647):time_off_id>/remove")
@admin_only
def agent_time_off_remove(admin: Agent, slug: str, time_off_id: int) -> Any:
    target = directory.agent_by_slug(db.session, slug)
    time_off.remove(db.session, target, time_off_id)  # 404 page when it is not this agent's
    log(admin, "remove_time_off", f"agent:{slug}", {"id": time_off_id})
    return redirect(url_for("admin_pages.agent", slug=slug, notice="time_off_removed", _anchor="time-off"), code=303)


@bp.post("/agents/<slug>/calendar")
@admin_only
def agent_calendar(admin: Agent, slug: str) -> Any:
    """Connect the CalDAV calendar; the server is checked first, its refusal shown on the page."""
    target = directory.agent_by_slug(db.session, slug)
    typed = {k: request.form.get(k, "").strip() for k in ("url", "username")}
    password = request.form.get("password", "")
    try:
        connect_calendar(db.session, settings(), target, typed["url"], typed["username"], password, clock.now())
    except ServiceError as exc:
        db.session.rollback()
        return _agent_page(admin, target, exc.status, exc.message, "calendar", calendar_form=typed)
    log(admin, "connect_calendar", f"agent:{slug}", typed)
    return redirect(url_for("admin_pages.agent", slug=slug, notice="calendar", _anchor="calendar"), code=303)


@bp.post("/agents/<slug>/calendar/test")
@admin_only
def agent_calendar_test(admin: Agent, slug: str) -> Any:
    """ "Test connection": one sync pass now; the result is the page's last sync status."""
    target = directory.agent_by_slug(db.session, slug)
    try:
        counts = sync_agent(db.session, settings(), target, clock.now())
    except ServiceError as exc:
        db.session.rollback()
        return _agent_page(admin, directory.agent_by_slug(db.session, slug), exc.status, exc.message, "calendar")
    log(admin, "test_calendar", f"agent:{slug}", counts.as_dict())
    return redirect(url_for("admin_pages.agent", slug=slug, notice="synced", _anchor="calendar"), code=303)


@bp.post("/agents/<slug>/feed-key")
@admin_only
def agent_feed_key(admin: Agent, slug: str) -> Any:
    target = directory.agent_by_slug(db.session, slug)
    feed.rotate_feed_key(db.session, target)
    log(admin, "rotate_feed_key", f"agent:{slug}")
    return redirect(url_for("admin_pages.agent", slug=slug, notice="feed_key", _anchor="feed"), code=303)


# --------------------------------------------------------------------------- #
# Audit log
# --------------------------------------------------------------------------- #


@bp.get("/audit")
@admin_only
def audit_log(admin: Agent) -> Any:
    """The latest admin actions, newest first: who, when, what, on what, with the details."""
    return render("admin/audit.html", admin, entries=audit.recent(db.session, 300))
