"""The phone actions of the API (issue 16): "Call now" on a phone request, and a warm hand-off.

``POST /api/requests/<id>/call`` and ``POST /api/calls/<call_sid>/handoff`` take the admin bearer
token or a signed-in agent's session (with ``X-CSRFToken``), exactly as the per-request actions of
:mod:`booking.routes.requests` do (its ``AGENT_ENDPOINTS`` lists these two). Both answer ``201``
when they started something and ``200`` when the press was a replay of one already started.
"""

from __future__ import annotations

from typing import Annotated, Any

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field, StringConstraints

from booking import clock
from booking.extensions import csrf, db
from booking.models_calls import CallAttempt, Handoff
from booking.routes.admin import SECURITY
from booking.routes.common import settings
from booking.routes.request_schemas import Id, RequestPath
from booking.routes.requests import ERRORS, actor_for_request
from booking.routes.schemas import Slug, Strict
from booking.services import call_now, handoff

bp = APIBlueprint("phone", __name__, url_prefix="/api", abp_tags=[Tag(name="phone")], abp_security=SECURITY)

CallSid = Annotated[str, StringConstraints(pattern=r"^CA[0-9a-fA-F]{32}$")]


class CallBody(Strict):
    attempt: Id | None = Field(
        None, description="the attempt number the page showed; a replay of it places no second call"
    )


class AttemptOut(BaseModel):
    id: int
    request_id: int
    attempt: int
    agent: str
    status: str
    outcome: str | None
    call_sid: str | None


class CallPath(BaseModel):
    call_sid: CallSid


class HandoffBody(Strict):
    senior: Slug | None = Field(None, description="the senior to bring in; default: the first on duty")


class HandoffOut(BaseModel):
    call_sid: str
    conference: str
    request_id: int
    agent: str
    senior: str


def _attempt(row: CallAttempt) -> dict[str, Any]:
    return {
        "id": row.id,
        "request_id": row.request_id,
        "attempt": row.attempt,
        "agent": row.agent.slug,
        "status": row.status,
        "outcome": row.outcome,
        "call_sid": row.call_sid,
    }


def _handoff(row: Handoff) -> dict[str, Any]:
    return {
        "call_sid": row.call_sid,
        "conference": row.conference,
        "request_id": row.request_id,
        "agent": row.agent.slug,
        "senior": row.senior.slug,
    }


@bp.post("/requests/<int:request_id>/call", responses={200: AttemptOut, 201: AttemptOut, **ERRORS})
def call_request(path: RequestPath, body: CallBody) -> Any:
    """Call now: ring the agent's phone, then the customer's, with the service's number as caller ID."""
    press = call_now.press(db.session, path.request_id, actor_for_request(), body.attempt, clock.now())
    return _attempt(press.attempt), 201 if press.created else 200


@bp.post("/calls/<call_sid>/handoff", responses={200: HandoffOut, 201: HandoffOut, **ERRORS})
def handoff_call(path: CallPath, body: HandoffBody) -> Any:
    """Bring a senior into a live call: both legs move into a conference, the senior is dialled in."""
    result = handoff.start(db.session, settings(), path.call_sid, actor_for_request(), body.senior, clock.now())
    return _handoff(result.handoff), 201 if result.created else 200


@bp.before_request
def authenticate() -> None:
    actor_for_request()


def register(app: Any) -> None:
    from booking.routes import live_calls

    csrf.exempt(bp)  # the session path checks CSRF by hand (actor_for_request)
    app.register_api(bp)
    app.register_blueprint(live_calls.bp)  # the dashboard's "Bring in a senior" form (CSRF-protected)
