"""The agent's private iCalendar feed, for agents whose calendar app cannot use CalDAV.

Subscribed calendars re-download the whole feed and drop what is no longer in it, so the feed lists
the confirmed bookings and callback reservations only: a cancellation disappears on the next refresh.
The key is a random token (``agents.feed_key``), compared in constant time, and revocable by rotating it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from booking.calendar_sync.ics import build_feed
from booking.calendar_sync.invitations import event_spec
from booking.config import Settings
from booking.db_guards import write_transaction
from booking.models import Agent, Booking, new_token, token_matches
from booking.vocabulary import BookingStatus

__all__ = ["FEED_HISTORY", "agent_for_feed", "feed_ics", "rotate_feed_key"]

#: Recent past calls stay visible in the agent's calendar for this long.
FEED_HISTORY = timedelta(days=30)
_DUMMY_KEY = new_token()


def agent_for_feed(session: Session, slug: str, key: str | None) -> Agent | None:
    """The agent if ``key`` is its current feed key; None otherwise (unknown slug or wrong key alike)."""
    agent = session.scalar(select(Agent).where(Agent.slug == slug))
    expected = agent.feed_key if agent is not None else _DUMMY_KEY
    ok = token_matches(expected, key)
    return agent if ok and agent is not None and agent.active else None


def feed_ics(session: Session, settings: Settings, agent: Agent, now: datetime) -> bytes:
    bookings = session.scalars(
        select(Booking)
        .options(selectinload(Booking.customer), selectinload(Booking.agent))
        .where(
            Booking.agent_id == agent.id,
            Booking.status == BookingStatus.CONFIRMED,
            Booking.end_at >= now - FEED_HISTORY,
        )
        .order_by(Booking.start_at)
    )
    return build_feed((event_spec(b, settings) for b in bookings), now=now, name=f"Bookings: {agent.name}")


def rotate_feed_key(session: Session, agent: Agent) -> Agent:
    """Revoke the current feed URL: every subscriber of the old one now gets 404."""
    agent_id = agent.id
    with write_transaction(session):
        current = session.get(Agent, agent_id)
        assert current is not None
        current.feed_key = new_token()
    session.refresh(agent)
    return agent
