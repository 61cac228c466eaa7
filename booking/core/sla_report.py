"""The monthly SLA report as a pure computation: which requests count, and the figures per group.

The service layer reads requests and their event log and hands this module plain facts; the
periods are local dates in the business zone (a "month" is the calendar month in Paris, so the
last Sunday of March is a 23-hour day and the last Sunday of October a 25-hour one, and a request
left at 00:30 Paris on the 1st belongs to that month although it is still the previous day in UTC).
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TypeVar
from zoneinfo import ZoneInfo

from booking.core.intervals import Interval, to_utc
from booking.core.sla import is_breached, responded_in_time

K = TypeVar("K", bound=Hashable)

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def period_bounds(first: date, end: date, tz: ZoneInfo) -> Interval:
    """``[first 00:00, end 00:00)`` local in ``tz``, as UTC instants (DST-aware by construction).

    ValueError for an empty period or one the UTC calendar cannot hold (year 1 east of Greenwich).
    """
    if end <= first:
        raise ValueError("the period must end after it starts")
    try:
        start_utc = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
        end_utc = datetime.combine(end, time(0), tzinfo=tz).astimezone(UTC)
    except OverflowError:  # 0001-01-01 00:00 Paris is still year 0 in UTC
        raise ValueError("the period is out of range") from None
    return start_utc, end_utc


def month_period(month: str) -> tuple[date, date]:
    """``"2026-03"`` → (2026-03-01, 2026-04-01); ValueError for anything else."""
    match = _MONTH_RE.match(month) if isinstance(month, str) else None
    if match is None:
        raise ValueError(f"invalid month {month!r}: expected YYYY-MM")
    year, number = int(match[1]), int(match[2])
    if not 1 <= number <= 12 or year < 1:
        raise ValueError(f"invalid month {month!r}: expected YYYY-MM")
    first = date(year, number, 1)
    following = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    return first, following


@dataclass(frozen=True)
class RequestFacts:
    """What the report needs to know about one request (from its row and its event log)."""

    request_id: int
    severity: int
    customer_id: int | None
    customer_name: str | None
    received_at: datetime
    first_response_due_at: datetime
    first_response_at: datetime | None
    #: A ``breached`` event was logged (the scan saw it late); the report also counts a late
    #: answer or an unanswered request past its due time, so a missed scan cannot hide a breach.
    breach_logged: bool
    resolved: bool


@dataclass(frozen=True)
class ReportRow:
    count: int
    responded_in_time: int
    breached: int
    open: int
    median_first_response_minutes: float | None
    p90_first_response_minutes: float | None


def p90(values: list[float]) -> float | None:
    """Nearest-rank 90th percentile: the smallest value with at least 90 % of values at or below it.

    Nearest rank (not interpolation) so a reader can check it by hand: with 10 values it is the 9th.
    """
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(0.9 * len(ordered)), 1) - 1]


def median(values: list[float]) -> float | None:
    """The usual median (mean of the two middle values for an even count); None for no values."""
    return float(statistics.median(values)) if values else None


def first_response_minutes(facts: RequestFacts) -> float | None:
    """Wall-clock minutes from arrival to the first response (None while unanswered)."""
    if facts.first_response_at is None:
        return None
    return (to_utc(facts.first_response_at) - to_utc(facts.received_at)).total_seconds() / 60


def breached(facts: RequestFacts, now: datetime) -> bool:
    return facts.breach_logged or is_breached(facts.first_response_due_at, facts.first_response_at, now)


def summarize(facts: Iterable[RequestFacts], now: datetime) -> ReportRow:
    """The figures for one group of requests, as of ``now``.

    ``open`` counts requests still awaiting their first response (a resolved request is not
    awaiting anything, even if nobody logged a response first).
    """
    items = list(facts)
    minutes = [m for m in (first_response_minutes(f) for f in items) if m is not None]
    return ReportRow(
        count=len(items),
        responded_in_time=sum(responded_in_time(f.first_response_due_at, f.first_response_at) for f in items),
        breached=sum(breached(f, now) for f in items),
        open=sum(f.first_response_at is None and not f.resolved for f in items),
        median_first_response_minutes=median(minutes),
        p90_first_response_minutes=p90(minutes),
    )


def in_period(facts: Iterable[RequestFacts], bounds: Interval) -> list[RequestFacts]:
    """Requests received inside ``[start, end)``."""
    start, end = bounds
    return [f for f in facts if start <= to_utc(f.received_at) < end]


def group_by(facts: Iterable[RequestFacts], key: Callable[[RequestFacts], K]) -> dict[K, list[RequestFacts]]:
    groups: dict[K, list[RequestFacts]] = {}
    for item in facts:
        groups.setdefault(key(item), []).append(item)
    return groups
