"""Issue 10 item 13: a minimum notice at least as long as the horizon is refused at start-up.

Such a configuration was accepted and the booking page was then always empty (every slot both too
soon and too far); the operator must hear it once, naming both variables, not find an empty page.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from booking.config import ConfigError, load_settings


@pytest.mark.parametrize(
    ("notice", "horizon"),
    [("14400", "7"), ("10080", "7"), ("43200", "1")],
    ids=["ten-days-notice-one-week-horizon", "equal", "thirty-days-notice-one-day-horizon"],
)
def test_min_notice_not_shorter_than_horizon_is_refused(tmp_path: Path, notice: str, horizon: str) -> None:
    env = {"BOOKING_MIN_NOTICE_MINUTES": notice, "BOOKING_HORIZON_DAYS": horizon}
    with pytest.raises(ConfigError) as info:
        load_settings(env, instance_path=tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert "BOOKING_MIN_NOTICE_MINUTES" in message and "BOOKING_HORIZON_DAYS" in message


def test_min_notice_just_under_the_horizon_is_accepted(tmp_path: Path) -> None:
    env = {"BOOKING_MIN_NOTICE_MINUTES": "10079", "BOOKING_HORIZON_DAYS": "7"}
    settings = load_settings(env, instance_path=tmp_path)
    assert settings.min_notice < settings.horizon
