"""The sync and push against DAViCal and Cyrus IMAP's CalDAV (issue 10), started from Debian's packages.

Each test names the server behaviour it proves; the servers are real (``tests/fixtures/caldav_servers``)
and the tests skip with the reason when the packages are not installed. "Now" is a Monday in
November 2026; the events sit in the following weeks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.calendar_helpers import connect, sync
from tests.fixtures.radicale import DavCalendar

pytestmark = pytest.mark.caldav_servers

NOW = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)  # Monday 08:00 Paris


def vevent(uid: str, day: int, hour: int, summary: str = "Meeting", extra: str = "") -> str:
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261001T000000Z\r\n"
        f"DTSTART:202611{day:02d}T{hour:02d}0000Z\r\nDTEND:202611{day:02d}T{hour:02d}3000Z\r\n"
        f"SUMMARY:{summary}\r\n{extra}END:VEVENT\r\n"
    )


def calendar(*events: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + "".join(events) + "END:VCALENDAR\r\n").encode()


@pytest.fixture(params=["davical", "cyrus"])
def real_caldav(request: pytest.FixtureRequest) -> DavCalendar:
    """The same test on DAViCal and on Cyrus."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def test_full_then_incremental_sync_transfers_only_the_change(client, admin, make_agent, real_caldav, frozen, capsys):
    frozen(NOW)
    slug = make_agent()["slug"]
    for i in range(20):
        real_caldav.put(f"ev-{i}", calendar(vevent(f"ev-{i}@agent.example", 3 + i % 10, 8 + i % 8)))
    connect(client, admin, slug, real_caldav)
    full = sync(client, admin, slug)
    assert (full["mode"], full["objects"], full["changed"], full["busy_blocks"]) == ("full", 20, 20, 20)

    real_caldav.put("ev-7", calendar(vevent("ev-7@agent.example", 12, 15)))
    frozen(NOW + timedelta(minutes=5))
    incremental = sync(client, admin, slug)
    assert (incremental["mode"], incremental["changed"], incremental["deleted"]) == ("incremental", 1, 0)
    assert incremental["bytes_received"] < full["bytes_received"] / 5
    with capsys.disabled():
        print(
            f"\n[{type(real_caldav.server).__name__}] full: {full['requests']} requests, "
            f"{full['bytes_received']} bytes; incremental (1 of 20 changed): {incremental['requests']} requests, "
            f"{incremental['bytes_received']} bytes"
        )
