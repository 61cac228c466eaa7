"""Customer JSON API: availability, book, cancel, reschedule, the invitation .ics."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_openapi3 import APIBlueprint, Tag
from sqlalchemy import select

from booking import clock, links
from booking.calendar_sync.invitations import invitation_ics, video_url
from booking.db_faults import AnswerFromMemory
from booking.extensions import db
from booking.i18n import LOCALES
from booking.models import Agent, Booking
from booking.routes.common import external_url, settings
from booking.routes.schemas import (
    AgentPath,
    AvailabilityOut,
    AvailabilityQuery,
    BookingCreate,
    BookingOut,
    BookingPath,
    BookingReschedule,
    ErrorResponse,
    IcsQuery,
    IdempotencyHeader,
    ManageToken,
    Responses,
)
from booking.services import bookings
from booking.services.availability import free_slots_for, parse_zone, validate_duration, window_for
from booking.services.errors import NotFound

bp = APIBlueprint("api", __name__, url_prefix="/api", abp_tags=[Tag(name="customer")])

ERRORS: Responses = {
    400: ErrorResponse,
    403: ErrorResponse,
    404: ErrorResponse,
    409: ErrorResponse,
    413: ErrorResponse,
    503: ErrorResponse,
}


def serialize_booking(booking: Booking) -> dict[str, Any]:
    cfg = settings()
    tz = cfg.timezone
    token = booking.manage_token
    return {
        "id": booking.id,
        "uid": booking.uid,
        "agent": booking.agent.slug,
        "agent_name": booking.agent.name,
        "start": booking.start_at.astimezone(tz).isoformat(),
        "end": booking.end_at.astimezone(tz).isoformat(),
        "duration": booking.duration_minutes,
        "topic": booking.topic,
        "status": booking.status,
        "sequence": booking.sequence,
        "name": booking.contact_name,
        "email": booking.contact_email,
        "notes": booking.notes,
        "timezone": booking.contact_timezone or tz.key,
        "language": booking.locale or "en",
        "phone": booking.phone,
        "call_method": booking.call_method,
        "video_url": video_url(booking, cfg),
        "ics_url": external_url(links.invite_path(booking)),
        "manage_url": external_url(links.manage_path(booking)),
        "manage_token": token,
    }


@bp.get("/agents/<slug>/availability", responses={200: AvailabilityOut, **ERRORS})
def availability(path: AgentPath, query: AvailabilityQuery) -> Any:
    """Free slots of an agent in ``[start 00:00, end 00:00)`` of ``tz``, ordered by start."""
    cfg = settings()
    agent = db.session.scalar(select(Agent).where(Agent.slug == path.slug, Agent.active.is_(True)))
    if agent is None:
        raise NotFound(f"no agent {path.slug!r}", code="unknown_agent")
    tz = parse_zone(query.tz, cfg)
    duration = validate_duration(query.duration, cfg)
    window = window_for(query.start, query.end, tz)
    slots = free_slots_for(db.session, cfg, agent, window, duration, clock.now())
    return {
        "agent": agent.slug,
        "timezone": tz.key,
        "duration": int(duration.total_seconds() // 60),
        "slots": [{"start": s.astimezone(tz).isoformat(), "end": e.astimezone(tz).isoformat()} for s, e in slots],
    }


@bp.post("/bookings", responses={201: BookingOut, **ERRORS, 429: ErrorResponse})
def create_booking(body: BookingCreate, header: IdempotencyHeader) -> Any:
    """Book a call with the customer's dedicated agent. ``Idempotency-Key`` makes retries safe."""
    req = bookings.BookingRequest(
        token=body.token,
        start=body.start,
        duration_minutes=body.duration,
        topic=body.topic,
        name=body.name,
        email=str(body.email),
        notes=body.notes,
        locale=body.language or body.locale or request.accept_languages.best_match(LOCALES) or "en",
        idempotency_key=header.idempotency_key,
        timezone=body.timezone,
        phone=body.phone,
        call_method=body.call_method,
    )
    with AnswerFromMemory(db.session) as memory:  # committed means 201, even if the database goes away now
        result = bookings.book(db.session, settings(), req, clock.now())
        memory.restore()
        answer = serialize_booking(result.booking)
    return answer, 201


@bp.post("/bookings/<int:booking_id>/cancel", responses={200: BookingOut, **ERRORS})
def cancel_booking(path: BookingPath, body: ManageToken) -> Any:
    """Cancel a booking; its slot is offered again at once."""
    with AnswerFromMemory(db.session) as memory:
        booking, _ = bookings.cancel(db.session, path.booking_id, body.token, clock.now())
        memory.restore()
        answer = serialize_booking(booking)
    return answer


@bp.post("/bookings/<int:booking_id>/reschedule", responses={200: BookingOut, **ERRORS})
def reschedule_booking(path: BookingPath, body: BookingReschedule) -> Any:
    """Move a booking to another offered slot (same UID, SEQUENCE+1)."""
    with AnswerFromMemory(db.session) as memory:
        booking, _ = bookings.reschedule(
            db.session, settings(), path.booking_id, body.token, body.start, body.duration, clock.now(), body.timezone
        )
        memory.restore()
        answer = serialize_booking(booking)
    return answer


@bp.get(
    "/bookings/<int:booking_id>/invite.ics",
    responses={200: {"content": {"text/calendar": {"schema": {"type": "string"}}}}, **ERRORS},
)
def booking_ics(path: BookingPath, query: IcsQuery) -> Any:
    """The invitation (METHOD:REQUEST, or CANCEL once cancelled) for the contact's calendar."""
    booking = bookings.get_managed(db.session, path.booking_id, query.token)
    body = invitation_ics(booking, settings(), clock.now())
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="booking-{booking.id}.ics"'},
    )
