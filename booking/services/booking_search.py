"""The admin's list of bookings (``GET /api/bookings``): read-only, filters checked here.

Booking rows are written only by ``booking.services.schedule``; this module only reads them.
Days are whole days in the business zone, ``[from 00:00, to 00:00)``, as everywhere in the API.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.config import Settings
from booking.models import Booking
from booking.services.directory import agent_by_slug, customer_by_id
from booking.services.errors import InvalidInput

#: The widest window one request may list (the same bound as availability's 62 days would be too tight
#: for an admin looking back over a year; ten years keeps the date arithmetic far from overflow).
MAX_SPAN = timedelta(days=3660)


def _midnight(day: date, settings: Settings) -> datetime:
    return datetime.combine(day, time(0), tzinfo=settings.timezone)


def find(
    session: Session,
    settings: Settings,
    *,
    agent_slug: str | None = None,
    customer_id: int | None = None,
    status: str | None = None,
    kind: str | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: int = 500,
) -> list[Booking]:
    """Bookings overlapping the days asked, earliest first; 404 for an unknown agent or customer."""
    if start is not None and end is not None:
        if end <= start:
            raise InvalidInput("'to' must be after 'from'", code="bad_window")
        if end - start > MAX_SPAN:
            raise InvalidInput("the window must be at most ten years", code="bad_window")
    for day in (start, end):
        if day is not None and not 1970 <= day.year <= 2999:
            raise InvalidInput("dates must be between 1970 and 2999", code="bad_window")
    stmt = select(Booking)
    if agent_slug is not None:
        stmt = stmt.where(Booking.agent_id == agent_by_slug(session, agent_slug).id)
    if customer_id is not None:
        stmt = stmt.where(Booking.customer_id == customer_by_id(session, customer_id).id)
    if status is not None:
        stmt = stmt.where(Booking.status == status)
    if kind is not None:
        stmt = stmt.where(Booking.kind == kind)
    if start is not None:
        stmt = stmt.where(Booking.end_at > _midnight(start, settings))
    if end is not None:
        stmt = stmt.where(Booking.start_at < _midnight(end, settings))
    return list(session.scalars(stmt.order_by(Booking.start_at, Booking.id).limit(limit)))
