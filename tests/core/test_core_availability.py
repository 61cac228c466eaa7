"""Free slots: concrete scenarios (zones, DST, holidays, boundaries) and properties.

The property tests compare ``free_slots`` with a deliberately naive reference
(every grid start of every business day checked against every busy block) and
also check the invariants directly with ``is_open`` and ``overlaps``.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.core.availability import SlotRules, free_slots, slot_offered
from booking.core.business_time import (
    BusinessCalendar,
    business_calendar,
    weekly_hours_intervals,
)
from booking.core.intervals import Interval, merge, overlaps

PARIS = ZoneInfo("Europe/Paris")
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")

MIN = timedelta(minutes=1)
US = timedelta(microseconds=1)
# Far enough before every window, with a horizon covering them all.
EARLY = datetime(2026, 1, 1, tzinfo=UTC)


def rules(duration: int = 30, step: int = 30, notice: int = 0, horizon_days: int = 800) -> SlotRules:
    return SlotRules(
        duration=timedelta(minutes=duration),
        step=timedelta(minutes=step),
        min_notice=timedelta(minutes=notice),
        horizon=timedelta(days=horizon_days),
    )


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def day_window(day: date, tz: ZoneInfo = PARIS, days: int = 1) -> Interval:
    """``[day 00:00, day+days 00:00)`` in ``tz``, like the availability API."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=days), time(0), tzinfo=tz)


def local_starts(slots: list[Interval], tz: ZoneInfo = PARIS) -> list[str]:
    return [f"{s.astimezone(tz):%H:%M}" for s, _ in slots]


# --- the visitor in New York --------------------------------------------------------


def first_slot_by_day(slots: list[Interval], tz: ZoneInfo) -> dict[date, time]:
    first: dict[date, time] = {}
    for start, _ in slots:
        local = start.astimezone(tz)
        first.setdefault(local.date(), local.time())
    return first


def test_new_york_visitor_while_only_paris_is_on_winter_time(
    cal: BusinessCalendar,
) -> None:
    window = day_window(date(2026, 10, 26), NEW_YORK, days=7)
    now = paris(2026, 10, 20, 12)  # the product defaults: 60 min notice, 60 day horizon
    slots = free_slots(cal, window, rules(notice=60, horizon_days=60), now, [])
    assert first_slot_by_day(slots, NEW_YORK) == {date(2026, 10, 26 + i): time(4, 0) for i in range(5)}
    # 16 half-hour slots a day, the last one ending at 12:00 New York = 17:00 Paris.
    assert len(slots) == 5 * 16
    assert slots[15][1].astimezone(NEW_YORK).time() == time(12, 0)


def test_new_york_visitor_once_both_are_on_winter_time(cal: BusinessCalendar) -> None:
    window = day_window(date(2026, 11, 2), NEW_YORK, days=7)
    slots = free_slots(cal, window, rules(), EARLY, [])
    assert first_slot_by_day(slots, NEW_YORK) == {date(2026, 11, 2 + i): time(3, 0) for i in range(5)}


def test_armistice_day_has_no_slots(cal: BusinessCalendar) -> None:
    window = day_window(date(2026, 11, 9), NEW_YORK, days=7)
    slots = free_slots(cal, window, rules(), EARLY, [])
    assert first_slot_by_day(slots, NEW_YORK) == {
        date(2026, 11, 9): time(3, 0),
        date(2026, 11, 10): time(3, 0),
        date(2026, 11, 12): time(3, 0),
        date(2026, 11, 13): time(3, 0),
    }
    assert free_slots(cal, day_window(date(2026, 11, 11)), rules(), EARLY, []) == []


@pytest.mark.parametrize(
    ("day", "count"),
    [
        (date(2026, 12, 24), 16),
        (date(2026, 12, 25), 0),  # Christmas
        (date(2026, 12, 26), 0),  # Saturday
        (date(2027, 1, 1), 0),  # New Year
        (date(2026, 3, 29), 0),  # DST Sunday
    ],
)
def test_holidays_and_weekends(cal: BusinessCalendar, day: date, count: int) -> None:
    assert len(free_slots(cal, day_window(day), rules(), EARLY, [])) == count


