"""The chat button's presence, from facts only (issue 17): never from "a tab is open".

Peers' presence lies (Chatwoot #273/#1600, Zammad #4970): an agent shows "online" because a browser
tab stayed open over the weekend. Here presence is computed, at ``now``, from what the service knows:

1. ``closed`` outside business time (days, hours, holidays of ``BusinessCalendar``);
   ``back_at`` = the next opening.
2. ``away`` when the agent is not signed in or has not been active (a dashboard request or the chat
   panel's heartbeat, recorded as ``last_seen_at``) within ``active_window``, or is on time off.
   ``back_at`` = the end of the time off when known, else None.
3. ``in_call`` during a booked call (from the agent's schedule); ``back_at`` = that call's end (back to
   back calls are followed to the last one).
4. ``available`` otherwise.

Pure: no clock, no database; the caller passes ``now`` and the facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from booking.core.business_time import BusinessCalendar
from booking.core.intervals import to_utc

PRESENCES = ("available", "in_call", "away", "closed")


@dataclass(frozen=True)
class Presence:
    state: str  # one of PRESENCES
    back_at: datetime | None
    next_opening: datetime

    def as_dict(self) -> dict[str, str | None]:
        return {
            "presence": self.state,
            "back_at": self.back_at.isoformat() if self.back_at else None,
            "next_opening": self.next_opening.isoformat(),
        }


@dataclass(frozen=True)
class AgentFacts:
    """What is known of the agent at ``now``: last activity, booked calls and time off around now."""

    last_seen_at: datetime | None
    calls: Sequence[tuple[datetime, datetime]] = ()
    time_off: Sequence[tuple[datetime, datetime]] = ()
    active: bool = True


def _end_of_run(now: datetime, intervals: Sequence[tuple[datetime, datetime]]) -> datetime | None:
    """The end of the interval holding ``now``, followed through intervals that touch or overlap it."""
    spans = sorted((to_utc(s), to_utc(e)) for s, e in intervals)
    end: datetime | None = None
    for start, stop in spans:
        if end is None:
            if start <= now < stop:
                end = stop
        elif start <= end:
            end = max(end, stop)
    return end


def presence(now: datetime, calendar: BusinessCalendar, facts: AgentFacts | None, active_window: timedelta) -> Presence:
    """The agent's presence at ``now`` (``facts`` None: the customer has no agent, so nobody answers)."""
    now = to_utc(now)
    next_open = calendar.next_opening(now)
    if not calendar.is_open(now):
        return Presence("closed", next_open, next_open)
    if facts is None or not facts.active:
        return Presence("away", None, next_open)
    off_until = _end_of_run(now, facts.time_off)
    if off_until is not None:
        return Presence("away", calendar.next_opening(off_until), next_open)
    seen = to_utc(facts.last_seen_at) if facts.last_seen_at is not None else None
    if seen is None or now - seen > active_window:
        return Presence("away", None, next_open)
    call_until = _end_of_run(now, facts.calls)
    if call_until is not None:
        return Presence("in_call", call_until, next_open)
    return Presence("available", None, next_open)
