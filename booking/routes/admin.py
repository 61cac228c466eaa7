"""Admin JSON API (bearer ``BOOKING_ADMIN_TOKEN``): agents, customers, bookings, agents' time off."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_openapi3 import APIBlueprint, Tag

from booking import clock, links
from booking.extensions import db
from booking.models import Agent, Booking, Customer, TimeOff, token_matches
from booking.routes import chat as chat_routes
from booking.routes.common import external_url, settings
from booking.routes.schemas import (
    AdminBookingList,
    AdminBookingQuery,
    AgentCreate,
    AgentList,
    AgentOut,
    AgentPatch,
    AgentPath,
    CustomerCreate,
    CustomerList,
    CustomerOut,
    CustomerPatch,
    CustomerPath,
    CustomerQuery,
    ErrorResponse,
    Responses,
    TimeOffCreate,
    TimeOffList,
    TimeOffOut,
    TimeOffPath,
)
from booking.services import audit, booking_search, directory, time_off
from booking.services.errors import ServiceError

SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]
bp = APIBlueprint("admin", __name__, url_prefix="/api", abp_tags=[Tag(name="admin")], abp_security=SECURITY)

ERRORS: Responses = {
    400: ErrorResponse,
    401: ErrorResponse,
    404: ErrorResponse,
    409: ErrorResponse,
    413: ErrorResponse,
    503: ErrorResponse,
}


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


@bp.before_request
def require_admin() -> None:
    """Constant-time bearer check; the admin API stays closed while no token is configured.

    ``BOOKING_ADMIN_TOKEN`` may list several tokens (comma-separated): during a rotation the old and
    the new one both work. Every configured token is compared, so timing does not tell which matched.
    """
    tokens = settings().security.admin_tokens
    if not tokens:
        raise Unauthorized("the admin API is disabled: set BOOKING_ADMIN_TOKEN to enable it")
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    matches = [token_matches(expected, given.strip()) for expected in tokens]
    if scheme.lower() != "bearer" or not any(matches):
        raise Unauthorized("missing or wrong bearer token")


@bp.after_request
def audit_api_write(response: Response) -> Response:
    """Every successful admin API write goes to the audit log (actor ``api``), secrets masked."""
    if request.method in ("GET", "HEAD", "OPTIONS") or not 200 <= response.status_code < 300:
        return response
    args = request.view_args or {}
    body = response.get_json(silent=True) if response.is_json else None
    if "slug" in args:
        target = f"agent:{args['slug']}"
    elif "customer_id" in args:
        target = f"customer:{args['customer_id']}"
    elif isinstance(body, dict) and "slug" in body:
        target = f"agent:{body['slug']}"
    elif isinstance(body, dict) and "id" in body:
        target = f"customer:{body['id']}"
    else:
        target = request.path
    action = (request.endpoint or "").rsplit(".", 1)[-1]
    details = request.get_json(silent=True)
    audit.record(db.session, "api", action, target, details if isinstance(details, dict) else {}, clock.now())
    return response


def serialize_brief(booking: Booking) -> dict[str, Any]:
    tz = settings().timezone
    return {
        "id": booking.id,
        "kind": booking.kind,
        "agent": booking.agent.slug,
        "customer_id": booking.customer_id,
        "start": booking.start_at.astimezone(tz).isoformat(),
        "end": booking.end_at.astimezone(tz).isoformat(),
    }


def serialize_changed(changed: directory.Changed[Any], serialize: Any) -> dict[str, Any]:
    """The agent or customer, plus the bookings still to come when this request deactivated it."""
    out: dict[str, Any] = serialize(changed.item)
    pending = changed.future_bookings
    out["future_bookings"] = None if pending is None else [serialize_brief(b) for b in pending]
    return out


def serialize_agent(agent: Agent) -> dict[str, Any]:
    conn = agent.calendar
    return {
        "active": agent.active,
        "slug": agent.slug,
        "name": agent.name,
        "email": agent.email,
        "phone": agent.phone,
        "timezone": agent.timezone,
        "tier": agent.tier,
        "working_hours": agent.working_hours,
        "on_call": agent.on_call,
        "admin": agent.admin,
        "language": agent.language,
        "buffer_minutes": agent.buffer_minutes,
        "max_calls_per_day": agent.max_calls_per_day,
        "feed_url": external_url(links.feed_path(agent)),
        "calendar": None
        if conn is None
        else {
            "url": conn.url,
            "username": conn.username,
            "last_sync_at": conn.last_sync_at.isoformat() if conn.last_sync_at else None,
            "last_sync_status": conn.last_sync_status,
            "last_sync_error": conn.last_sync_error,
            "last_sync_counts": conn.last_sync_counts,
        },
    }


def serialize_customer(customer: Customer) -> dict[str, Any]:
    return {
        "active": customer.active,
        "id": customer.id,
        "name": customer.name,
        "plan": customer.plan,
        "dedicated_support": customer.dedicated_support,
        "eligible": customer.eligible,
        "agent": customer.agent.slug if customer.agent else None,
        "backup_agent": customer.backup_agent.slug if customer.backup_agent else None,
        "phones": [p.e164 for p in customer.phones],
        "emails": [e.email for e in customer.emails],
        "booking_token": customer.booking_token,
        "booking_url": external_url(links.book_path(customer)) if customer.eligible else None,
        "chat_token": customer.chat_token,
        "chat_snippet": chat_routes.snippet(customer),
        "chat_origins": list(customer.chat_origins or []),
    }


@bp.post("/agents", responses={201: AgentOut, **ERRORS})
def create_agent(body: AgentCreate) -> Any:
    """Create an agent (dedicated = tier 1, senior = tier 2)."""
    agent = directory.create_agent(db.session, settings(), **body.model_dump())
    return serialize_agent(agent), 201


@bp.get("/agents", responses={200: AgentList, **ERRORS})
def list_agents() -> Any:
    """Every agent, active or not, by slug."""
    return {"agents": [serialize_agent(a) for a in directory.list_agents(db.session)]}


@bp.patch("/agents/<slug>", responses={200: AgentOut, **ERRORS})
def update_agent(path: AgentPath, body: AgentPatch) -> Any:
    """Change an agent: only the fields sent; deactivating lists the bookings still to come (kept)."""
    changes = body.model_dump(exclude_unset=True)
    if "email" in changes and changes["email"] is not None:
        changes["email"] = str(changes["email"])
    changed = directory.update_agent(db.session, path.slug, changes, clock.now())
    return serialize_changed(changed, serialize_agent)


@bp.post("/agents/<slug>/deactivate", responses={200: AgentOut, **ERRORS})
def deactivate_agent(path: AgentPath) -> Any:
    """The agent leaves: history kept, future bookings kept and listed (never cancelled)."""
    return serialize_changed(directory.deactivate_agent(db.session, path.slug, clock.now()), serialize_agent)


@bp.get("/agents/<slug>", responses={200: AgentOut, **ERRORS})
def get_agent(path: AgentPath) -> Any:
    """An agent with its calendar connection and last sync result."""
    return serialize_agent(directory.agent_by_slug(db.session, path.slug))


@bp.post("/customers", responses={201: CustomerOut, **ERRORS})
def create_customer(body: CustomerCreate) -> Any:
    """Create a customer account; eligible ones get a private booking link."""
    customer = directory.create_customer(
        db.session,
        name=body.name,
        plan=body.plan,
        dedicated_support=body.dedicated_support,
        agent_slug=body.agent,
        phones=body.phones,
        emails=[str(e) for e in body.emails],
        phone_region=settings().phone_region,
        backup_agent_slug=body.backup_agent,
    )
    return serialize_customer(customer), 201


@bp.get("/customers", responses={200: CustomerList, **ERRORS})
def list_customers(query: CustomerQuery) -> Any:
    """Every customer, active or not, by id; ``agent`` keeps one dedicated agent's."""
    return {"customers": [serialize_customer(c) for c in directory.list_customers(db.session, query.agent)]}


