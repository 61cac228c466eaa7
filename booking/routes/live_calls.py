"""The dashboard's live calls (issue 16 item 2): "Bring in a senior" while on the phone with a customer.

A CSRF-protected form per live call posts here; the hand-off itself is ``services.handoff.start``
(the same as ``POST /api/calls/<call_sid>/handoff``), and the page redirects back to the dashboard.
Another agent's call answers 404, like one that does not exist.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, redirect, request, url_for

from booking import clock
from booking.extensions import db
from booking.models import Agent
from booking.routes.agent import signed_in
from booking.routes.common import settings
from booking.services import handoff
from booking.services.requests import Actor

bp = Blueprint("live_calls", __name__, url_prefix="/agent/calls")

_CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@bp.post("/<call_sid>/handoff")
@signed_in
def start(agent: Agent, call_sid: str) -> Any:
    if not _CALL_SID.match(call_sid):
        abort(404)
    senior = request.form.get("senior") or None
    if senior is not None and not _SLUG.match(senior):
        abort(400)
    result = handoff.start(db.session, settings(), call_sid, Actor.for_agent(agent), senior, clock.now())
    notice = "handoff" if result.created else "handoff_again"
    return redirect(url_for("agent.home", notice=notice, _anchor="live"), code=303)
