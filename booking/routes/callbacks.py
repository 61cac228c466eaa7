"""Admin JSON API for the callback queue: list, mark done, move (bearer ``BOOKING_ADMIN_TOKEN``)."""

from __future__ import annotations

from typing import Any

from flask_openapi3 import APIBlueprint, Tag

from booking import clock
from booking.core.sla import Severity
from booking.extensions import db
from booking.models import Callback
from booking.routes.admin import ERRORS, SECURITY, require_admin
from booking.routes.common import settings
from booking.routes.schemas import CallbackList, CallbackMove, CallbackOut, CallbackPath, CallbackQuery
from booking.services import callbacks

bp = APIBlueprint("callbacks", __name__, url_prefix="/api", abp_tags=[Tag(name="admin")], abp_security=SECURITY)
bp.before_request(require_admin)


def serialize_callback(callback: Callback) -> dict[str, Any]:
    tz = settings().timezone
    vm = callback.voicemail
    booking = callback.booking
    return {
        "id": callback.id,
        "customer": callback.customer.name if callback.customer else None,
        "customer_id": callback.customer_id,
        "agent": callback.agent.slug if callback.agent else None,
        "agent_name": callback.agent.name if callback.agent else None,
        "phone": callback.phone,
        "due_at": callback.due_at.astimezone(tz).isoformat(),
        "status": callback.status,
        "severity": callback.severity,
        "severity_label": Severity(callback.severity).label,
        "created_at": callback.created_at.astimezone(tz).isoformat(),
        "done_at": callback.done_at.astimezone(tz).isoformat() if callback.done_at else None,
        "voicemail": {
            "recording_url": vm.recording_url,
            "duration": vm.duration,
            "recording_sid": vm.recording_sid,
            "call_sid": vm.call_sid,
            "received_at": vm.received_at.astimezone(tz).isoformat(),
        },
        "reserved": None
        if booking is None
        else {
            "booking_id": booking.id,
            "uid": booking.uid,
            "start": booking.start_at.astimezone(tz).isoformat(),
            "end": booking.end_at.astimezone(tz).isoformat(),
            "status": booking.status,
        },
    }


@bp.get("/callbacks", responses={200: CallbackList, **ERRORS})
def list_callbacks(query: CallbackQuery) -> Any:
    """Queued callbacks, soonest due first (``?status=pending`` for the work queue)."""
    rows = callbacks.list_callbacks(db.session, status=query.status, agent_slug=query.agent)
    return {"callbacks": [serialize_callback(c) for c in rows]}


@bp.post("/callbacks/<int:callback_id>/done", responses={200: CallbackOut, **ERRORS})
def complete_callback(path: CallbackPath) -> Any:
    """Mark a callback done; its reservation is released if it has not started yet. Idempotent."""
    callback, _ = callbacks.complete(db.session, path.callback_id, clock.now())
    return serialize_callback(callback)


@bp.post("/callbacks/<int:callback_id>/move", responses={200: CallbackOut, **ERRORS})
def move_callback(path: CallbackPath, body: CallbackMove) -> Any:
    """Give a pending callback a new due time; its reservation moves to the first free time after it."""
    callback, _ = callbacks.move(db.session, settings(), path.callback_id, body.due_at, clock.now())
    return serialize_callback(callback)
