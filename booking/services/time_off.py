"""An agent's time off (holidays, training days, sick leave) entered by an admin.

Time off is busy time for availability like a synced calendar event. It does not cancel calls that
are already booked in that time — a person decides what to do with them — so adding it reports the
confirmed calls it overlaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.db_guards import write_transaction
from booking.models import Agent, Booking, TimeOff
from booking.services import schedule
from booking.services.availability import FIRST_YEAR, LAST_YEAR
from booking.services.errors import InvalidInput, NotFound
from booking.vocabulary import BookingStatus

MAX_SPAN = timedelta(days=366)


@dataclass(frozen=True)
class Added:
    time_off: TimeOff
    overlapping_bookings: list[int]  # confirmed calls and callbacks inside the new time off


def add(session: Session, agent: Agent, start: datetime, end: datetime, reason: str | None) -> Added:
    """Record time off; 400 when the interval is empty or longer than a year."""
    if end <= start:
        raise InvalidInput("end must be after start", code="bad_interval")
    if start.year < FIRST_YEAR or end.year > LAST_YEAR:
        # Far outside any horizon; before 1970 some zones have offsets in seconds (LMT), which no
        # ISO-8601/RFC 3339 date-time in our answers could carry.
        raise InvalidInput(f"time off must lie between {FIRST_YEAR} and {LAST_YEAR}", code="bad_interval")
    if end - start > MAX_SPAN:
        raise InvalidInput("time off may span at most 366 days; add several periods", code="bad_interval")
    agent_id = agent.id
    with write_transaction(session):  # the write lock up front: never "database is locked" on SQLite
        schedule.lock_agent(session, agent_id)  # first: serializes with bookings, bumps the busy-time version
        entry = TimeOff(agent_id=agent_id, start_at=start, end_at=end, reason=reason)
        session.add(entry)
        overlapping = session.scalars(
            select(Booking.id)
            .where(
                Booking.agent_id == agent_id,
                Booking.status == BookingStatus.CONFIRMED,
                Booking.start_at < end,
                Booking.end_at > start,
            )
            .order_by(Booking.start_at)
        ).all()
    return Added(entry, list(overlapping))


def upcoming(session: Session, agent: Agent, now: datetime) -> list[TimeOff]:
    """Time off that has not ended yet, soonest first."""
    return list(
        session.scalars(
            select(TimeOff).where(TimeOff.agent_id == agent.id, TimeOff.end_at > now).order_by(TimeOff.start_at)
        )
    )


def remove(session: Session, agent: Agent, time_off_id: int) -> None:
    """Delete one period of the agent's time off; 404 when it is not theirs."""
    agent_id = agent.id
    with write_transaction(session):
        schedule.lock_agent(session, agent_id)
        entry = session.get(TimeOff, time_off_id)
        if entry is None or entry.agent_id != agent_id:
            raise NotFound("no such time off for this agent", code="unknown_time_off")
        session.delete(entry)
