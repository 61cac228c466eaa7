"""Who takes a customer's call when their dedicated agent is away (issue 14, item 4).

A customer may name a ``backup_agent``. The dedicated agent is *away* for a slot when a time off
period overlaps it, or altogether when they were deactivated. For such slots the booking page
offers the backup's free time (saying who is away and until when) instead of an empty page, and
the booking service books the backup: both ask :func:`agent_for_slot` / :func:`offered_slots`, so
what is shown is what gets booked. Outside time off the dedicated agent keeps every call. The chat
asks the same question for "now" (:meth:`Coverage.serving_at`): whose presence and name the visitor
sees, and whose panel receives the conversation.

Reads only; the rows are written by ``booking.services.schedule``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.config import Settings
from booking.core.intervals import Interval, merge, overlaps_any
from booking.models import Agent, Customer, TimeOff
from booking.services.availability import free_slots_for

#: The span a "who serves now" question asks about: [moment, moment + 1 µs) overlaps a time off
#: exactly when the moment lies inside it (half-open intervals).
INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class Coverage:
    """The customer's dedicated agent, the backup (active agents only) and when the dedicated one is away."""

    dedicated: Agent | None  # the dedicated agent, active or not (None: no agent assigned)
    backup: Agent | None  # the active backup agent, if any
    away: list[Interval]  # the dedicated agent's merged time off (UTC), from the query's start on

    @property
    def deactivated(self) -> bool:
        return self.dedicated is not None and not self.dedicated.active

    def away_at(self, start: datetime, end: datetime) -> bool:
        """Whether the dedicated agent cannot take a call in ``[start, end)``."""
        return self.deactivated or overlaps_any(self.away, start, end)

    def serving(self, start: datetime, end: datetime) -> Agent | None:
        """Who takes ``[start, end)``: the dedicated agent, or the backup while the dedicated one is
        away then (time off or deactivated); None when nobody active can."""
        if self.dedicated is None:
            return None
        if self.away_at(start, end) and self.backup is not None:
            return self.backup
        return self.dedicated if self.dedicated.active else None

    def serving_at(self, moment: datetime) -> Agent | None:
        """Who serves the customer at ``moment`` (the chat: presence, the conversation's owner)."""
        return self.serving(moment, moment + INSTANT)

    def can_serve(self, agent_id: int | None, moment: datetime) -> bool:
        """Whether ``agent_id`` may still serve the customer at ``moment``: the active backup, or the
        dedicated agent while not away. A conversation already with one of them stays with them."""
        if agent_id is None:
            return False
        if self.backup is not None and agent_id == self.backup.id:
            return True
        return (
            self.dedicated is not None and agent_id == self.dedicated.id and not self.away_at(moment, moment + INSTANT)
        )

    def away_until(self, moment: datetime) -> datetime | None:
        """The end of the absence running at (or starting after) ``moment``; None if deactivated or never."""
        if self.deactivated:
            return None
        return next((end for _start, end in self.away if end > moment), None)


def _active(session: Session, agent_id: int | None) -> Agent | None:
    agent = session.get(Agent, agent_id) if agent_id is not None else None
    return agent if agent is not None and agent.active else None


def coverage(session: Session, customer: Customer, since: datetime) -> Coverage:
    """Load the customer's coverage: time off is read from ``since`` on (e.g. now)."""
    dedicated = session.get(Agent, customer.agent_id) if customer.agent_id is not None else None
    backup = _active(session, customer.backup_agent_id)
    away: list[Interval] = []
    if dedicated is not None:
        rows = session.execute(
            select(TimeOff.start_at, TimeOff.end_at).where(TimeOff.agent_id == dedicated.id, TimeOff.end_at > since)
        ).all()
        away = merge((start, end) for start, end in rows)
    return Coverage(dedicated, backup, away)


def phone_agent(
    customer: Customer | None, dedicated: Agent | None, backup: Agent | None, away_now: bool, now: datetime
) -> Agent | None:
    """The agent whose phone a call from ``customer`` rings now: :meth:`Coverage.serving`, the booking
    page's rule, for the present moment, on rows the incoming-call webhook read in its one query.

    ``dedicated`` and ``backup`` are the rows of ``customer.agent_id`` and ``customer.backup_agent_id``
    (or None); ``away_now``: a time off of the dedicated agent runs at ``now``. None for customers
    without dedicated support (``Customer.eligible``) or when nobody active can take the call.
    """
    if customer is None or not customer.eligible or dedicated is None or dedicated.id != customer.agent_id:
        return None
    covering = backup if backup is not None and backup.active and backup.id == customer.backup_agent_id else None
    away = [(now, now + INSTANT)] if away_now else []
    return Coverage(dedicated, covering, away).serving_at(now)


def agent_for_slot(session: Session, customer: Customer, start: datetime, end: datetime) -> Agent | None:
    """The agent a call in ``[start, end)`` is booked with: the dedicated agent unless they are away
    then and a backup is named, in which case the backup. None when nobody active can take it."""
    return coverage(session, customer, start).serving(start, end)


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    agent: Agent


def offered_slots(
    session: Session,
    settings: Settings,
    customer: Customer,
    window: Interval,
    duration: timedelta,
    now: datetime,
) -> list[Slot]:
    """The slots the booking page offers: the dedicated agent's, and while they are away the backup's.

    A backup slot is offered only when the dedicated agent is away for it (the rule of
    :func:`agent_for_slot`), so the two lists never compete for the same time. Both lists respect
    the customer's cap of open calls (issue 18), as the booking service does.
    """
    cover = coverage(session, customer, now)
    slots: list[Slot] = []
    if cover.dedicated is not None and cover.dedicated.active:
        slots += [
            Slot(s, e, cover.dedicated)
            for s, e in free_slots_for(session, settings, cover.dedicated, window, duration, now, None, customer.id)
        ]
    if cover.backup is not None and cover.dedicated is not None:
        backup_free = free_slots_for(session, settings, cover.backup, window, duration, now, None, customer.id)
        slots += [Slot(s, e, cover.backup) for s, e in backup_free if cover.away_at(s, e)]
    return sorted(slots, key=lambda slot: slot.start)
