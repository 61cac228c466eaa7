"""Admin JSON API (bearer ``BOOKING_ADMIN_TOKEN``): agents and customers."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_openapi3 import APIBlueprint, Tag

from booking.extensions import db
from booking.models import Agent, Customer, token_matches
from booking.routes.common import external_url, settings
from booking.routes.schemas import (
    AgentCreate,
    AgentOut,
    AgentPath,
    CustomerCreate,
    CustomerOut,
    ErrorResponse,
)
from booking.services import directory
from booking.services.errors import ServiceError

SECURITY = [{"bearer": []}]
bp = APIBlueprint("admin", __name__, url_prefix="/api", abp_tags=[Tag(name="admin")], abp_security=SECURITY)

ERRORS = {400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse}


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


@bp.before_request
def require_admin() -> None:
    """Constant-time bearer check; the admin API stays closed while no token is configured."""
    expected = settings().admin_token
    if not expected:
        raise Unauthorized("the admin API is disabled: set BOOKING_ADMIN_TOKEN to enable it")
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not token_matches(expected, given.strip()):
        raise Unauthorized("missing or wrong bearer token")


def serialize_agent(agent: Agent) -> dict[str, Any]:
    conn = agent.calendar
    return {
        "slug": agent.slug,
        "name": agent.name,
        "email": agent.email,
        "phone": agent.phone,
        "timezone": agent.timezone,
        "tier": agent.tier,
        "working_hours": agent.working_hours,
        "on_call": agent.on_call,
        "feed_url": external_url(f"/agents/{agent.slug}/calendar.ics?key={agent.feed_key}"),
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
        "id": customer.id,
        "name": customer.name,
        "plan": customer.plan,
        "dedicated_support": customer.dedicated_support,
        "eligible": customer.eligible,
        "agent": customer.agent.slug if customer.agent else None,
        "phones": [p.e164 for p in customer.phones],
        "emails": [e.email for e in customer.emails],
        "booking_token": customer.booking_token,
        "booking_url": external_url(f"/book/{customer.booking_token}") if customer.eligible else None,
    }


@bp.post("/agents", responses={201: AgentOut, **ERRORS})
def create_agent(body: AgentCreate) -> Any:
    """Create an agent (dedicated = tier 1, senior = tier 2)."""
    agent = directory.create_agent(db.session, settings(), **body.model_dump())
    return serialize_agent(agent), 201


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
    )
    return serialize_customer(customer), 201
