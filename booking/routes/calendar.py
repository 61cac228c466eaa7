"""Calendar routes: the admin's CalDAV connection / sync / feed-key endpoints, and the agent's feed.

The admin endpoints are added to ``routes.admin.bp`` (same bearer check, same OpenAPI tag); this
module must be imported before that blueprint is registered (``create_app`` does).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, request
from pydantic import BaseModel, Field

from booking import clock
from booking.calendar_sync import feed
from booking.calendar_sync.connection import connect_calendar, disconnect_calendar
from booking.calendar_sync.sync import sync_agent
from booking.extensions import db
from booking.routes.admin import ERRORS, bp, serialize_agent
from booking.routes.api import run_outbox
from booking.routes.common import settings
from booking.routes.schemas import AgentOut, AgentPath, ErrorResponse, Strict
from booking.services import directory

__all__ = ["feed_bp"]


class CalendarConnect(Strict):
    url: str = Field(min_length=8, max_length=2000, description="CalDAV calendar collection URL (http/https)")
    username: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1000, description="stored encrypted; never returned")


class SyncOut(BaseModel):
    status: str = Field(description='"ok"; failures answer 502 with code calendar_unreachable/calendar_rejected')
    mode: str = Field(description='"incremental", or "full" (first pass, and every ~2 weeks to re-expand)')
    objects: int = Field(description="calendar objects known after the pass")
    changed: int = Field(description="objects downloaded and re-parsed")
    deleted: int = Field(description="objects removed on the server")
    own: int = Field(description="changed objects that are the service's own bookings (not busy blocks)")
    malformed: int = Field(description="changed objects that could not be parsed (logged, skipped)")
    busy_blocks: int = Field(description="busy blocks written by this pass")
    requests: int
    bytes_received: int
    duration_ms: int
    superseded: bool = Field(description="another pass applied concurrently; this one's result was dropped")
    expanded_until: str | None
    malformed_hrefs: list[str]


SYNC_ERRORS = {**ERRORS, 502: ErrorResponse}


@bp.put("/agents/<slug>/calendar", responses={200: AgentOut, **ERRORS})
def put_calendar(path: AgentPath, body: CalendarConnect) -> Any:
    """Connect the agent's CalDAV calendar. The server is checked first: 400 with its reason on failure."""
    agent = directory.agent_by_slug(db.session, path.slug)
    _, ids = connect_calendar(db.session, settings(), agent, body.url, body.username, body.password, clock.now())
    run_outbox(ids)  # upcoming bookings appear in the new calendar right away (or are retried)
    return serialize_agent(agent)


@bp.delete("/agents/<slug>/calendar", responses={200: AgentOut, **ERRORS})
def delete_calendar(path: AgentPath) -> Any:
    """Disconnect the agent's calendar: credentials, sync state and synced busy time are dropped."""
    agent = directory.agent_by_slug(db.session, path.slug)
    disconnect_calendar(db.session, agent)
    return serialize_agent(agent)


@bp.post("/agents/<slug>/sync", responses={200: SyncOut, **SYNC_ERRORS})
def sync_now(path: AgentPath) -> Any:
    """One sync pass now, synchronously. 409 ``no_calendar``; 502 when the calendar server fails."""
    agent = directory.agent_by_slug(db.session, path.slug)
    counts = sync_agent(db.session, settings(), agent, clock.now())
    return {"status": "ok", **counts.as_dict()}


@bp.post("/agents/<slug>/feed-key", responses={200: AgentOut, **ERRORS})
def rotate_feed_key(path: AgentPath) -> Any:
    """Issue a new private feed key; the previous feed URL stops working at once."""
    agent = directory.agent_by_slug(db.session, path.slug)
    return serialize_agent(feed.rotate_feed_key(db.session, agent))


feed_bp = Blueprint("calendar_feed", __name__)


@feed_bp.get("/agents/<slug>/calendar.ics")
def agent_feed(slug: str) -> Response:
    """The agent's private feed; 404 (not 403) for a wrong key, so a probe learns nothing."""
    agent = feed.agent_for_feed(db.session, slug, request.args.get("key"))
    if agent is None:
        abort(404)
    body = feed.feed_ics(db.session, settings(), agent, clock.now())
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'inline; filename="{agent.slug}.ics"',
            "Cache-Control": "private, no-store",
            "X-Robots-Tag": "noindex",
        },
    )