# --- DST ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "first_utc", "last_end_utc"),
    [
        (date(2026, 3, 27), utc(2026, 3, 27, 8), utc(2026, 3, 27, 16)),
        (date(2026, 3, 30), utc(2026, 3, 30, 7), utc(2026, 3, 30, 15)),
        (date(2026, 10, 23), utc(2026, 10, 23, 7), utc(2026, 10, 23, 15)),
        (date(2026, 10, 26), utc(2026, 10, 26, 8), utc(2026, 10, 26, 16)),
    ],
)
def test_slots_follow_paris_dst(cal: BusinessCalendar, day: date, first_utc: datetime, last_end_utc: datetime) -> None:
    slots = free_slots(cal, day_window(day), rules(), EARLY, [])
    assert slots[0][0] == first_utc
    assert slots[-1][1] == last_end_utc
    assert local_starts(slots)[0] == "09:00"
    assert all(s.tzinfo is UTC and e.tzinfo is UTC for s, e in slots)


# --- boundaries ---------------------------------------------------------------------


@pytest.mark.parametrize("day", [date(2026, 11, 2), date(2026, 3, 30), date(2026, 10, 26)])
def test_one_second_slots_at_the_edges(cal: BusinessCalendar, day: date) -> None:
    one_second = SlotRules(
        duration=timedelta(seconds=1),
        step=timedelta(seconds=1),
        min_notice=timedelta(0),
        horizon=timedelta(days=800),
    )
    window = (
        datetime.combine(day, time(8, 59, 58), tzinfo=PARIS),
        datetime.combine(day, time(9, 0, 2), tzinfo=PARIS),
    )
    assert [f"{s.astimezone(PARIS):%H:%M:%S}" for s, _ in free_slots(cal, window, one_second, EARLY, [])] == [
        "09:00:00",
        "09:00:01",
    ]
    window = (
        datetime.combine(day, time(16, 59, 58), tzinfo=PARIS),
        datetime.combine(day, time(17, 0, 2), tzinfo=PARIS),
    )
    slots = free_slots(cal, window, one_second, EARLY, [])
    assert [f"{s.astimezone(PARIS):%H:%M:%S}" for s, _ in slots] == [
        "16:59:58",
        "16:59:59",
    ]
    assert slots[-1][1] == datetime.combine(day, time(17), tzinfo=PARIS)


def test_sixty_minutes_never_spill_past_closing(cal: BusinessCalendar) -> None:
    slots = free_slots(cal, day_window(date(2026, 11, 2)), rules(60, 60), EARLY, [])
    assert local_starts(slots) == [f"{h:02d}:00" for h in range(9, 17)]
    assert slots[-1][1] == paris(2026, 11, 2, 17)


def test_step_thirty_with_duration_sixty(cal: BusinessCalendar) -> None:
    slots = free_slots(cal, day_window(date(2026, 11, 2)), rules(60, 30), EARLY, [])
    expected = [f"{h:02d}:{m:02d}" for h in range(9, 17) for m in (0, 30)][:-1]
    assert local_starts(slots) == expected  # ..., 15:30, 16:00 — no 16:30
    assert all(e - s == timedelta(hours=1) for s, e in slots)
    assert slots[-1] == (paris(2026, 11, 2, 16), paris(2026, 11, 2, 17))


def test_busy_block_removes_every_overlapping_slot(cal: BusinessCalendar) -> None:
    busy = [(paris(2026, 11, 2, 10, 15), paris(2026, 11, 2, 10, 45))]
    slots = free_slots(cal, day_window(date(2026, 11, 2)), rules(60, 30), EARLY, busy)
    starts = local_starts(slots)
    assert starts[:3] == ["09:00", "11:00", "11:30"]
    assert not {"09:30", "10:00", "10:30"} & set(starts)
    assert len(starts) == 15 - 3


