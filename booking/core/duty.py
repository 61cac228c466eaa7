"""Who is on duty at an instant: the rule that picks the seniors a press-2 call rings (issue 16).

A senior agent rings only when they can actually pick up: inside their own working hours (in their
own zone, so a senior in New York is off shift at 10:00 Paris time), not on time off and not in a
booked call. Agents without working hours of their own work the business hours. Pure: the service
(:func:`booking.services.calls.seniors_on_duty`) loads the intervals, this decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from booking.core.intervals import Interval, to_utc

__all__ = ["inside", "on_duty"]


def inside(moment: datetime, intervals: Iterable[Interval]) -> bool:
    """Does a half-open ``[start, end)`` interval contain ``moment`` (start included, end excluded)?"""
    at = to_utc(moment)
    return any(to_utc(start) <= at < to_utc(end) for start, end in intervals)


def on_duty(
    moment: datetime,
    *,
    working: Iterable[Interval] | None,
    business_open: bool,
    away: Iterable[Interval],
) -> bool:
    """On duty at ``moment``: at work (own hours, or the business hours when ``working`` is None) and not away.

    ``away`` is everything that keeps the agent from the phone: time off and booked calls.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("on_duty needs an aware datetime")
    at_work = business_open if working is None else inside(moment, working)
    return at_work and not inside(moment, away)
