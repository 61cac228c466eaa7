"""Issue 10 item 13: the on-call SMS names the UTC offset when the wall time occurs twice.

On 25 Oct 2026 Paris goes from 03:00 CEST back to 02:00 CET: 02:30 happens twice, and the page
read "called 02:30 ... call back by 02:30" for a call due one hour later.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from booking.voicemail.notify import local_text

PARIS = ZoneInfo("Europe/Paris")


def test_repeated_autumn_hour_shows_both_offsets() -> None:
    called = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    due = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET, one hour later
    assert local_text(called, PARIS) == "Sun 25 Oct 02:30 UTC+02:00 (Europe/Paris)"
    assert local_text(due, PARIS) == "Sun 25 Oct 02:30 UTC+01:00 (Europe/Paris)"


def test_unambiguous_times_keep_the_short_form() -> None:
    assert local_text(datetime(2026, 10, 25, 2, 30, tzinfo=UTC), PARIS) == "Sun 25 Oct 03:30 (Europe/Paris)"
    assert local_text(datetime(2026, 12, 28, 8, 0, tzinfo=UTC), PARIS) == "Mon 28 Dec 09:00 (Europe/Paris)"
