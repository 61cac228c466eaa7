"""load_settings is split into one parser per group of variables: pin what the split must keep.

Every variable name, every default, and which error is reported first when several values are bad
(the groups run in the order the single function read them).
"""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

import pytest

from booking.config import ConfigError, load_settings


def test_every_default(tmp_path):
    s = load_settings({}, instance_path=tmp_path)
    assert s.database_url == f"sqlite:///{tmp_path / 'booking.sqlite3'}"
    assert len(s.secret_key) >= 16 and (tmp_path / "secret_key").read_text() == s.secret_key
    assert (s.admin_token, s.public_url) == (None, None)
    assert (s.timezone, s.opens, s.closes) == (ZoneInfo("Europe/Paris"), time(9), time(17))
    assert (s.business_days, s.holidays_spec) == (frozenset(range(5)), "FR")
    assert (s.slot_minutes, s.min_notice_minutes, s.horizon_days, s.sync_minutes) == (30, 60, 60, 5)
    assert (s.twilio_account_sid, s.twilio_auth_token, s.twilio_from_number, s.twilio_api_base) == (None,) * 4
    assert (s.support_number, s.smtp_url, s.mail_from) == (None, None, "booking@localhost")
    assert (s.outbox_inline, s.scheduler_enabled) == (True, True)
    assert s.calendar.tz == s.timezone and s.calendar.days == s.business_days


def test_every_variable_reaches_its_field(tmp_path):
    env = {
        "BOOKING_DATABASE_URL": "postgres://u@db/booking",
        "BOOKING_SECRET_KEY": "k" * 20,
        "BOOKING_ADMIN_TOKEN": "admin-token",
        "BOOKING_PUBLIC_URL": "https://book.example.com/",
        "BOOKING_TIMEZONE": "America/New_York",
        "BOOKING_BUSINESS_HOURS": "08:30-18:00",
        "BOOKING_BUSINESS_DAYS": "mon-sat",
        "BOOKING_HOLIDAYS": "US",
        "BOOKING_SLOT_MINUTES": "15",
        "BOOKING_MIN_NOTICE_MINUTES": "0",
        "BOOKING_HORIZON_DAYS": "90",
        "BOOKING_SYNC_MINUTES": "10",
        "TWILIO_ACCOUNT_SID": "AC1",
        "TWILIO_AUTH_TOKEN": "tok",
        "TWILIO_FROM_NUMBER": "+33100000000",
        "BOOKING_TWILIO_API_BASE": "http://127.0.0.1:1",
        "BOOKING_SUPPORT_NUMBER": "+33100000001",
        "BOOKING_SMTP_URL": "smtp://127.0.0.1:25",
        "BOOKING_MAIL_FROM": "support@example.com",
        "BOOKING_OUTBOX_INLINE": "false",
        "BOOKING_SCHEDULER": "off",
    }
    s = load_settings(env, instance_path=tmp_path)
    assert s.database_url == "postgresql+psycopg://u@db/booking"
    assert (s.secret_key, s.admin_token, s.public_url) == ("k" * 20, "admin-token", "https://book.example.com")
    assert (s.timezone, s.opens, s.closes) == (ZoneInfo("America/New_York"), time(8, 30), time(18))
    assert (s.business_days, s.holidays_spec) == (frozenset(range(6)), "US")
    assert (s.slot_minutes, s.min_notice_minutes, s.horizon_days, s.sync_minutes) == (15, 0, 90, 10)
    assert (s.twilio_account_sid, s.twilio_auth_token, s.twilio_from_number) == ("AC1", "tok", "+33100000000")
    assert (s.twilio_api_base, s.support_number) == ("http://127.0.0.1:1", "+33100000001")
    assert (s.smtp_url, s.mail_from) == ("smtp://127.0.0.1:25", "support@example.com")
    assert (s.outbox_inline, s.scheduler_enabled) == (False, False)


@pytest.mark.parametrize(
    ("bad", "reported"),
    [
        ({"BOOKING_DATABASE_URL": "nope", "BOOKING_TIMEZONE": "Mars/Base"}, "BOOKING_DATABASE_URL"),
        ({"BOOKING_TIMEZONE": "Mars/Base", "BOOKING_PUBLIC_URL": "ftp://x"}, "BOOKING_TIMEZONE"),
        ({"BOOKING_PUBLIC_URL": "ftp://x", "BOOKING_SMTP_URL": "http://x"}, "BOOKING_PUBLIC_URL"),
        ({"BOOKING_SMTP_URL": "http://x", "BOOKING_SECRET_KEY": "short"}, "BOOKING_SMTP_URL"),
        ({"BOOKING_SECRET_KEY": "short", "BOOKING_SLOT_MINUTES": "1"}, "BOOKING_SECRET_KEY"),
        ({"BOOKING_HORIZON_DAYS": "0", "BOOKING_SYNC_MINUTES": "0"}, "BOOKING_HORIZON_DAYS"),
        ({"BOOKING_SYNC_MINUTES": "0", "BOOKING_OUTBOX_INLINE": "maybe"}, "BOOKING_SYNC_MINUTES"),
    ],
)
def test_the_first_bad_value_is_the_one_reported(tmp_path, bad, reported):
    with pytest.raises(ConfigError, match=f"^{reported}"):
        load_settings(bad, instance_path=tmp_path)
