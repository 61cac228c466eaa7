"""Half-open time intervals ``[start, end)`` on aware datetimes.

Everything here normalises to UTC before comparing. That is not cosmetic:
Python compares two datetimes that share the *same* ``tzinfo`` by their wall
clock and ignores ``fold``, so 02:30 CEST and 02:30 CET on the night clocks go
back compare equal although they are an hour apart. Comparing in UTC is the
only way interval arithmetic stays right across DST changes.

Half-open intervals are used because they tile without gaps or double counting:
a 09:00-10:00 booking and a 10:00-11:00 booking touch but do not overlap.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from operator import itemgetter

Interval = tuple[datetime, datetime]

_end = itemgetter(1)


def to_utc(moment: datetime) -> datetime:
    """Return ``moment`` in UTC, refusing naive datetimes.

    ``astimezone`` silently treats a naive datetime as the *server's* local
    time, which is exactly the kind of bug that only shows in production, so a
    naive value is an error here rather than a guess.
    """
    if moment.tzinfo is UTC:
        return moment
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime not allowed: {moment!r}")
    return moment.astimezone(UTC)


def _normalised(intervals: Iterable[Interval]) -> list[Interval]:
    """UTC copies of the non-empty intervals (empty/inverted ones dropped)."""
    out: list[Interval] = []
    for start, end in intervals:
        start, end = to_utc(start), to_utc(end)
        if start < end:
            out.append((start, end))
    return out


def _merge_sorted(items: Sequence[Interval]) -> list[Interval]:
    """Merge intervals already sorted by start (UTC, non-empty)."""
    out: list[Interval] = []
    for start, end in items:
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and merge overlapping *and touching* intervals; drop empty ones.

    Touching intervals are merged because for availability ``[9, 10)`` and
    ``[10, 11)`` are one continuous stretch: a 90-minute slot fits across them.
    """
    return _merge_sorted(sorted(_normalised(intervals)))


def subtract(base: Iterable[Interval], remove: Iterable[Interval]) -> list[Interval]:
    """The parts of ``base`` not covered by ``remove``, merged and sorted.

    Linear after sorting: both lists are merged once and walked with two
    pointers, because callers feed in thousands of busy blocks.
    """
    result: list[Interval] = []
    removals = merge(remove)
    j = 0
    for start, end in merge(base):
        cursor = start
        # Skip removals that end before this base interval starts.
        while j < len(removals) and removals[j][1] <= cursor:
            j += 1
        k = j
        while k < len(removals) and removals[k][0] < end:
            r_start, r_end = removals[k]
            if r_start > cursor:
                result.append((cursor, r_start))
            cursor = max(cursor, r_end)
            if cursor >= end:
                break
            k += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """Time covered by both ``a`` and ``b``, merged and sorted (two pointers)."""
    left, right = merge(a), merge(b)
    result: list[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i][0], right[j][0])
        end = min(left[i][1], right[j][1])
        if start < end:
            result.append((start, end))
        # Advance whichever finishes first; it cannot meet anything later.
        if left[i][1] <= right[j][1]:
            i += 1
        else:
            j += 1
    # Pieces of merged inputs never touch each other, but a piece can end
    # exactly where the next begins when both sides are split at one instant.
    return _merge_sorted(result)


def overlaps(a: Interval, b: Interval) -> bool:
    """True when the half-open intervals share at least one instant.

    Touching intervals (``a.end == b.start``) do not overlap; empty intervals
    overlap nothing.
    """
    a_start, a_end = to_utc(a[0]), to_utc(a[1])
    b_start, b_end = to_utc(b[0]), to_utc(b[1])
    return a_start < b_end and b_start < a_end and a_start < a_end and b_start < b_end


def overlaps_any(merged: Sequence[Interval], start: datetime, end: datetime) -> bool:
    """Does ``[start, end)`` overlap any interval of ``merged``? O(log n).

    ``merged`` must be the output of :func:`merge` (sorted, disjoint, UTC):
    then the ends are sorted too, so one bisection finds the only candidate —
    the first interval ending after ``start``. Used when checking one slot
    against a large busy list without scanning it.
    """
    start, end = to_utc(start), to_utc(end)
    if start >= end:
        return False
    i = bisect_right(merged, start, key=_end)
    return i < len(merged) and merged[i][0] < end


def contains(merged: Sequence[Interval], start: datetime, end: datetime) -> bool:
    """Is ``[start, end)`` wholly inside one interval of ``merged``? O(log n).

    Same precondition as :func:`overlaps_any`. Because touching intervals were
    merged, "inside one interval" equals "covered by the union".
    """
    start, end = to_utc(start), to_utc(end)
    i = bisect_right(merged, start, key=_end)
    return i < len(merged) and merged[i][0] <= start and end <= merged[i][1]
