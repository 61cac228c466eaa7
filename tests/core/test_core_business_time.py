"""Business time: parsing, holidays, opening hours across DST, business arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.core.business_time import (
    BusinessCalendar,
    business_calendar,
    load_holidays,
    parse_days,
    parse_hours,
    validate_weekly_hours,
    weekly_hours_intervals,
)

PARIS = ZoneInfo("Europe/Paris")
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- parsing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00-17:00", (time(9), time(17))),
        ("9:00-17:30", (time(9), time(17, 30))),
        (" 08:15 - 12:45 ", (time(8, 15), time(12, 45))),
        ("00:00-23:59", (time(0), time(23, 59))),
    ],
)
def test_parse_hours(text: str, expected: tuple[time, time]) -> None:
    assert parse_hours(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("17:00-09:00", "end must be after start"),
        ("09:00-09:00", "end must be after start"),
        ("09:00", "expected 'HH:MM-HH:MM'"),
        ("9-17", "expected 'HH:MM-HH:MM'"),
        ("09:00-24:00", "hours must be 00-23"),
        ("09:60-17:00", "minutes 00-59"),
        ("", "expected 'HH:MM-HH:MM'"),
        (900, "must be a string"),
    ],
)
def test_parse_hours_rejects(text: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_hours(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("mon,tue,thu", {0, 1, 3}),
        ("mon-sat", {0, 1, 2, 3, 4, 5}),
        ("Mon - Wed, fri", {0, 1, 2, 4}),
        ("sun", {6}),
        ("mon,mon-tue", {0, 1}),
    ],
)
def test_parse_days(text: str, expected: set[int]) -> None:
    assert parse_days(text) == frozenset(expected)


def test_parse_days_full_names() -> None:
    assert parse_days("monday-friday") == frozenset(range(5))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected e.g. 'mon-fri'"),
        ("mon-fri,", "empty item"),
        ("fri-mon", "must run forward"),
        ("mon-fry", "invalid day 'fry'"),
        ("weekdays", "invalid day 'weekdays'"),
    ],
)
def test_parse_days_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_days(text)


# --- holidays -----------------------------------------------------------------------


def test_no_holidays() -> None:
    hols = load_holidays("")
    assert date(2026, 12, 25) not in hols
    assert date(2026, 1, 1) not in hols


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 1, 1), True),
        (date(2026, 4, 6), True),  # Easter Monday
        (date(2026, 5, 14), True),  # Ascension
        (date(2026, 7, 14), True),
        (date(2026, 11, 11), True),
        (date(2026, 12, 24), False),
        (date(2026, 12, 25), True),
        (date(2026, 12, 26), False),  # only in Alsace-Moselle
        (date(2026, 4, 3), False),  # Good Friday: only in Alsace-Moselle
        (date(2027, 1, 1), True),  # another year, expanded on demand
        (date(2031, 7, 14), True),
    ],
)
def test_french_holidays(day: date, expected: bool) -> None:
    assert (day in load_holidays("FR")) is expected


@pytest.mark.parametrize("spec", ["FR-57", "fr-57", " FR-57 "])
def test_subdivision_holidays(spec: str) -> None:
    hols = load_holidays(spec)
    assert date(2026, 12, 26) in hols  # St Stephen's Day in Moselle
    assert date(2026, 4, 3) in hols  # Good Friday in Moselle
    assert date(2026, 12, 25) in hols
    assert hols.name(date(2026, 12, 24)) is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("XX", "unknown holiday country 'XX'"),
        ("FR-99", "unknown subdivision '99' of FR"),
        ("ZZ-1", "unknown holiday country 'ZZ'"),
    ],
)
def test_bad_holiday_specs(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_holidays(spec)


def test_holiday_lookup_refuses_datetimes() -> None:
    """A datetime has no date until a zone is chosen: asking is a bug, not a False."""
    with pytest.raises(TypeError):
        datetime(2026, 12, 25, 10, tzinfo=UTC) in load_holidays("FR")  # noqa: B015


def test_holiday_years_expand_lazily() -> None:
    hols = load_holidays("FR")
    assert hols._years == set()
    assert date(2040, 5, 1) in hols
    assert hols._years == {2040}


# --- the calendar -------------------------------------------------------------------


def test_calendar_validation() -> None:
    with pytest.raises(ValueError, match="closes must be after opens"):
        BusinessCalendar(PARIS, time(17), time(9), frozenset({0}), load_holidays(""))
    with pytest.raises(ValueError, match="at least one business day"):
        BusinessCalendar(PARIS, time(9), time(17), frozenset(), load_holidays(""))


def test_calendar_is_hashable_and_comparable(cal: BusinessCalendar) -> None:
    again = business_calendar("Europe/Paris", "09:00-17:00", "mon-fri", "FR")
    assert again == cal
    assert hash(again) == hash(cal)
    assert again != business_calendar("Europe/Paris", "09:00-17:00", "mon-fri", "FR-57")


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 10), True),  # Tuesday
        (date(2026, 11, 11), False),  # Wednesday, Armistice Day
        (date(2026, 11, 14), False),  # Saturday
        (date(2026, 11, 15), False),  # Sunday
        (date(2026, 12, 24), True),
        (date(2026, 12, 25), False),
        (date(2027, 1, 1), False),
    ],
)
def test_is_business_day(cal: BusinessCalendar, day: date, expected: bool) -> None:
    assert cal.is_business_day(day) is expected


@pytest.mark.parametrize("monday", [date(2026, 11, 2), date(2026, 3, 30), date(2026, 10, 26)])
@pytest.mark.parametrize(
    ("clock", "expected"),
    [
        (time(8, 59, 59), False),
        (time(8, 59, 59, 999999), False),
        (time(9, 0, 0), True),
        (time(12, 0), True),
        (time(16, 59, 59), True),
        (time(16, 59, 59, 999999), True),
        (time(17, 0, 0), False),
        (time(17, 0, 1), False),
    ],
)
def test_is_open_boundaries(cal: BusinessCalendar, monday: date, clock: time, expected: bool) -> None:
    at = datetime.combine(monday, clock, tzinfo=PARIS)
    assert cal.is_open(at) is expected
    assert cal.is_open(at.astimezone(UTC)) is expected
    assert cal.is_open(at.astimezone(NEW_YORK)) is expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # Monday after DST starts: 09:00 CEST is 07:00 UTC.
        (utc(2026, 3, 30, 6, 59, 59), False),
        (utc(2026, 3, 30, 7, 0, 0), True),
        (utc(2026, 3, 30, 14, 59, 59), True),
        (utc(2026, 3, 30, 15, 0, 0), False),
        # Friday before: still CET, 09:00 is 08:00 UTC.
        (utc(2026, 3, 27, 7, 30), False),
        (utc(2026, 3, 27, 8, 0), True),
        (utc(2026, 3, 27, 15, 59, 59), True),
        # Monday after DST ends: 09:00 CET is 08:00 UTC.
        (utc(2026, 10, 26, 7, 59, 59), False),
        (utc(2026, 10, 26, 8, 0, 0), True),
        (utc(2026, 10, 26, 15, 59, 59), True),
        (utc(2026, 10, 26, 16, 0, 0), False),
        # The DST Sundays themselves are closed.
        (utc(2026, 3, 29, 10), False),
        (utc(2026, 10, 25, 10), False),
    ],
)
def test_is_open_in_utc_across_dst(cal: BusinessCalendar, at: datetime, expected: bool) -> None:
    assert cal.is_open(at) is expected


def test_is_open_refuses_naive(cal: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="naive"):
        cal.is_open(datetime(2026, 11, 2, 10))


def test_opening_intervals_clipped_and_unclipped(cal: BusinessCalendar) -> None:
    start, end = paris(2026, 11, 9, 10, 15), paris(2026, 11, 12, 12, 0)
    assert cal.opening_intervals(start, end) == [
        (utc(2026, 11, 9, 9, 15), utc(2026, 11, 9, 16)),
        (utc(2026, 11, 10, 8), utc(2026, 11, 10, 16)),
        # Wednesday 11th is a holiday
        (utc(2026, 11, 12, 8), utc(2026, 11, 12, 11)),
    ]
    assert cal.opening_intervals(start, end, clip=False) == [
        (utc(2026, 11, 9, 8), utc(2026, 11, 9, 16)),
        (utc(2026, 11, 10, 8), utc(2026, 11, 10, 16)),
        (utc(2026, 11, 12, 8), utc(2026, 11, 12, 16)),
    ]
    assert cal.day_openings(start, end) == cal.opening_intervals(start, end, clip=False)


def test_opening_intervals_across_dst_start(cal: BusinessCalendar) -> None:
    openings = cal.opening_intervals(paris(2026, 3, 27), paris(2026, 3, 31))
    assert openings == [
        (utc(2026, 3, 27, 8), utc(2026, 3, 27, 16)),  # CET
        (utc(2026, 3, 30, 7), utc(2026, 3, 30, 15)),  # CEST
    ]
    assert all(o[0].tzinfo is UTC for o in openings)


def test_opening_intervals_edges(cal: BusinessCalendar) -> None:
    # A range that ends exactly at an opening, or starts at a closing, touches nothing.
    assert cal.opening_intervals(paris(2026, 11, 2, 0), paris(2026, 11, 2, 9)) == []
    assert cal.opening_intervals(paris(2026, 11, 2, 17), paris(2026, 11, 3, 9)) == []
    assert cal.opening_intervals(paris(2026, 11, 3, 9), paris(2026, 11, 2, 9)) == []


def test_opening_hours_spanning_the_dst_change_count_real_time() -> None:
    """01:00-05:00 on the DST nights lasts 3 h (spring) and 5 h (autumn) of real time."""
    night = business_calendar("Europe/Paris", "01:00-05:00", "mon-sun", "")
    assert night.opening_intervals(paris(2026, 3, 29), paris(2026, 3, 30)) == [
        (utc(2026, 3, 29, 0), utc(2026, 3, 29, 3))
    ]
    assert night.opening_intervals(paris(2026, 10, 25), paris(2026, 10, 26)) == [
        (utc(2026, 10, 24, 23), utc(2026, 10, 25, 4))
    ]
    # 4 business hours from the spring opening run into the next night.
    assert night.add_business_time(paris(2026, 3, 29, 1), timedelta(hours=4)) == utc(2026, 3, 30, 0)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (paris(2026, 11, 2, 10, 30), utc(2026, 11, 2, 9, 30)),  # open: itself
        (paris(2026, 11, 2, 9, 0), utc(2026, 11, 2, 8, 0)),
        (paris(2026, 11, 2, 8, 59, 59), utc(2026, 11, 2, 8, 0)),
        (paris(2026, 11, 2, 17, 0), utc(2026, 11, 3, 8, 0)),
        (paris(2026, 11, 6, 17, 0), utc(2026, 11, 9, 8, 0)),  # Friday -> Monday
        (paris(2026, 11, 7, 12, 0), utc(2026, 11, 9, 8, 0)),  # Saturday
        (paris(2026, 11, 10, 18, 0), utc(2026, 11, 12, 8, 0)),  # over Armistice Day
        (paris(2026, 12, 24, 19, 0), utc(2026, 12, 28, 8, 0)),  # over Christmas
        (paris(2026, 12, 31, 17, 0), utc(2027, 1, 4, 8, 0)),  # over New Year
        (paris(2026, 3, 27, 17, 0), utc(2026, 3, 30, 7, 0)),  # over DST start
        (paris(2026, 10, 23, 17, 0), utc(2026, 10, 26, 8, 0)),  # over DST end
    ],
)
def test_next_opening(cal: BusinessCalendar, at: datetime, expected: datetime) -> None:
    result = cal.next_opening(at)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("at", "delta", "expected"),
    [
        (paris(2026, 12, 18, 16, 30), timedelta(hours=2), paris(2026, 12, 21, 10, 30)),
        (paris(2026, 12, 21, 10, 30), timedelta(hours=2), paris(2026, 12, 21, 12, 30)),
        (
            paris(2026, 12, 19, 14, 0),
            timedelta(hours=2),
            paris(2026, 12, 21, 11, 0),
        ),  # Sat
        (paris(2026, 12, 21, 15, 0), timedelta(hours=2), paris(2026, 12, 21, 17, 0)),
        (paris(2026, 12, 21, 7, 0), timedelta(0), paris(2026, 12, 21, 9, 0)),
        (paris(2026, 12, 21, 10, 0), timedelta(0), paris(2026, 12, 21, 10, 0)),
        (paris(2026, 12, 21, 10, 0), timedelta(hours=8), paris(2026, 12, 22, 10, 0)),
        (paris(2026, 12, 21, 10, 0), timedelta(hours=40), paris(2026, 12, 29, 10, 0)),
        # Christmas: Thursday 24th then Friday 25th is a holiday.
        (paris(2026, 12, 24, 16, 0), timedelta(hours=2), paris(2026, 12, 28, 10, 0)),
        # New Year: Friday 1 January 2027 is a holiday.
        (paris(2026, 12, 31, 16, 30), timedelta(hours=1), paris(2027, 1, 4, 9, 30)),
        # Armistice Day, a Wednesday.
        (paris(2026, 11, 10, 16, 0), timedelta(hours=3), paris(2026, 11, 12, 11, 0)),
        # DST start between Friday and Monday: 65 h of wall time, 2 business hours.
        (paris(2026, 3, 27, 16, 0), timedelta(hours=2), paris(2026, 3, 30, 10, 0)),
        # DST end between Friday and Monday.
        (paris(2026, 10, 23, 16, 0), timedelta(hours=2), paris(2026, 10, 26, 10, 0)),
        (paris(2026, 12, 21, 9, 0), timedelta(minutes=1), paris(2026, 12, 21, 9, 1)),
        (
            paris(2026, 12, 21, 16, 59, 59),
            timedelta(seconds=2),
            paris(2026, 12, 22, 9, 0, 1),
        ),
    ],
)
def test_add_business_time(cal: BusinessCalendar, at: datetime, delta: timedelta, expected: datetime) -> None:
    result = cal.add_business_time(at, delta)
    assert result == expected
    assert result.tzinfo is UTC


def test_add_business_time_dst_in_utc(cal: BusinessCalendar) -> None:
    assert cal.add_business_time(utc(2026, 3, 27, 15), timedelta(hours=2)) == utc(2026, 3, 30, 8)
    assert cal.add_business_time(utc(2026, 10, 23, 14), timedelta(hours=2)) == utc(2026, 10, 26, 9)


def test_add_business_time_refuses_negative(cal: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="negative"):
        cal.add_business_time(paris(2026, 12, 21, 10), timedelta(minutes=-1))


@pytest.mark.parametrize(
    ("at", "n", "expected"),
    [
        (paris(2026, 11, 2, 10, 0), 1, paris(2026, 11, 3, 10, 0)),
        (paris(2026, 11, 2, 9, 0), 1, paris(2026, 11, 2, 17, 0)),
        (paris(2026, 11, 6, 19, 0), 1, paris(2026, 11, 9, 17, 0)),  # Friday evening
        (paris(2026, 11, 10, 10, 0), 1, paris(2026, 11, 12, 10, 0)),  # over the 11th
        (paris(2026, 12, 24, 19, 0), 2, paris(2026, 12, 29, 17, 0)),
        # Wed 23rd 7 h + Thu 24th 8 h (not a holiday) + 1 h after Christmas.
        (paris(2026, 12, 23, 10, 0), 2, paris(2026, 12, 28, 10, 0)),
        (paris(2026, 11, 7, 12, 0), 0, paris(2026, 11, 9, 9, 0)),
    ],
)
def test_add_business_days(cal: BusinessCalendar, at: datetime, n: int, expected: datetime) -> None:
    assert cal.business_day_length == timedelta(hours=8)
    assert cal.add_business_days(at, n) == expected


def test_add_business_days_refuses_negative(cal: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="negative"):
        cal.add_business_days(paris(2026, 12, 21, 10), -1)


# --- properties ---------------------------------------------------------------------

moments = st.datetimes(
    min_value=datetime(2026, 1, 1),
    max_value=datetime(2027, 12, 31),
    timezones=st.just(UTC),
).map(lambda d: d.replace(microsecond=0))


def open_time(cal: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    return sum((e - s for s, e in cal.opening_intervals(start, end)), timedelta(0))


@settings(max_examples=200, deadline=None)
@given(moments, st.integers(min_value=0, max_value=60 * 60))
def test_add_business_time_counts_exactly_the_open_time(cal: BusinessCalendar, at: datetime, minutes: int) -> None:
    delta = timedelta(minutes=minutes)
    result = cal.add_business_time(at, delta)
    assert result >= at
    assert open_time(cal, at, result) == delta
    # Never later than needed: the last instant before the result is open time.
    if minutes:
        assert cal.is_open(result - timedelta(microseconds=1))
    else:
        assert result == cal.next_opening(at)


@settings(max_examples=200, deadline=None)
@given(moments)
def test_next_opening_property(cal: BusinessCalendar, at: datetime) -> None:
    result = cal.next_opening(at)
    assert result >= at
    assert cal.is_open(result)
    assert open_time(cal, at, result) == timedelta(0)
    local = result.astimezone(PARIS)
    assert local.time() == time(9) or result == at


# --- agent working hours ------------------------------------------------------------


def test_validate_weekly_hours_normalises() -> None:
    spec = {"Tue": ["13:00-17:00", "9:00-12:00"], "mon": ["09:00-17:00"], "sat": []}
    assert validate_weekly_hours(spec) == {
        "mon": ["09:00-17:00"],
        "tue": ["09:00-12:00", "13:00-17:00"],
        "sat": [],
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (["09:00-17:00"], "must be a mapping"),
        ({"monday": ["09:00-17:00"]}, "invalid day 'monday'"),
        ({"mon": "09:00-17:00"}, "must be a list"),
        ({"mon": ["09:00-12:00", "11:00-17:00"]}, "overlap"),
        ({"mon": ["17:00-09:00"]}, "end must be after start"),
        ({"mon": ["9h-17h"]}, "working hours for 'mon'"),
        ({"mon": [900]}, "must be a string"),
        ({"mon": ["09:00-17:00"], "MON": ["10:00-11:00"]}, "appears twice"),
    ],
)
def test_validate_weekly_hours_rejects(spec: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_weekly_hours(spec)


def test_touching_ranges_are_allowed_and_merged() -> None:
    spec = {"mon": ["09:00-12:00", "12:00-17:00"]}
    assert weekly_hours_intervals(spec, PARIS, paris(2026, 11, 2), paris(2026, 11, 3)) == [
        (utc(2026, 11, 2, 8), utc(2026, 11, 2, 16))
    ]


def test_weekly_hours_none_means_no_restriction() -> None:
    assert weekly_hours_intervals(None, PARIS, paris(2026, 11, 2), paris(2026, 11, 9)) is None
    assert weekly_hours_intervals({}, PARIS, paris(2026, 11, 2), paris(2026, 11, 9)) == []


def test_weekly_hours_in_london() -> None:
    spec = {"mon": ["09:00-12:00", "13:00-17:00"], "wed": ["09:00-17:00"]}
    start, end = paris(2026, 11, 2), paris(2026, 11, 9)
    assert weekly_hours_intervals(spec, LONDON, start, end) == [
        (utc(2026, 11, 2, 9), utc(2026, 11, 2, 12)),
        (utc(2026, 11, 2, 13), utc(2026, 11, 2, 17)),
        (utc(2026, 11, 4, 9), utc(2026, 11, 4, 17)),
    ]


def test_weekly_hours_follow_the_agents_dst() -> None:
    """New York leaves summer time a week after Europe: 09:00 NY is 13:00 then 14:00 UTC."""
    spec = {"fri": ["09:00-17:00"]}
    assert weekly_hours_intervals(spec, NEW_YORK, paris(2026, 10, 30), paris(2026, 11, 7)) == [
        (utc(2026, 10, 30, 13), utc(2026, 10, 30, 21)),
        (utc(2026, 11, 6, 14), utc(2026, 11, 6, 22)),
    ]


def test_weekly_hours_clip() -> None:
    spec = {"mon": ["09:00-17:00"]}
    start, end = paris(2026, 11, 2, 10), paris(2026, 11, 2, 12)
    whole = [(utc(2026, 11, 2, 8), utc(2026, 11, 2, 16))]
    assert weekly_hours_intervals(spec, PARIS, start, end) == whole
    assert weekly_hours_intervals(spec, PARIS, start, end, clip=True) == [(utc(2026, 11, 2, 9), utc(2026, 11, 2, 11))]
    assert weekly_hours_intervals(spec, PARIS, end, start) == []


@settings(max_examples=200, deadline=None)
@given(moments, st.integers(min_value=0, max_value=24 * 21), st.booleans(), st.sampled_from([PARIS, NEW_YORK]))
def test_business_hours_and_working_hours_walk_days_alike(at: datetime, hours: int, clip: bool, tz: ZoneInfo) -> None:
    """Both expansions share one walk over local days: the same hours give the same UTC ranges (DST included)."""
    business = business_calendar(str(tz), "09:00-17:00", "mon-fri", "")
    weekly = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
    end = at + timedelta(hours=hours)
    expected = business.opening_intervals(at, end, clip=clip)
    assert weekly_hours_intervals(weekly, tz, at, end, clip=clip) == expected