@bp.get("/customers/<int:customer_id>", responses={200: CustomerOut, **ERRORS})
def get_customer(path: CustomerPath) -> Any:
    return serialize_customer(directory.customer_by_id(db.session, path.customer_id))


@bp.patch("/customers/<int:customer_id>", responses={200: CustomerOut, **ERRORS})
def update_customer(path: CustomerPath, body: CustomerPatch) -> Any:
    """Change a customer: only the fields sent; deactivating lists the bookings still to come (kept)."""
    changes = body.model_dump(exclude_unset=True)
    if changes.get("emails") is not None:
        changes["emails"] = [str(e) for e in changes["emails"]]
    changed = directory.update_customer(
        db.session, path.customer_id, changes, clock.now(), phone_region=settings().phone_region
    )
    return serialize_changed(changed, serialize_customer)


@bp.post("/customers/<int:customer_id>/deactivate", responses={200: CustomerOut, **ERRORS})
def deactivate_customer(path: CustomerPath) -> Any:
    """The customer leaves: the booking link stops working; history and booked calls are kept and listed."""
    changed = directory.deactivate_customer(db.session, path.customer_id, clock.now())
    return serialize_changed(changed, serialize_customer)


@bp.get("/bookings", responses={200: AdminBookingList, **ERRORS})
def list_bookings(query: AdminBookingQuery) -> Any:
    """Bookings and callback reservations, earliest first, filtered by agent, customer, status, kind, days.

    The same path as the customer API's ``POST /api/bookings``; only this GET needs the admin token.
    """
    return _bookings(query)


