"""booking.core.presence: presence from facts (issue 17), at a given ``now``."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.core.business_time import BusinessCalendar, load_holidays, parse_days, parse_hours
from booking.core.presence import AgentFacts, presence

PARIS = ZoneInfo("Europe/Paris")
OPENS, CLOSES = parse_hours("09:00-17:00")
CAL = BusinessCalendar(tz=PARIS, opens=OPENS, closes=CLOSES, days=parse_days("mon-fri"), holidays=load_holidays("FR"))
WINDOW = timedelta(minutes=5)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


NOW = paris(2026, 11, 30, 14, 0)  # a Monday


def test_available_when_open_active_and_not_in_a_call():
    got = presence(NOW, CAL, AgentFacts(last_seen_at=NOW - timedelta(minutes=4)), WINDOW)
    assert (got.state, got.back_at, got.next_opening) == ("available", None, NOW)


@pytest.mark.parametrize("seen", [None, NOW - timedelta(minutes=5, seconds=1)])
def test_away_when_signed_out_or_idle(seen):
    assert presence(NOW, CAL, AgentFacts(last_seen_at=seen), WINDOW).state == "away"


def test_in_call_until_the_end_of_back_to_back_calls():
    calls = [(paris(2026, 11, 30, 14, 30), paris(2026, 11, 30, 15, 0)), (NOW, paris(2026, 11, 30, 14, 30))]
    got = presence(NOW, CAL, AgentFacts(last_seen_at=NOW, calls=calls), WINDOW)
    assert (got.state, got.back_at) == ("in_call", paris(2026, 11, 30, 15, 0))
    later = presence(
        paris(2026, 11, 30, 15, 0), CAL, AgentFacts(last_seen_at=NOW + timedelta(hours=1), calls=calls), WINDOW
    )
    assert later.state == "available"  # a call's end is exclusive


def test_closed_on_a_friday_evening_until_monday_and_over_a_holiday():
    friday = paris(2026, 12, 4, 17, 0)
    got = presence(friday, CAL, AgentFacts(last_seen_at=friday), WINDOW)
    assert (got.state, got.back_at) == ("closed", paris(2026, 12, 7, 9, 0))
    christmas_eve = paris(2026, 12, 24, 18, 0)  # Friday 25 December is a holiday in France
    assert presence(christmas_eve, CAL, None, WINDOW).back_at == paris(2026, 12, 28, 9, 0)


def test_away_on_time_off_back_at_the_next_opening_after_it_and_nobody_without_an_agent():
    off = [(paris(2026, 11, 30, 13, 0), paris(2026, 12, 1, 12, 0))]
    got = presence(NOW, CAL, AgentFacts(last_seen_at=NOW, time_off=off), WINDOW)
    assert (got.state, got.back_at) == ("away", paris(2026, 12, 1, 12, 0))
    assert presence(NOW, CAL, None, WINDOW).state == "away"
    assert presence(NOW, CAL, AgentFacts(last_seen_at=NOW, active=False), WINDOW).state == "away"
