"""Free slots = business openings ∩ working hours − busy, on the slot grid.

The booking page (GET) and the booking service (POST, inside its transaction)
both ask this module, so "is this slot offered?" has exactly one answer.

Cost: busy blocks are normalised to UTC, filtered to the relevant span and
sorted once (O(b log b)); then openings, working hours and busy blocks are
walked together with moving pointers, and slots are produced arithmetically
inside each free stretch — O(days + working ranges + busy + slots), never
O(slots × busy).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from operator import itemgetter

from booking.core.business_time import BusinessCalendar
from booking.core.intervals import Interval, merge, to_utc

_ZERO = timedelta(0)
_TICK = timedelta(microseconds=1)  # datetime resolution: turns "<=" into "<"
_start_key = itemgetter(0)


@dataclass(frozen=True)
class SlotRules:
    """How slots are cut.

    ``duration``: length of a call. ``step``: distance between candidate
    starts, counted from each day's opening (so with 09:00 opening and a 30
    min step, starts are 09:00, 09:30, ... whatever the query window).
    ``min_notice``: the agent needs this much warning. ``horizon``: how far
    ahead customers may book.
    """

    duration: timedelta
    step: timedelta
    min_notice: timedelta
    horizon: timedelta

    def validate(self) -> None:
        """Raise ValueError for rules that cannot describe a real slot grid."""
        if self.duration <= _ZERO:
            raise ValueError(f"slot duration must be positive, got {self.duration}")
        if self.step <= _ZERO:
            raise ValueError(f"slot step must be positive, got {self.step}")
        if self.min_notice < _ZERO:
            raise ValueError(f"min_notice must not be negative, got {self.min_notice}")
        if self.horizon < _ZERO:
            raise ValueError(f"horizon must not be negative, got {self.horizon}")


@dataclass(frozen=True)
class BookingLimits:
    """The rules Calendly and Cal.com users expect (issue 18 item 7), decided with the slots.

    ``buffer``: free time kept before and after each call. It widens every busy block of the agent
    (a synced meeting as much as a booked call) by ``buffer`` on both sides, so a new call never
    starts or ends closer than that to other busy time; the buffer itself may lie outside the
    opening (a 09:00 call with a 15 min buffer is still offered at a 09:00 opening) and across
    midnight. ``max_calls_per_day``: at most this many confirmed calls per local day of
    ``day_zone`` (the agent's zone), counted from ``booked_call_starts``; None = no cap.
    ``max_open_bookings``: the customer may hold at most this many confirmed calls still ahead
    (``open_bookings``); when reached, nothing is offered to that customer; None = no cap.
    """

    buffer: timedelta = _ZERO
    max_calls_per_day: int | None = None
    booked_call_starts: tuple[datetime, ...] = ()
    day_zone: tzinfo = UTC
    max_open_bookings: int | None = None
    open_bookings: int = 0

    def validate(self) -> None:
        """Raise ValueError for limits that cannot describe a schedule."""
        if self.buffer < _ZERO:
            raise ValueError(f"buffer must not be negative, got {self.buffer}")
        for name in ("max_calls_per_day", "max_open_bookings"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 (None for no cap), got {value}")

    @property
    def customer_capped(self) -> bool:
        """The customer already holds ``max_open_bookings`` upcoming calls."""
        return self.max_open_bookings is not None and self.open_bookings >= self.max_open_bookings

    def full_days(self) -> set[date]:
        """Local days (``day_zone``) that already have ``max_calls_per_day`` calls."""
        if self.max_calls_per_day is None:
            return set()
        counts = Counter(to_utc(start).astimezone(self.day_zone).date() for start in self.booked_call_starts)
        return {day for day, n in counts.items() if n >= self.max_calls_per_day}

    def widened(self, busy: Iterable[Interval]) -> Iterable[Interval]:
        """Busy blocks with the buffer on both sides (the blocks themselves when there is none).

        Padded in UTC: a timedelta added to a zoned datetime moves the wall clock, which across a
        DST change would make a 30-minute buffer 90 or -30 minutes of elapsed time.
        """
        pad = self.buffer
        return busy if not pad else ((to_utc(start) - pad, to_utc(end) + pad) for start, end in busy)


NO_LIMITS = BookingLimits()


def _relevant_busy(busy: Iterable[Interval], lo: datetime, hi: datetime) -> list[Interval]:
    """UTC busy blocks overlapping ``[lo, hi)``, sorted by start (not merged).

    Filtering before sorting keeps the sort small when callers pass a whole
    calendar. ``lo``/``hi`` are UTC, so the filter's comparisons are exact
    for blocks in any zone; only the survivors are checked for non-UTC values
    and, if any, converted (the database hands back UTC, so that path is
    rare). The sort needs UTC: same-zone comparisons ignore DST ``fold``.
    """
    try:
        relevant = [iv for iv in busy if iv[0] < hi and iv[1] > lo]
    except TypeError as exc:  # naive vs aware comparison
        raise ValueError(f"busy intervals must be timezone-aware: {exc}") from None
    for start, end in relevant:
        # Emptiness is only decided in UTC: two wall times in one zone can
        # look inverted inside the repeated hour of an autumn DST change.
        if start.tzinfo is not UTC or end.tzinfo is not UTC or start >= end:
            relevant = [(s, e) for s, e in ((to_utc(a), to_utc(b)) for a, b in relevant) if s < e]
            break
    relevant.sort(key=_start_key)
    return relevant


def free_slots(
    calendar: BusinessCalendar,
    window: Interval,
    rules: SlotRules,
    now: datetime,
    busy: Iterable[Interval],
    working_hours: list[Interval] | None = None,
    limits: BookingLimits = NO_LIMITS,
) -> list[Interval]:
    """Bookable slots ``[s, s + duration)`` in UTC, sorted by start.

    A start ``s`` is offered iff: ``window[0] <= s < window[1]``;
    ``now + min_notice <= s <= now + horizon``; ``s`` is on the grid
    ``opening + k * step`` of its business day; the slot lies wholly inside
    that day's opening and wholly inside the agent's ``working_hours`` (when
    not None); and it overlaps no ``busy`` interval. Only the *start* must be
    in the window, so ``working_hours`` should cover the window plus one
    duration (:func:`weekly_hours_intervals` does so by not clipping).

    ``min_notice`` and ``horizon`` are elapsed time: ``now`` is converted to
    UTC before adding them, because Python adds a timedelta to a zoned
    datetime on the wall clock, which would make a 2-day horizon 47 or 49
    hours long across a DST change.

    ``limits`` (:class:`BookingLimits`) adds the buffer around busy time and the caps: no slot at
    all once the customer's cap is reached, none on a local day that has its calls. The caller
    passes busy time reaching ``limits.buffer`` beyond the window's edges.
    """
    rules.validate()
    limits.validate()
    if limits.customer_capped:
        return []
    busy = limits.widened(busy)
    duration, step = rules.duration, rules.step
    now = to_utc(now)
    w_start, w_end = to_utc(window[0]), to_utc(window[1])
    lo = max(w_start, now + rules.min_notice)  # earliest start, inclusive
    stop = min(w_end, now + rules.horizon + _TICK)  # starts must be < stop
    if lo >= stop:
        return []
    last_allowed = stop - _TICK

    openings = calendar.opening_intervals(lo, stop, clip=False)
    if not openings:
        return []
    span_lo = max(lo, openings[0][0])
    span_hi = min(stop - _TICK + duration, openings[-1][1])
    blocks = _relevant_busy(busy, span_lo, span_hi)
    n_blocks = len(blocks)
    working = None if working_hours is None else merge(working_hours)

    slots: list[Interval] = []
    append = slots.append
    bi = 0  # next busy block (by start) not yet consumed
    reach = span_lo  # consumed blocks (and the query start) cover nothing after this
    wi = 0

    for o_start, o_end in openings:
        # 1. The opening cut to the agent's working hours.
        if working is None:
            segments: list[Interval] = [(o_start, o_end)]
        else:
            segments = []
            while wi < len(working) and working[wi][1] <= o_start:
                wi += 1
            k = wi
            while k < len(working) and working[k][0] < o_end:
                seg_start, seg_end = (
                    max(o_start, working[k][0]),
                    min(o_end, working[k][1]),
                )
                if seg_start < seg_end:
                    segments.append((seg_start, seg_end))
                k += 1

        for seg_start, seg_end in segments:
            # 2. Subtract busy time. Blocks consumed by earlier segments all
            # started before this one, so all they can still affect is
            # summarised by ``reach``: the furthest point known to be busy
            # (or before a segment start, which is as good for what follows).
            free: list[Interval] = []
            cursor = max(seg_start, reach)
            while bi < n_blocks and blocks[bi][0] < seg_end:
                b_start, b_end = blocks[bi]
                if b_start > cursor:  # a gap before this block is free
                    free.append((cursor, b_start))
                    cursor = b_end
                elif b_end > cursor:
                    cursor = b_end
                bi += 1
            reach = cursor
            if cursor < seg_end:
                free.append((cursor, seg_end))

            # 3. Grid starts inside each free stretch, by arithmetic.
            for f_start, f_end in free:
                first = max(f_start, lo)
                last = min(f_end - duration, last_allowed)
                if first > last:
                    continue
                k = -((o_start - first) // step)  # ceil((first - o_start) / step)
                s = o_start + k * step
                while s <= last:
                    append((s, s + duration))
                    s += step
    return _outside_full_days(slots, limits)


def _outside_full_days(slots: list[Interval], limits: BookingLimits) -> list[Interval]:
    """The slots whose local day (``limits.day_zone``) has not reached ``max_calls_per_day``."""
    full = limits.full_days()
    if not full:
        return slots
    zone = limits.day_zone
    return [slot for slot in slots if slot[0].astimezone(zone).date() not in full]


def slot_offered(
    calendar: BusinessCalendar,
    start: datetime,
    rules: SlotRules,
    now: datetime,
    busy: Iterable[Interval],
    working_hours: list[Interval] | None = None,
    limits: BookingLimits = NO_LIMITS,
) -> bool:
    """Is the slot starting at ``start`` offered right now?

    Runs :func:`free_slots` on a one-microsecond window so that the booking
    service re-checks a requested slot with exactly the rules the page used.
    """
    start = to_utc(start)
    offered = free_slots(calendar, (start, start + _TICK), rules, now, busy, working_hours, limits)
    return bool(offered) and offered[0][0] == start
