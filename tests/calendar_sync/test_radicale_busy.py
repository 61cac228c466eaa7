"""End to end: real .ics files stored in a real Radicale, read back, mapped to busy time.

This is the path the sync job takes: client.sync()/fetch_range() → one
busy_intervals() call per resource, a malformed resource logged and skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from booking.calendar_sync.dav import CalDAVClient, RemoteObject
from booking.calendar_sync.ics import BusyEvent, IcsError, busy_intervals
from tests.fixtures.radicale import RadicaleCalendar

from ._support import ICS_DIR, PARIS, ics

WINDOW = (datetime(2026, 10, 1, tzinfo=PARIS), datetime(2026, 12, 1, tzinfo=PARIS))


def z(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def busy_of(objects: list[RemoteObject]) -> tuple[dict[str, list[BusyEvent]], dict[str, IcsError]]:
    """What the sync service does: per resource, parse or record the error."""
    busy: dict[str, list[BusyEvent]] = {}
    errors: dict[str, IcsError] = {}
    for obj in objects:
        try:
            busy[obj.href] = busy_intervals(obj.data, *WINDOW, PARIS)
        except IcsError as exc:
            errors[obj.href] = exc
    return busy, errors


# Everything Radicale accepts (it rejects unparseable values with 400 itself).
STORED = sorted(
    p.name
    for p in ICS_DIR.glob("*.ics")
    if p.name not in {"malformed_unparseable_dtstart.ics", "malformed_bad_rrule.ics"}
)


@pytest.fixture
def stored(radicale: RadicaleCalendar) -> RadicaleCalendar:
    for name in STORED:
        radicale.put(name.removesuffix(".ics"), ics(name))
    return radicale


def expected_busy(cal: RadicaleCalendar) -> dict[str, list[tuple[datetime, datetime]]]:
    p = cal.path
    return {
        p("weekly_exdate_moved_dst_paris"): [
            (z(2026, 10, 7, 8), z(2026, 10, 7, 9)),
            (z(2026, 10, 27, 13), z(2026, 10, 27, 14)),
            (z(2026, 10, 28, 9), z(2026, 10, 28, 10)),
            (z(2026, 11, 11, 9), z(2026, 11, 11, 10)),
            (z(2026, 11, 18, 9), z(2026, 11, 18, 10)),
            (z(2026, 11, 25, 9), z(2026, 11, 25, 10)),
        ],
        p("allday_absence_dst_autumn"): [(z(2026, 10, 23, 22), z(2026, 10, 26, 23))],
        p("utc_event"): [(z(2026, 10, 26, 15), z(2026, 10, 26, 15, 45))],
        p("new_york_event"): [(z(2026, 10, 28, 13), z(2026, 10, 28, 14))],
        p("tokyo_event"): [(z(2026, 10, 26, 9), z(2026, 10, 26, 10))],
        p("floating_event"): [(z(2026, 10, 26, 11), z(2026, 10, 26, 12))],
        p("duration_event"): [(z(2026, 10, 27, 8), z(2026, 10, 27, 9, 30))],
        # present on the server, but not busy in this window / at all:
        p("allday_spring_dst_no_dtend"): [],
        p("transparent_event"): [],
        p("cancelled_event"): [],
        p("zero_length_event"): [],
        p("own_booking_event"): [],
    }


def test_full_sync_maps_every_stored_resource(stored: RadicaleCalendar, client: CalDAVClient) -> None:
    result = client.sync(None)
    assert result.full and result.token
    assert len(result.changed) == len(STORED)
    busy, errors = busy_of(result.changed)
    assert set(errors) == {stored.path("malformed_dtend_before_dtstart")}
    assert "DTEND before DTSTART" in str(errors[stored.path("malformed_dtend_before_dtstart")])
    got = {href: [(b.start, b.end) for b in events] for href, events in busy.items()}
    assert got == expected_busy(stored)


def test_time_range_report_returns_what_overlaps_and_maps_identically(
    stored: RadicaleCalendar, client: CalDAVClient
) -> None:
    # Tue 27 Oct 2026, Paris: the moved occurrence, the DURATION workshop, and
    # the weekly series itself (the server returns whole series, unexpanded).
    day = (datetime(2026, 10, 27, tzinfo=PARIS), datetime(2026, 10, 28, tzinfo=PARIS))
    objects = client.fetch_range(*day)
    hrefs = {o.href for o in objects}
    assert stored.path("weekly_exdate_moved_dst_paris") in hrefs
    assert stored.path("duration_event") in hrefs
    assert stored.path("tokyo_event") not in hrefs  # 26 Oct only
    assert stored.path("new_york_event") not in hrefs  # 28 Oct only
    assert client.stats.requests == 1
    spans = sorted((b.start, b.end) for o in objects for b in busy_intervals(o.data, *day, PARIS))
    assert spans == [(z(2026, 10, 27, 8), z(2026, 10, 27, 9, 30)), (z(2026, 10, 27, 13), z(2026, 10, 27, 14))]


def test_agent_edit_of_a_recurring_series_is_picked_up_incrementally(
    stored: RadicaleCalendar, client: CalDAVClient
) -> None:
    first = client.sync(None)
    known = {o.href: o.etag or "" for o in first.changed}
    # The agent cancels the whole series in their own client.
    edited = ics("weekly_exdate_moved_dst_paris.ics").replace(
        b"RRULE:FREQ=WEEKLY", b"STATUS:CANCELLED\r\nRRULE:FREQ=WEEKLY", 1
    )
    stored.put("weekly_exdate_moved_dst_paris", edited)
    client.stats.reset()
    second = client.sync(first.token, known)
    assert not second.full
    assert [o.href for o in second.changed] == [stored.path("weekly_exdate_moved_dst_paris")]
    assert client.stats.requests == 1
    # Master cancelled; the moved occurrence is a separate, still-confirmed override.
    busy = busy_intervals(second.changed[0].data, *WINDOW, PARIS)
    assert [(b.start, b.end) for b in busy] == [(z(2026, 10, 27, 13), z(2026, 10, 27, 14))]
