"""Both clocks of a request (first response, follow-up) per channel, and the countdown states.

Hand-computed on the product calendar (09:00-17:00 Europe/Paris, Mon-Fri, French holidays), with
the DST changes of 2026 (29 March, 25 October) and Armistice Day (Wednesday 11 November 2026).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.core.business_time import BusinessCalendar
from booking.core.sla import (
    WARNING_LEAD,
    Severity,
    Targets,
    clock_state,
    first_response_due,
    is_breached,
    responded_in_time,
    targets,
    warning_at,
)
from booking.core.sla_report import (
    RequestFacts,
    in_period,
    median,
    month_period,
    p90,
    period_bounds,
    summarize,
)

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("severity", "channel", "received", "first", "follow_up"),
    [
        # A voicemail in hours: two business hours; follow-up two business days.
        (3, "phone", paris(2026, 11, 2, 10, 0), paris(2026, 11, 2, 12, 0), paris(2026, 11, 4, 10, 0)),
        # After hours: the next opening; follow-up two business days from that opening.
        (3, "phone", paris(2026, 11, 6, 18, 0), paris(2026, 11, 9, 9, 0), paris(2026, 11, 10, 17, 0)),
        # The same e-mail: the table's two business hours from the next opening.
        (3, "email", paris(2026, 11, 6, 18, 0), paris(2026, 11, 9, 11, 0), paris(2026, 11, 10, 17, 0)),
        # Over Armistice Day: Tue 16:30 + 2 h = 30 min Tuesday, 1 h 30 Thursday.
        (3, "chat", paris(2026, 11, 10, 16, 30), paris(2026, 11, 12, 10, 30), paris(2026, 11, 13, 16, 30)),
        # A voicemail follows the callback rule (monotone at closing, docs/phone.md): a target past
        # today's close is due at the next opening, Thursday 09:00 after the holiday.
        (3, "phone", paris(2026, 11, 10, 16, 30), paris(2026, 11, 12, 9, 0), paris(2026, 11, 13, 16, 30)),
        # Business time over the spring change: Fri 16:00 CET → Tue 16:00 CEST.
        (3, "email", paris(2026, 3, 27, 16, 0), paris(2026, 3, 30, 10, 0), paris(2026, 3, 31, 16, 0)),
        # Severity 4-5: one business day, both clocks (the follow-up is an internal cadence).
        (4, "email", paris(2026, 11, 10, 10, 0), paris(2026, 11, 12, 10, 0), paris(2026, 11, 12, 10, 0)),
        (5, "phone", paris(2026, 11, 7, 10, 0), paris(2026, 11, 9, 9, 0), paris(2026, 11, 9, 17, 0)),
    ],
)
def test_targets_per_channel(
    cal: BusinessCalendar, severity: int, channel: str, received: datetime, first: datetime, follow_up: datetime
) -> None:
    result = targets(severity, received, cal, channel)
    assert result.first_response_due == first
    assert result.follow_up_due == follow_up
    assert result.first_response_due.tzinfo is UTC and result.follow_up_due.tzinfo is UTC
    assert result.follow_up_contractual is (severity <= 3)


def test_wall_clock_targets_across_the_autumn_change(cal: BusinessCalendar) -> None:
    """01:30 CEST on 25 October + 4 real hours is 04:30 CET (the clock went back once in between)."""
    received = paris(2026, 10, 25, 1, 30)  # 23:30 UTC on the 24th
    result = targets(Severity.CRITICAL, received, cal, "phone")
    assert result == Targets(
        first_response_due=datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        follow_up_due=datetime(2026, 10, 25, 3, 30, tzinfo=UTC),
        follow_up_contractual=True,
    )
    assert result.follow_up_due.astimezone(PARIS).hour == 4


def test_wall_clock_targets_ignore_weekends_and_holidays(cal: BusinessCalendar) -> None:
    received = paris(2026, 12, 25, 3, 0)  # Christmas night
    result = targets(Severity.HIGH, received, cal, "email")
    assert (result.first_response_due, result.follow_up_due) == (paris(2026, 12, 25, 4, 0), paris(2026, 12, 25, 7, 0))


def test_raising_the_severity_recomputes_from_arrival(cal: BusinessCalendar) -> None:
    received = paris(2026, 11, 2, 10, 0)
    assert targets(3, received, cal, "phone").first_response_due == paris(2026, 11, 2, 12, 0)
    assert targets(1, received, cal, "phone").first_response_due == paris(2026, 11, 2, 11, 0)


def test_unknown_channel_and_naive_time_are_refused(cal: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="channel"):
        first_response_due(3, paris(2026, 11, 2, 10, 0), cal, "fax")
    with pytest.raises(ValueError, match="naive"):
        targets(3, datetime(2026, 11, 2, 10, 0), cal, "email")


def test_clock_states_around_the_due_time() -> None:
    due = paris(2026, 11, 2, 12, 0)
    assert warning_at(due) == due - WARNING_LEAD == paris(2026, 11, 2, 11, 45)
    assert clock_state(due, paris(2026, 11, 2, 11, 44, 59)) == "on_time"
    assert clock_state(due, paris(2026, 11, 2, 11, 45)) == "due_soon"
    assert clock_state(due, paris(2026, 11, 2, 12, 0)) == "due_soon"  # the due instant is still on time
    assert clock_state(due, paris(2026, 11, 2, 12, 0, 1)) == "late"
    late_now = paris(2026, 11, 3, 9, 0)
    assert clock_state(due, late_now, responded_at=paris(2026, 11, 2, 12, 0)) == "on_time"
    assert clock_state(due, late_now, responded_at=paris(2026, 11, 2, 12, 1)) == "late"
    assert responded_in_time(due, due) and not responded_in_time(due, None)
    assert not is_breached(due, None, due) and is_breached(due, None, due + timedelta(seconds=1))


def test_month_bounds_are_local_midnights() -> None:
    """March 2026 in Paris: 1 March 00:00 CET to 1 April 00:00 CEST, 743 hours (the 29th has 23)."""
    first, end = month_period("2026-03")
    assert (first, end) == (date(2026, 3, 1), date(2026, 4, 1))
    start_utc, end_utc = period_bounds(first, end, PARIS)
    assert start_utc == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert end_utc == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
    assert end_utc - start_utc == timedelta(hours=31 * 24 - 1)
    assert month_period("2026-12") == (date(2026, 12, 1), date(2027, 1, 1))


def test_a_period_the_utc_calendar_cannot_hold_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="out of range"):
        period_bounds(date(1, 1, 1), date(1, 2, 1), PARIS)
    with pytest.raises(ValueError, match="end after"):
        period_bounds(date(2026, 3, 2), date(2026, 3, 1), PARIS)


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "2026-3", "march", "", "2026-03-01"])
def test_bad_months_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_period(bad)


def test_percentiles_by_hand() -> None:
    assert median([]) is None and p90([]) is None
    assert median([30.0, 10.0, 20.0, 40.0]) == 25.0
    assert p90([float(v) for v in range(1, 11)]) == 9.0  # nearest rank: the 9th of 10
    assert p90([5.0]) == 5.0


def test_summary_counts_a_late_answer_and_an_unanswered_request_as_breached() -> None:
    received = paris(2026, 11, 2, 10, 0)
    due = paris(2026, 11, 2, 12, 0)

    def fact(n: int, answered: datetime | None, *, logged: bool = False, resolved: bool = False) -> RequestFacts:
        return RequestFacts(n, 3, 1, "Acme", received, due, answered, logged, resolved)

    facts = [
        fact(1, paris(2026, 11, 2, 10, 30)),  # 30 min, in time
        fact(2, paris(2026, 11, 2, 12, 30)),  # 150 min, late (no breach event logged)
        fact(3, None),  # still open, and past due
        fact(4, None, resolved=True, logged=True),  # resolved unanswered after a logged breach
    ]
    row = summarize(facts, now=paris(2026, 11, 30, 9, 0))
    assert (row.count, row.responded_in_time, row.breached, row.open) == (4, 1, 3, 1)
    assert row.median_first_response_minutes == 90.0
    assert row.p90_first_response_minutes == 150.0
    window = period_bounds(date(2026, 11, 2), date(2026, 11, 3), PARIS)
    assert len(in_period(facts, window)) == 4
    assert in_period(facts, period_bounds(date(2026, 11, 3), date(2026, 11, 4), PARIS)) == []
