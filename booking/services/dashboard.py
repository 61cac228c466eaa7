"""What an agent's dashboard shows: their upcoming calls, pending callbacks, recent voicemails.

Read-only queries, each filtered on the agent's id at the database: the dashboard never loads another
agent's rows and then hides them, so a template mistake cannot leak them. Acting on a callback is
checked inside ``callbacks.complete`` / ``move`` (``acting_agent_id``): someone else's callback
answers "not found", like one that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from booking.models import Agent, Booking, Callback, Voicemail
from booking.vocabulary import BookingKind, BookingStatus, CallbackStatus

#: How far back "recent voicemails" reaches, and how many rows each list shows at most.
VOICEMAIL_HISTORY = timedelta(days=14)
LIST_LIMIT = 50


@dataclass(frozen=True)
class RecentVoicemail:
    voicemail: Voicemail
    callback: Callback | None


@dataclass(frozen=True)
class Dashboard:
    agent: Agent
    calls: list[Booking]
    callbacks: list[Callback]
    voicemails: list[RecentVoicemail]


def upcoming_calls(session: Session, agent_id: int, now: datetime) -> list[Booking]:
    """Confirmed customer calls that have not ended yet (a call in progress stays on top)."""
    return list(
        session.scalars(
            select(Booking)
            .options(joinedload(Booking.customer))
            .where(
                Booking.agent_id == agent_id,
                Booking.kind == BookingKind.CALL,
                Booking.status == BookingStatus.CONFIRMED,
                Booking.end_at > now,
            )
            .order_by(Booking.start_at, Booking.id)
            .limit(LIST_LIMIT)
        )
    )


def pending_callbacks(session: Session, agent_id: int) -> list[Callback]:
    """The agent's open callbacks, soonest due first (overdue ones come first by construction)."""
    return list(
        session.scalars(
            select(Callback)
            .options(joinedload(Callback.voicemail), joinedload(Callback.customer), joinedload(Callback.booking))
            .where(Callback.agent_id == agent_id, Callback.status == CallbackStatus.PENDING)
            .order_by(Callback.due_at, Callback.id)
            .limit(LIST_LIMIT)
        ).unique()
    )


def recent_voicemails(session: Session, agent_id: int, now: datetime) -> list[RecentVoicemail]:
    """Voicemails for this agent in the last two weeks, newest first, with their callback's state."""
    rows = session.execute(
        select(Voicemail, Callback)
        .outerjoin(Callback, Callback.voicemail_id == Voicemail.id)
        .where(Voicemail.agent_id == agent_id, Voicemail.received_at >= now - VOICEMAIL_HISTORY)
        .order_by(Voicemail.received_at.desc(), Voicemail.id.desc())
        .limit(LIST_LIMIT)
    ).all()
    return [RecentVoicemail(voicemail, callback) for voicemail, callback in rows]


def load(session: Session, agent: Agent, now: datetime) -> Dashboard:
    return Dashboard(
        agent=agent,
        calls=upcoming_calls(session, agent.id, now),
        callbacks=pending_callbacks(session, agent.id),
        voicemails=recent_voicemails(session, agent.id, now),
    )
