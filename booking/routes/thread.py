"""One request's page for the agent (issue 15): what came in, what went out, and the reply form.

An e-mail request shows its whole thread (the quoted history stripped, attachments listed) and a
CSRF-protected form whose text goes out through the outbox, threaded, from the support address;
other channels show the request's log. Someone else's request answers 404, as in the queue.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, redirect, request, url_for
from flask_babel import lazy_gettext as _l

from booking import clock
from booking.extensions import db
from booking.inbound.models import RequestAttachment
from booking.inbound.reply import MAX_REPLY, reply, thread_of
from booking.models import Agent
from booking.routes.agent import SEVERITY_NAMES, format_instant, signed_in
from booking.routes.common import settings
from booking.routes.pages import page
from booking.routes.queue import CHANNEL_NAMES
from booking.services import requests
from booking.services.errors import ServiceError
from booking.services.requests import Actor

bp = Blueprint("thread", __name__, url_prefix="/agent/requests")

NOTICES: dict[str, tuple[str, Any]] = {
    "sent": ("success", _l("Your reply is on its way; it is the first response if none was recorded.")),
}


def _render(agent: Agent, request_id: int, status: int = 200, error: str | None = None, draft: str = "") -> Any:
    item = requests.owned_request(db.session, agent, request_id)
    tz = ZoneInfo(agent.timezone)
    messages = thread_of(db.session, item.id)
    return page(
        "agent/request.html",
        status,
        agent=agent,
        item=item,
        messages=messages,
        events=requests.events_of(db.session, item.id),
        channels=CHANNEL_NAMES,
        can_reply=bool(settings().support_email)
        and item.status != "resolved"
        and any(m.direction == "in" for m in messages),
        max_reply=MAX_REPLY,
        notice=NOTICES.get(request.args.get("notice", "")),
        error=error,
        draft=draft,
        instant=lambda moment: format_instant(moment, tz),
        severity=lambda value: f"{value} {SEVERITY_NAMES.get(value, '')}",
    )


@bp.get("/<int(max=2147483647):request_id>")
@signed_in
def show(agent: Agent, request_id: int) -> Any:
    return _render(agent, request_id)


@bp.post("/<int(max=2147483647):request_id>/reply")
@signed_in
def send_reply(agent: Agent, request_id: int) -> Any:
    requests.owned_request(db.session, agent, request_id)
    text = request.form.get("text", "")
    try:
        reply(db.session, settings(), request_id, text, Actor.for_agent(agent), clock.now())
    except ServiceError as exc:
        if exc.status not in (400, 409):
            raise
        return _render(agent, request_id, 400 if exc.status == 400 else 409, error=exc.message, draft=text[:MAX_REPLY])
    return redirect(url_for("thread.show", request_id=request_id, notice="sent", _anchor="thread"), code=303)


@bp.get("/<int(max=2147483647):request_id>/attachments/<int(max=2147483647):attachment_id>")
@signed_in
def attachment(agent: Agent, request_id: int, attachment_id: int) -> Any:
    """A stored attachment, always as a download (never rendered here: it is the sender's content)."""
    requests.owned_request(db.session, agent, request_id)
    item = db.session.get(RequestAttachment, attachment_id)
    if item is None or item.content is None or item.message.request_id != request_id:
        abort(404)
    # WSGI headers are Latin-1 (PEP 3333): a name like « 报告.pdf » in ``filename`` made the server fail
    # (500). An ASCII fallback, and the real name percent-encoded in ``filename*`` (RFC 6266/5987).
    fallback = "".join(c for c in item.filename if c.isascii() and (c.isalnum() or c in "._- ")) or "attachment"
    return Response(
        item.content,
        mimetype="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(item.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
