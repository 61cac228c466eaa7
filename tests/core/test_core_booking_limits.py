"""Issue 18 item 7 in the pure core: the buffer around calls, calls per agent per day, open calls per customer.

Table-driven: each row is a scenario and the starts that must (or must not) be offered. The same
``free_slots`` / ``slot_offered`` the page, the API and the booking transaction ask.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest

from booking.core.availability import NO_LIMITS, BookingLimits, SlotRules, free_slots, slot_offered
from booking.core.business_time import BusinessCalendar, business_calendar
from booking.core.intervals import Interval

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
EARLY = datetime(2026, 1, 1, tzinfo=UTC)
RULES = SlotRules(
    duration=timedelta(minutes=30), step=timedelta(minutes=30), min_notice=timedelta(0), horizon=timedelta(days=800)
)
PARIS_CAL = business_calendar("Europe/Paris", "09:00-17:00", "mon-fri", "FR")
# Open round the clock every day (no holidays): where a buffer can cross midnight.
UTC_CAL = business_calendar("UTC", "00:00-23:59", "mon-sun", "")
# Open every day in New York: the week of the autumn DST change (Sunday 1 November 2026).
NY_CAL = business_calendar("America/New_York", "09:00-17:00", "mon-sun", "")


def at(tz: tzinfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def offered(cal: BusinessCalendar, start: datetime, busy: list[Interval], limits: BookingLimits) -> bool:
    return slot_offered(cal, start, RULES, EARLY, busy, None, limits)


def day_starts(cal: BusinessCalendar, day: date, tz: ZoneInfo, busy: list[Interval], limits: BookingLimits) -> set:
    window = (datetime.combine(day, time(0), tzinfo=tz), datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz))
    return {s.astimezone(tz).time() for s, _ in free_slots(cal, window, RULES, EARLY, busy, None, limits)}


# (case, calendar, busy blocks, buffer minutes, start, offered?)
BUFFER_CASES = [
    ("no buffer: right after a call", PARIS_CAL, [(at(PARIS, 2026, 12, 1, 10), at(PARIS, 2026, 12, 1, 10, 30))], 0,
     at(PARIS, 2026, 12, 1, 10, 30), True),
    ("no buffer: right before a call", PARIS_CAL, [(at(PARIS, 2026, 12, 1, 10), at(PARIS, 2026, 12, 1, 10, 30))], 0,
     at(PARIS, 2026, 12, 1, 9, 30), True),
    ("15 min: not right after", PARIS_CAL, [(at(PARIS, 2026, 12, 1, 10), at(PARIS, 2026, 12, 1, 10, 30))], 15,
     at(PARIS, 2026, 12, 1, 10, 30), False),
    ("15 min: not right before", PARIS_CAL, [(at(PARIS, 2026, 12, 1, 10), at(PARIS, 2026, 12, 1, 10, 30))], 15,
     at(PARIS, 2026, 12, 1, 9, 30), False),
    ("15 min: the next grid start is clear", PARIS_CAL, [(at(PARIS, 2026, 12, 1, 10), at(PARIS, 2026, 12, 1, 10, 30))],
     15, at(PARIS, 2026, 12, 1, 11), True),
    ("30 min: exactly the buffer apart is allowed", PARIS_CAL,
     [(at(PARIS, 2026, 12, 1, 10), at(PARIS, 2026, 12, 1, 10, 30))], 30, at(PARIS, 2026, 12, 1, 11), True),
    ("opening edge: a meeting before opening pushes the 09:00 slot", PARIS_CAL,
     [(at(PARIS, 2026, 12, 1, 8, 30), at(PARIS, 2026, 12, 1, 8, 50))], 15, at(PARIS, 2026, 12, 1, 9), False),
    ("opening edge: a short enough buffer keeps it", PARIS_CAL,
     [(at(PARIS, 2026, 12, 1, 8, 30), at(PARIS, 2026, 12, 1, 8, 50))], 10, at(PARIS, 2026, 12, 1, 9), True),
    ("opening edge: the buffer itself may lie before opening", PARIS_CAL, [], 60, at(PARIS, 2026, 12, 1, 9), True),
    ("closing edge: a meeting after closing", PARIS_CAL,
     [(at(PARIS, 2026, 12, 1, 17, 5), at(PARIS, 2026, 12, 1, 17, 30))], 10, at(PARIS, 2026, 12, 1, 16, 30), False),
    ("closing edge: a short enough buffer keeps it", PARIS_CAL,
     [(at(PARIS, 2026, 12, 1, 17, 5), at(PARIS, 2026, 12, 1, 17, 30))], 5, at(PARIS, 2026, 12, 1, 16, 30), True),
    ("across midnight: a late call reaches into the next day", UTC_CAL,
     [(at(UTC, 2026, 11, 30, 23, 30), at(UTC, 2026, 11, 30, 23, 50))], 15, at(UTC, 2026, 12, 1, 0, 0), False),
    ("across midnight: the next slot is clear", UTC_CAL,
     [(at(UTC, 2026, 11, 30, 23, 30), at(UTC, 2026, 11, 30, 23, 50))], 15, at(UTC, 2026, 12, 1, 0, 30), True),
    ("across midnight, backwards: an early call reaches into the day before", UTC_CAL,
     [(at(UTC, 2026, 12, 1, 0, 10), at(UTC, 2026, 12, 1, 0, 40))], 45, at(UTC, 2026, 11, 30, 23, 0), False),
    ("across midnight, backwards: a shorter buffer keeps the evening slot", UTC_CAL,
     [(at(UTC, 2026, 12, 1, 0, 10), at(UTC, 2026, 12, 1, 0, 40))], 40, at(UTC, 2026, 11, 30, 23, 0), True),
    # Padded in elapsed time: 01:50 EDT + 60 min is 06:50 UTC, not "02:50" on the wall (07:50 UTC, EST).
    ("DST night: a zoned block is padded in elapsed time", UTC_CAL,
     [(at(NEW_YORK, 2026, 11, 1, 1, 30), at(NEW_YORK, 2026, 11, 1, 1, 50))], 60, at(UTC, 2026, 11, 1, 7), True),
    ("DST night: …and still covers what it must", UTC_CAL,
     [(at(NEW_YORK, 2026, 11, 1, 1, 30), at(NEW_YORK, 2026, 11, 1, 1, 50))], 60, at(UTC, 2026, 11, 1, 6, 30), False),
    # 14:00 UTC is 09:00 EST on the day the clocks went back (it would be 10:00 EDT the day before).
    ("DST day in New York: right after a call (EST)", NY_CAL,
     [(at(UTC, 2026, 11, 1, 14), at(UTC, 2026, 11, 1, 14, 30))], 30, at(NEW_YORK, 2026, 11, 1, 9, 30), False),
    ("DST day in New York: the buffer later (EST)", NY_CAL,
     [(at(UTC, 2026, 11, 1, 14), at(UTC, 2026, 11, 1, 14, 30))], 30, at(NEW_YORK, 2026, 11, 1, 10), True),
    ("DST eve in New York: the same UTC time is 10:00 EDT", NY_CAL,
     [(at(UTC, 2026, 10, 31, 14), at(UTC, 2026, 10, 31, 14, 30))], 30, at(NEW_YORK, 2026, 10, 31, 9, 30), False),
    ("DST eve in New York: 09:00 EDT is clear of it", NY_CAL,
     [(at(UTC, 2026, 10, 31, 14), at(UTC, 2026, 10, 31, 14, 30))], 30, at(NEW_YORK, 2026, 10, 31, 9), True),
    ("DST eve in New York: 11:00 EDT is the buffer later", NY_CAL,
     [(at(UTC, 2026, 10, 31, 14), at(UTC, 2026, 10, 31, 14, 30))], 30, at(NEW_YORK, 2026, 10, 31, 11), True),
]  # fmt: skip


@pytest.mark.parametrize(("case", "cal", "busy", "buffer", "start", "expected"), BUFFER_CASES, ids=lambda v: v
                         if isinstance(v, str) else "")  # fmt: skip
def test_buffer(case, cal, busy, buffer, start, expected):
    assert offered(cal, start, busy, BookingLimits(buffer=minutes(buffer))) is expected, case


def test_the_buffer_changes_nothing_without_busy_time():
    day = date(2026, 12, 1)
    assert day_starts(PARIS_CAL, day, PARIS, [], BookingLimits(buffer=minutes(45))) == day_starts(
        PARIS_CAL, day, PARIS, [], NO_LIMITS
    )


def _ny_calls(*moments: tuple[int, ...]) -> tuple[datetime, ...]:
    return tuple(at(NEW_YORK, *m) for m in moments)


# (case, calendar, day zone, booked call starts, cap, start, offered?)
DAILY_CAP_CASES = [
    ("under the cap", NY_CAL, NEW_YORK, _ny_calls((2026, 11, 1, 9)), 2, at(NEW_YORK, 2026, 11, 1, 11), True),
    ("at the cap: the day is full", NY_CAL, NEW_YORK, _ny_calls((2026, 11, 1, 9), (2026, 11, 1, 10)), 2,
     at(NEW_YORK, 2026, 11, 1, 15), False),
    ("the day before the full DST day is open", NY_CAL, NEW_YORK, _ny_calls((2026, 11, 1, 9), (2026, 11, 1, 10)), 2,
     at(NEW_YORK, 2026, 10, 31, 16, 30), True),
    ("the day after the full DST day is open", NY_CAL, NEW_YORK, _ny_calls((2026, 11, 1, 9), (2026, 11, 1, 10)), 2,
     at(NEW_YORK, 2026, 11, 2, 9), True),
    # 23:30 EDT on Saturday is already Sunday in UTC: it counts for Saturday, the agent's day.
    ("a late call counts for its local day, not the UTC one", NY_CAL, NEW_YORK,
     _ny_calls((2026, 10, 31, 23, 30), (2026, 11, 1, 9)), 2, at(NEW_YORK, 2026, 11, 1, 12), True),
    ("…and fills that local day", NY_CAL, NEW_YORK, _ny_calls((2026, 10, 31, 23, 30), (2026, 10, 31, 9)), 2,
     at(NEW_YORK, 2026, 10, 31, 12), False),
    # The agent lives in Tokyo: Paris 16:00 on Tuesday is Wednesday 00:00 there.
    ("the agent's zone decides the day (same Paris day, other Tokyo day)", PARIS_CAL, TOKYO,
     (at(PARIS, 2026, 12, 1, 16),), 1, at(PARIS, 2026, 12, 1, 9), True),
    ("the agent's zone decides the day (Paris evening = Tokyo's next day)", PARIS_CAL, TOKYO,
     (at(PARIS, 2026, 12, 1, 16),), 1, at(PARIS, 2026, 12, 1, 16, 30), False),
    ("the agent's zone decides the day (next Paris morning, same Tokyo day)", PARIS_CAL, TOKYO,
     (at(PARIS, 2026, 12, 1, 16),), 1, at(PARIS, 2026, 12, 2, 9), False),
    ("no cap", NY_CAL, NEW_YORK, _ny_calls((2026, 11, 1, 9), (2026, 11, 1, 10)), None,
     at(NEW_YORK, 2026, 11, 1, 11), True),
]  # fmt: skip


@pytest.mark.parametrize(("case", "cal", "zone", "calls", "cap", "start", "expected"), DAILY_CAP_CASES, ids=lambda v: v
                         if isinstance(v, str) else "")  # fmt: skip
def test_calls_per_day(case, cal, zone, calls, cap, start, expected):
    limits = BookingLimits(max_calls_per_day=cap, booked_call_starts=calls, day_zone=zone)
    # The booked calls are busy time too (as the service passes them).
    busy = [(s, s + minutes(30)) for s in calls]
    assert offered(cal, start, busy, limits) is expected, case


def test_a_full_day_offers_nothing_and_its_neighbours_everything():
    calls = _ny_calls((2026, 11, 1, 9), (2026, 11, 1, 10))
    limits = BookingLimits(max_calls_per_day=2, booked_call_starts=calls, day_zone=NEW_YORK)
    busy = [(s, s + minutes(30)) for s in calls]
    assert day_starts(NY_CAL, date(2026, 11, 1), NEW_YORK, busy, limits) == set()
    full_day = 16  # 09:00-17:00 in 30-minute slots
    assert len(day_starts(NY_CAL, date(2026, 10, 31), NEW_YORK, busy, limits)) == full_day
    assert len(day_starts(NY_CAL, date(2026, 11, 2), NEW_YORK, busy, limits)) == full_day


@pytest.mark.parametrize(
    ("cap", "held", "expected"),
    [(None, 50, True), (2, 0, True), (2, 1, True), (2, 2, False), (2, 3, False), (1, 1, False)],
)
def test_open_calls_per_customer(cap, held, expected):
    limits = BookingLimits(max_open_bookings=cap, open_bookings=held)
    assert limits.customer_capped is not expected
    assert offered(PARIS_CAL, at(PARIS, 2026, 12, 1, 10), [], limits) is expected
    assert bool(day_starts(PARIS_CAL, date(2026, 12, 1), PARIS, [], limits)) is expected


@pytest.mark.parametrize(
    "limits",
    [
        BookingLimits(buffer=minutes(-1)),
        BookingLimits(max_calls_per_day=0),
        BookingLimits(max_open_bookings=0),
    ],
)
def test_limits_that_describe_no_schedule_are_refused(limits):
    with pytest.raises(ValueError):
        free_slots(PARIS_CAL, (at(PARIS, 2026, 12, 1), at(PARIS, 2026, 12, 2)), RULES, EARLY, [], None, limits)