@bp.get("/admin/bookings", responses={200: AdminBookingList, **ERRORS}, deprecated=True)
def list_bookings_alias(query: AdminBookingQuery) -> Any:
    """The first address of ``GET /api/bookings``, kept for scripts written against it."""
    return _bookings(query)


def _bookings(query: AdminBookingQuery) -> dict[str, Any]:
    found = booking_search.find(
        db.session,
        settings(),
        agent_slug=query.agent,
        customer_id=query.customer,
        status=query.status,
        kind=query.kind,
        start=query.from_,
        end=query.to,
        limit=query.limit,
    )
    return {"bookings": [serialize_booking(b) for b in found]}


def serialize_booking(booking: Booking) -> dict[str, Any]:
    tz = settings().timezone
    return {
        "id": booking.id,
        "uid": booking.uid,
        "kind": booking.kind,
        "agent": booking.agent.slug,
        "customer": {"id": booking.customer.id, "name": booking.customer.name},
        "start": booking.start_at.astimezone(tz).isoformat(),
        "end": booking.end_at.astimezone(tz).isoformat(),
        "duration": booking.duration_minutes,
        "topic": booking.topic,
        "status": booking.status,
        "name": booking.contact_name,
        "email": booking.contact_email,
        "created_at": booking.created_at.astimezone(tz).isoformat(),
        "cancelled_at": booking.cancelled_at.astimezone(tz).isoformat() if booking.cancelled_at else None,
    }


@bp.post("/customers/<int:customer_id>/booking-token", responses={200: CustomerOut, **ERRORS})
def rotate_booking_token(path: CustomerPath) -> Any:
    """Issue a new booking link for a customer; the old one stops working at once (a leaked link)."""
    return serialize_customer(directory.rotate_booking_token(db.session, path.customer_id))


@bp.post("/customers/<int:customer_id>/chat-token", responses={200: CustomerOut, **ERRORS})
def rotate_chat_token(path: CustomerPath) -> Any:
    """Issue a new chat token (a leaked snippet); the old one answers 404 at once."""
    from booking.services import chat

    return serialize_customer(chat.rotate_chat_token(db.session, path.customer_id))


def serialize_time_off(entry: TimeOff, overlapping: list[int] | None = None) -> dict[str, Any]:
    tz = settings().timezone
    return {
        "id": entry.id,
        "start": entry.start_at.astimezone(tz).isoformat(),
        "end": entry.end_at.astimezone(tz).isoformat(),
        "reason": entry.reason,
        "overlapping_bookings": overlapping,
    }


@bp.post("/agents/<slug>/time-off", responses={201: TimeOffOut, **ERRORS})
def add_time_off(path: AgentPath, body: TimeOffCreate) -> Any:
    """Block the agent's time (holiday, training); booked calls inside it are reported, not cancelled."""
    agent = directory.agent_by_slug(db.session, path.slug)
    added = time_off.add(db.session, agent, body.start, body.end, body.reason)
    return serialize_time_off(added.time_off, added.overlapping_bookings), 201


@bp.get("/agents/<slug>/time-off", responses={200: TimeOffList, **ERRORS})
def list_time_off(path: AgentPath) -> Any:
    """The agent's time off that has not ended yet."""
    agent = directory.agent_by_slug(db.session, path.slug)
    return {"time_off": [serialize_time_off(t) for t in time_off.upcoming(db.session, agent, clock.now())]}


@bp.delete("/agents/<slug>/time-off/<int:time_off_id>", responses={200: TimeOffList, **ERRORS})
def delete_time_off(path: TimeOffPath) -> Any:
    """Remove one period; the time is offered again at once. Answers the remaining time off."""
    agent = directory.agent_by_slug(db.session, path.slug)
    time_off.remove(db.session, agent, path.time_off_id)
    return {"time_off": [serialize_time_off(t) for t in time_off.upcoming(db.session, agent, clock.now())]}
