"""Who is on duty at an instant (the press-2 rule): own hours or business hours, minus time away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking.core.duty import inside, on_duty

T = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_inside_is_half_open():
    assert inside(T, [(T, T + HOUR)])
    assert not inside(T + HOUR, [(T, T + HOUR)])
    assert not inside(T, [])


def test_without_own_hours_the_business_hours_decide():
    assert on_duty(T, working=None, business_open=True, away=[])
    assert not on_duty(T, working=None, business_open=False, away=[])


def test_own_hours_decide_whatever_the_business_hours():
    assert on_duty(T, working=[(T - HOUR, T + HOUR)], business_open=False, away=[])
    assert not on_duty(T, working=[(T + HOUR, T + 2 * HOUR)], business_open=True, away=[])
    assert not on_duty(T, working=[], business_open=True, away=[])  # {} = works no hours at all


def test_time_away_takes_an_agent_off_duty():
    assert not on_duty(T, working=None, business_open=True, away=[(T - HOUR, T + HOUR)])
    assert on_duty(T, working=None, business_open=True, away=[(T - HOUR, T)])  # a call that just ended


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="aware"):
        on_duty(T.replace(tzinfo=None), working=None, business_open=True, away=[])