def test_touching_busy_blocks_do_not_remove_neighbours(cal: BusinessCalendar) -> None:
    busy = [
        (paris(2026, 11, 2, 10), paris(2026, 11, 2, 11)),
        (paris(2026, 11, 2, 13), paris(2026, 11, 2, 14)),
        (paris(2026, 11, 2, 12), paris(2026, 11, 2, 13)),
    ]
    slots = free_slots(cal, day_window(date(2026, 11, 2)), rules(60, 60), EARLY, busy)
    assert local_starts(slots) == ["09:00", "11:00", "14:00", "15:00", "16:00"]


def test_busy_spanning_days_and_in_other_zones(cal: BusinessCalendar) -> None:
    busy = [
        # Monday 16:00 Paris to Tuesday 10:00 Paris, given in Tokyo time.
        (
            paris(2026, 11, 2, 16).astimezone(TOKYO),
            paris(2026, 11, 3, 10).astimezone(TOKYO),
        ),
        # An empty and an inverted block are ignored.
        (paris(2026, 11, 3, 12), paris(2026, 11, 3, 12)),
        (paris(2026, 11, 3, 15), paris(2026, 11, 3, 14)),
    ]
    slots = free_slots(cal, day_window(date(2026, 11, 2), days=2), rules(60, 60), EARLY, busy)
    assert local_starts(slots) == [f"{h:02d}:00" for h in range(9, 16)] + [f"{h:02d}:00" for h in range(10, 17)]


def test_busy_inside_the_repeated_autumn_hour() -> None:
    """02:30 CEST to 02:15 CET looks inverted on the wall clock but lasts 45 min."""
    night = business_calendar("Europe/Paris", "00:00-23:00", "mon-sun", "")
    busy = [
        (
            paris(2026, 10, 25, 2, 30),
            datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=PARIS),
        )
    ]
    window = (utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 2, 0))
    slots = free_slots(night, window, rules(15, 15), EARLY, busy)
    # Busy from 00:30 to 01:15 UTC.
    assert [f"{s:%H:%M}" for s, _ in slots] == [
        "00:00",
        "00:15",
        "01:15",
        "01:30",
        "01:45",
    ]


def test_naive_busy_is_refused(cal: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        free_slots(
            cal,
            day_window(date(2026, 11, 2)),
            rules(),
            EARLY,
            [(datetime(2026, 11, 2, 10), datetime(2026, 11, 2, 11))],
        )


# --- window, notice, horizon --------------------------------------------------------


def test_grid_counts_from_the_opening_not_the_window(cal: BusinessCalendar) -> None:
    window = (paris(2026, 11, 2, 10, 10), paris(2026, 11, 2, 12, 0))
    slots = free_slots(cal, window, rules(60, 30), EARLY, [])
    # Starts in [10:10, 12:00); the last one may end after the window.
    assert local_starts(slots) == ["10:30", "11:00", "11:30"]
    assert slots[-1][1] == paris(2026, 11, 2, 12, 30)


def test_min_notice(cal: BusinessCalendar) -> None:
    window = day_window(date(2026, 11, 2))
    now = paris(2026, 11, 2, 9, 10)
    assert local_starts(free_slots(cal, window, rules(notice=60), now, []))[0] == "10:30"
    now = paris(2026, 11, 2, 9, 0)
    assert local_starts(free_slots(cal, window, rules(notice=60), now, []))[0] == "10:00"
    now = paris(2026, 11, 2, 9, 0, 0) + US
    assert local_starts(free_slots(cal, window, rules(notice=60), now, []))[0] == "10:30"


def test_horizon_is_inclusive(cal: BusinessCalendar) -> None:
    window = day_window(date(2026, 11, 3))
    now = paris(2026, 11, 2, 12, 0)
    slots = free_slots(cal, window, rules(horizon_days=1), now, [])
    assert local_starts(slots) == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
        "12:00",
    ]
    slots = free_slots(cal, window, rules(horizon_days=1), now - US, [])
    assert local_starts(slots)[-1] == "11:30"


