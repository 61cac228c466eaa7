"""Shared fixtures for the pure core tests (no app, no database)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from booking.core.business_time import BusinessCalendar, business_calendar

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(scope="session")
def cal() -> BusinessCalendar:
    """The product's calendar: 09:00-17:00 Europe/Paris, Mon-Fri, French holidays."""
    return business_calendar("Europe/Paris", "09:00-17:00", "mon-fri", "FR")