def test_notice_and_horizon_are_elapsed_time_across_dst(cal: BusinessCalendar) -> None:
    """``now`` given in Paris must not make "+2 days" mean wall-clock days.

    Python adds timedeltas to a Paris datetime on the wall clock, so Saturday
    28 March 10:00 CET + 2 days would be Monday 10:00 CEST, 47 h later. The
    horizon is 48 real hours: Monday 11:00 CEST.
    """
    now = paris(2026, 3, 28, 10, 0)
    slots = free_slots(cal, day_window(date(2026, 3, 30)), rules(horizon_days=2), now, [])
    assert local_starts(slots)[-1] == "11:00"
    slots = free_slots(cal, day_window(date(2026, 3, 30)), rules(notice=48 * 60), now, [])
    assert local_starts(slots)[0] == "11:00"


def test_empty_and_inverted_windows(cal: BusinessCalendar) -> None:
    day = day_window(date(2026, 11, 2))
    assert free_slots(cal, (day[1], day[0]), rules(), EARLY, []) == []
    assert free_slots(cal, (day[0], day[0]), rules(), EARLY, []) == []
    # Everything is in the past.
    assert free_slots(cal, day, rules(), paris(2026, 11, 3), []) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"duration": 0}, "duration must be positive"),
        ({"duration": -30}, "duration must be positive"),
        ({"step": 0}, "step must be positive"),
        ({"step": -5}, "step must be positive"),
        ({"notice": -1}, "min_notice"),
        ({"horizon_days": -1}, "horizon"),
    ],
)
def test_bad_rules(cal: BusinessCalendar, kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        free_slots(cal, day_window(date(2026, 11, 2)), rules(**kwargs), EARLY, [])


# --- working hours ------------------------------------------------------------------

WEEKDAYS_9_TO_5 = {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


def test_agent_in_london_narrows_paris_hours(cal: BusinessCalendar) -> None:
    window = day_window(date(2026, 10, 26), days=5)
    working = weekly_hours_intervals(WEEKDAYS_9_TO_5, LONDON, *window)
    slots = free_slots(cal, window, rules(), EARLY, [], working)
    by_day: dict[date, list[str]] = defaultdict(list)
    for start, _ in slots:
        by_day[start.astimezone(PARIS).date()].append(f"{start.astimezone(PARIS):%H:%M}")
    assert len(by_day) == 5
    for starts in by_day.values():
        assert starts[0] == "10:00"
        assert starts[-1] == "16:30"
        assert len(starts) == 14


def test_agent_in_london_with_a_lunch_break(cal: BusinessCalendar) -> None:
    window = day_window(date(2026, 3, 30))  # the Monday after DST start (both zones)
    working = weekly_hours_intervals({"mon": ["09:00-12:00", "13:00-17:00"]}, LONDON, *window)
    slots = free_slots(cal, window, rules(60, 60), EARLY, [], working)
    assert local_starts(slots) == ["10:00", "11:00", "12:00", "14:00", "15:00", "16:00"]


def test_agent_in_new_york(cal: BusinessCalendar) -> None:
    # 09:00 New York is 14:00 Paris in the week both clocks disagree, 15:00 after.
    for day, first in ((date(2026, 10, 30), "14:00"), (date(2026, 11, 6), "15:00")):
        window = day_window(day)
        working = weekly_hours_intervals(WEEKDAYS_9_TO_5, NEW_YORK, *window)
        assert local_starts(free_slots(cal, window, rules(60, 60), EARLY, [], working))[0] == first


def test_working_hours_none_vs_empty(cal: BusinessCalendar) -> None:
    window = day_window(date(2026, 11, 2))
    assert len(free_slots(cal, window, rules(), EARLY, [], None)) == 16
    assert free_slots(cal, window, rules(), EARLY, [], []) == []


def test_slot_may_cross_touching_working_ranges(cal: BusinessCalendar) -> None:
    window = day_window(date(2026, 11, 2))
    working = [
        (paris(2026, 11, 2, 9), paris(2026, 11, 2, 12)),
        (paris(2026, 11, 2, 12), paris(2026, 11, 2, 13)),
    ]
    assert local_starts(free_slots(cal, window, rules(90, 30), EARLY, [], working)) == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
    ]


# --- slot_offered -------------------------------------------------------------------


def test_slot_offered(cal: BusinessCalendar) -> None:
    busy = [(paris(2026, 11, 2, 11), paris(2026, 11, 2, 12))]
    r = rules(60, 30, notice=60)
    now = paris(2026, 11, 2, 8)
    assert slot_offered(cal, paris(2026, 11, 2, 9), r, now, busy)
    assert slot_offered(cal, paris(2026, 11, 2, 12).astimezone(NEW_YORK), r, now, busy)
    assert not slot_offered(cal, paris(2026, 11, 2, 10, 30), r, now, busy)  # busy
    assert not slot_offered(cal, paris(2026, 11, 2, 9, 15), r, now, busy)  # off grid
    assert not slot_offered(cal, paris(2026, 11, 2, 16, 30), r, now, busy)  # spills
    assert not slot_offered(cal, paris(2026, 11, 11, 10), r, now, busy)  # holiday
    assert not slot_offered(cal, paris(2026, 11, 2, 9), r, paris(2026, 11, 2, 8, 1), busy)


# --- scale --------------------------------------------------------------------------


def test_five_thousand_busy_blocks_match_the_reference(cal: BusinessCalendar) -> None:
    import random

    rng = random.Random(7)
    start = paris(2026, 10, 19)
    busy = []
    for _ in range(5000):
        s = start + timedelta(minutes=rng.randrange(0, 30 * 24 * 60, 5))
        busy.append((s, s + timedelta(minutes=rng.choice((5, 10, 15)))))
    window = (start, start + timedelta(days=30))
    r = rules(15, 5)
    slots = free_slots(cal, window, r, EARLY, busy)
    assert slots  # short blocks leave gaps

    # Independent check on a minute map (every value here is a whole minute).
    def minute(moment: datetime) -> int:
        return int(moment.timestamp()) // 60

    busy_minutes = {m for b0, b1 in busy for m in range(minute(b0), minute(b1))}
    expected = [
        (s0, s1)
        for o0, o1 in cal.opening_intervals(*window)
        for s0, s1 in ((o0 + k * r.step, o0 + k * r.step + r.duration) for k in range(96))
        if s1 <= o1 and busy_minutes.isdisjoint(range(minute(s0), minute(s1)))
    ]
    assert slots == expected


# --- properties ---------------------------------------------------------------------


def reference_slots(
    cal: BusinessCalendar,
    window: Interval,
    r: SlotRules,
    now: datetime,
    busy: list[Interval],
    working: list[Interval] | None,
) -> list[Interval]:
    """Naive restatement of the rules, O(slots x busy), for comparison only."""
    now = now.astimezone(UTC)  # notice and horizon are elapsed time, not wall clock
    out: list[Interval] = []
    merged_working = None if working is None else merge(working)
    day = window[0].astimezone(PARIS).date() - timedelta(days=1)
    while day <= window[1].astimezone(PARIS).date():
        if cal.is_business_day(day):
            opening = datetime.combine(day, cal.opens, tzinfo=PARIS)
            closing = datetime.combine(day, cal.closes, tzinfo=PARIS)
            s = opening
            while s + r.duration <= closing:
                slot = (s, s + r.duration)
                if (
                    window[0] <= s < window[1]
                    and now + r.min_notice <= s <= now + r.horizon
                    and not any(overlaps(slot, b) for b in busy)
                    and (merged_working is None or any(w[0] <= slot[0] and slot[1] <= w[1] for w in merged_working))
                ):
                    out.append((s.astimezone(UTC), (s + r.duration).astimezone(UTC)))
                s += r.step
        day += timedelta(days=1)
    return out


# Weeks that contain the interesting days: both DST changes, Armistice Day,
# Christmas and New Year, plus an ordinary week.
ANCHORS = [
    paris(2026, 3, 26),
    paris(2026, 10, 22),
    paris(2026, 11, 9),
    paris(2026, 12, 22),
    paris(2026, 6, 15),
]
ZONES = [UTC, PARIS, NEW_YORK, LONDON, TOKYO]


def offsets(draw: st.DrawFn, lo_days: int, hi_days: int) -> timedelta:
    """A whole-minute offset, drawn as days then minutes.

    Hypothesis favours small integers, so drawing one big minute count would
    make most windows shorter than a day; days first spreads them out.
    """
    days = draw(st.integers(lo_days, hi_days - 1))
    return timedelta(days=days, minutes=draw(st.integers(0, 24 * 60 - 1)))


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    anchor = draw(st.sampled_from(ANCHORS))
    w_start = anchor + offsets(draw, 0, 3)
    w_end = w_start + offsets(draw, 0, 8)
    duration = draw(st.sampled_from([15, 20, 30, 45, 60, 90, 480]))
    step = draw(st.sampled_from([5, 15, 25, 30, 60]))
    notice = draw(st.sampled_from([0, 60, 24 * 60]))
    horizon_days = draw(st.integers(0, 12))
    # Mostly before the window (so notice and horizon cut into it), sometimes inside.
    now = w_start + offsets(draw, -3, 1)
    busy = []
    for _ in range(draw(st.integers(0, 25))):
        b_start = anchor + offsets(draw, -1, 12)
        length = timedelta(minutes=draw(st.integers(-10, 240)))  # some empty/inverted
        zone = draw(st.sampled_from(ZONES))
        busy.append((b_start.astimezone(zone), (b_start + length).astimezone(zone)))
    working = None
    if draw(st.booleans()):
        zone = draw(st.sampled_from([PARIS, LONDON, NEW_YORK, TOKYO]))
        days = draw(
            st.lists(
                st.sampled_from(["mon", "tue", "wed", "thu", "fri"]),
                unique=True,
                min_size=2,
            )
        )
        start_h = draw(st.integers(0, 16))
        end_h = draw(st.integers(start_h + 1, 23))
        spec = {d: [f"{start_h:02d}:00-{end_h:02d}:30"] for d in days}
        working = weekly_hours_intervals(spec, zone, w_start, w_end)
    return {
        "window": (w_start, w_end),
        "rules": rules(duration, step, notice, horizon_days),
        "now": now,
        "busy": busy,
        "working": working,
    }


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_free_slots_properties(cal: BusinessCalendar, case: dict[str, Any]) -> None:
    window, r, now, busy, working = (
        case["window"],
        case["rules"],
        case["now"],
        case["busy"],
        case["working"],
    )
    slots = free_slots(cal, window, r, now, busy, working)

    # Sorted, unique, UTC, right length.
    assert slots == sorted(set(slots))
    for start, end in slots:
        assert start.tzinfo is UTC
        assert end - start == r.duration
        # Inside business time, within one business day.
        assert cal.is_open(start)
        assert cal.is_open(end - US)
        assert start.astimezone(PARIS).date() == (end - US).astimezone(PARIS).date()
        # On the grid counted from that day's opening.
        opening = datetime.combine(start.astimezone(PARIS).date(), cal.opens, tzinfo=PARIS)
        assert (start - opening) % r.step == timedelta(0)
        # Window, notice, horizon.
        assert window[0] <= start < window[1]
        now_utc = now.astimezone(UTC)
        assert now_utc + r.min_notice <= start <= now_utc + r.horizon
        # Never on busy time, always in working hours.
        assert not any(overlaps((start, end), b) for b in busy)
        if working is not None:
            assert any(w[0] <= start and end <= w[1] for w in merge(working))

    # And nothing was missed.
    assert slots == reference_slots(cal, window, r, now, busy, working)
    for start, _ in itertools.islice(slots, 3):
        assert slot_offered(cal, start, r, now, busy, working)
