"""Pure tests of booking.calendar_sync.ics, one per rule, on real .ics files.

The same files are pushed through a real Radicale in test_radicale_busy.py;
here they are parsed directly so a failure points at the mapping, not at HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.calendar_sync.ics import (
    BusyEvent,
    EventSpec,
    IcsError,
    build_calendar,
    build_feed,
    busy_intervals,
)

from ._support import NEW_YORK, PARIS, ics

TOKYO = ZoneInfo("Asia/Tokyo")
OCT = datetime(2026, 10, 1, tzinfo=PARIS)
DEC = datetime(2026, 12, 1, tzinfo=PARIS)
NOW = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)


def z(*args: int) -> datetime:
    """A UTC datetime, for readable expectations."""
    return datetime(*args, tzinfo=UTC)


def spans(events: list[BusyEvent]) -> list[tuple[datetime, datetime]]:
    return [(e.start, e.end) for e in events]


# --------------------------------------------------------------------------- #
# busy_intervals: one test per rule
# --------------------------------------------------------------------------- #


def test_weekly_exdate_moved_occurrence_across_paris_dst() -> None:
    got = busy_intervals(ics("weekly_exdate_moved_dst_paris.ics"), OCT, DEC, PARIS)
    assert spans(got) == [
        (z(2026, 10, 7, 8), z(2026, 10, 7, 9)),  # 10:00 CEST = 08:00Z
        # 14 Oct: EXDATE; 21 Oct: moved to Tue 27 Oct 14:00 CET (after the change)
        (z(2026, 10, 27, 13), z(2026, 10, 27, 14)),
        (z(2026, 10, 28, 9), z(2026, 10, 28, 10)),  # 10:00 CET = 09:00Z: same wall clock, +1 h UTC
        # 4 Nov: override with STATUS:CANCELLED
        (z(2026, 11, 11, 9), z(2026, 11, 11, 10)),
        (z(2026, 11, 18, 9), z(2026, 11, 18, 10)),
        (z(2026, 11, 25, 9), z(2026, 11, 25, 10)),  # UNTIL is inclusive
    ]
    assert {e.uid for e in got} == {"weekly-team-sync-2026@agent.example"}
    assert got[1].summary == "Team sync (moved after the clock change)"
    assert all(e.start.tzinfo is UTC and e.end.tzinfo is UTC for e in got)


def test_window_selects_overlapping_occurrences_only() -> None:
    start = datetime(2026, 10, 26, tzinfo=PARIS)
    got = busy_intervals(ics("weekly_exdate_moved_dst_paris.ics"), start, start + timedelta(days=3), PARIS)
    assert spans(got) == [
        (z(2026, 10, 27, 13), z(2026, 10, 27, 14)),
        (z(2026, 10, 28, 9), z(2026, 10, 28, 10)),
    ]
    # an occurrence overlapping the window edge is returned whole, not clipped
    edge = z(2026, 10, 28, 9, 30)
    assert spans(busy_intervals(ics("weekly_exdate_moved_dst_paris.ics"), edge, edge + timedelta(hours=1), PARIS)) == [
        (z(2026, 10, 28, 9), z(2026, 10, 28, 10))
    ]
    # half-open: an occurrence ending exactly at window start does not count
    end_of_occurrence = z(2026, 10, 28, 10)
    assert (
        busy_intervals(
            ics("weekly_exdate_moved_dst_paris.ics"),
            end_of_occurrence,
            end_of_occurrence + timedelta(hours=1),
            PARIS,
        )
        == []
    )


def test_allday_absence_blocks_whole_days_in_agent_zone_incl_25h_dst_day() -> None:
    (got,) = busy_intervals(ics("allday_absence_dst_autumn.ics"), OCT, DEC, PARIS)
    # Sat 24 - Mon 26 Oct 2026 in Paris; Sunday 25 is 25 h long
    assert (got.start, got.end) == (z(2026, 10, 23, 22), z(2026, 10, 26, 23))
    assert got.end - got.start == timedelta(hours=24 + 25 + 24)


def test_allday_absence_follows_the_agent_zone_not_paris() -> None:
    (got,) = busy_intervals(ics("allday_absence_dst_autumn.ics"), OCT, DEC, NEW_YORK)
    assert (got.start, got.end) == (z(2026, 10, 24, 4), z(2026, 10, 27, 4))


def test_allday_without_dtend_is_one_day_and_spring_day_is_23h() -> None:
    window = (datetime(2026, 3, 1, tzinfo=PARIS), datetime(2026, 4, 1, tzinfo=PARIS))
    (got,) = busy_intervals(ics("allday_spring_dst_no_dtend.ics"), *window, PARIS)
    assert (got.start, got.end) == (z(2026, 3, 28, 23), z(2026, 3, 29, 22))
    assert got.end - got.start == timedelta(hours=23)


@pytest.mark.parametrize("name", ["transparent_event.ics", "cancelled_event.ics"])
def test_transparent_and_cancelled_events_are_not_busy(name: str) -> None:
    assert busy_intervals(ics(name), OCT, DEC, PARIS) == []


def test_same_event_is_busy_once_transp_and_status_are_removed() -> None:
    """Guards the two tests above against passing for the wrong reason."""
    for name, line in (
        ("transparent_event.ics", b"TRANSP:TRANSPARENT\r\n"),
        ("cancelled_event.ics", b"STATUS:CANCELLED\r\n"),
    ):
        text = ics(name).replace(line, b"")
        assert len(busy_intervals(text, OCT, DEC, PARIS)) == 1


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("utc_event.ics", (z(2026, 10, 26, 15), z(2026, 10, 26, 15, 45))),
        # 28 Oct: Paris already on CET (+1) but New York still on EDT (-4)
        ("new_york_event.ics", (z(2026, 10, 28, 13), z(2026, 10, 28, 14))),
        ("tokyo_event.ics", (z(2026, 10, 26, 9), z(2026, 10, 26, 10))),
        ("duration_event.ics", (z(2026, 10, 27, 8), z(2026, 10, 27, 9, 30))),
    ],
)
def test_zoned_and_duration_events_map_to_utc(name: str, expected: tuple[datetime, datetime]) -> None:
    (got,) = busy_intervals(ics(name), OCT, DEC, PARIS)
    assert (got.start, got.end) == expected


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        (PARIS, (z(2026, 10, 26, 11), z(2026, 10, 26, 12))),
        (NEW_YORK, (z(2026, 10, 26, 16), z(2026, 10, 26, 17))),
        (TOKYO, (z(2026, 10, 26, 3), z(2026, 10, 26, 4))),
    ],
)
def test_floating_time_is_read_in_the_agent_zone(zone: ZoneInfo, expected: tuple[datetime, datetime]) -> None:
    (got,) = busy_intervals(ics("floating_event.ics"), OCT, DEC, zone)
    assert (got.start, got.end) == expected


def test_datetime_without_dtend_or_duration_is_zero_length_and_blocks_nothing() -> None:
    assert busy_intervals(ics("zero_length_event.ics"), OCT, DEC, PARIS) == []


def test_own_events_are_skipped_by_marker_and_by_uid() -> None:
    assert busy_intervals(ics("own_booking_event.ics"), OCT, DEC, PARIS) == []
    assert len(busy_intervals(ics("own_booking_event.ics").replace(b"X-BOOKING-ID:42\r\n", b""), OCT, DEC, PARIS)) == 1
    assert busy_intervals(ics("utc_event.ics"), OCT, DEC, PARIS, own_uids={"utc-2026@google.com"}) == []
    assert len(busy_intervals(ics("utc_event.ics"), OCT, DEC, PARIS, own_uids={"someone-else"})) == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("malformed_dtend_before_dtstart.ics", "DTEND before DTSTART"),
        ("malformed_unparseable_dtstart.ics", "unparseable DTSTART"),
        ("malformed_bad_rrule.ics", "cannot expand"),
    ],
)
def test_malformed_resources_raise_ics_error(name: str, message: str) -> None:
    with pytest.raises(IcsError, match=message) as info:
        busy_intervals(ics(name), OCT, DEC, PARIS)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"garbage",
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n",
        b"BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20261026T100000Z\r\nEND:VEVENT\r\n",
        (
            b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:x\r\n"
            b"DTEND:20261026T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        ),
    ],
    ids=["empty", "garbage", "truncated", "no-vcalendar", "no-dtstart"],
)
def test_unparseable_input_raises_ics_error(text: bytes) -> None:
    with pytest.raises(IcsError):
        busy_intervals(text, OCT, DEC, PARIS)


def test_malformed_resource_does_not_stop_the_others() -> None:
    names = ["utc_event.ics", "malformed_dtend_before_dtstart.ics", "tokyo_event.ics"]
    busy: list[BusyEvent] = []
    errors: list[str] = []
    for name in names:
        try:
            busy.extend(busy_intervals(ics(name), OCT, DEC, PARIS))
        except IcsError:
            errors.append(name)
    assert errors == ["malformed_dtend_before_dtstart.ics"]
    assert {e.uid for e in busy} == {"utc-2026@google.com", "tokyo-2026@fastmail.example"}


def test_window_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        busy_intervals(ics("utc_event.ics"), datetime(2026, 10, 1), DEC, PARIS)


def test_str_input_is_accepted() -> None:
    assert len(busy_intervals(ics("utc_event.ics").decode(), OCT, DEC, PARIS)) == 1


# --------------------------------------------------------------------------- #
# build_calendar
# --------------------------------------------------------------------------- #


def make_spec(**over: object) -> EventSpec:
    fields: dict[str, object] = {
        "uid": "booking-7@booking.example",
        "sequence": 0,
        "start": datetime(2026, 10, 26, 9, 0, tzinfo=PARIS),
        "end": datetime(2026, 10, 26, 9, 30, tzinfo=PARIS),
        "summary": "Support call: training, setup",
        "description": "Topic: training\nNotes: bring; questions",
        "organizer_name": "Agent Smith",
        "organizer_email": "agent@booking.example",
        "attendee_name": "Doe, Jo",
        "attendee_email": "jo@customer.example",
        "booking_id": 7,
    }
    fields.update(over)
    return EventSpec(**fields)  # type: ignore[arg-type]


def parse_one(data: bytes) -> tuple[icalendar.Calendar, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(data)
    (event,) = cal.walk("VEVENT")
    return cal, event


def test_build_calendar_for_caldav_has_no_method_and_all_fields() -> None:
    data = build_calendar(make_spec(sequence=2, location="Phone", url="https://booking.example/m/x"), now=NOW)
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and data.endswith(b"END:VCALENDAR\r\n")
    cal, ev = parse_one(data)
    assert "METHOD" not in cal
    assert cal["PRODID"] and cal["VERSION"] == "2.0"
    assert ev["UID"] == "booking-7@booking.example"
    assert ev["SEQUENCE"] == 2
    assert ev["DTSTAMP"].dt == NOW
    assert ev["DTSTART"].dt == z(2026, 10, 26, 8) and ev["DTSTART"].dt.tzinfo is not None
    assert ev["DTEND"].dt == z(2026, 10, 26, 8, 30)
    assert b"DTSTART:20261026T080000Z" in data  # written in UTC, no VTIMEZONE needed
    assert ev["STATUS"] == "CONFIRMED"
    assert ev["X-BOOKING-ID"] == "7"
    assert ev["SUMMARY"] == "Support call: training, setup"
    assert ev["DESCRIPTION"] == "Topic: training\nNotes: bring; questions"
    assert ev["LOCATION"] == "Phone" and ev["URL"] == "https://booking.example/m/x"
    org, att = ev["ORGANIZER"], ev["ATTENDEE"]
    assert str(org) == "mailto:agent@booking.example" and org.params["CN"] == "Agent Smith"
    assert str(att) == "mailto:jo@customer.example" and att.params["CN"] == "Doe, Jo"
    assert (att.params["ROLE"], att.params["PARTSTAT"], att.params["RSVP"]) == (
        "REQ-PARTICIPANT",
        "NEEDS-ACTION",
        "TRUE",
    )
    # stored object: the CalDAV server must not send its own invitation
    assert att.params["SCHEDULE-AGENT"] == "CLIENT"
    assert not ev.walk("VALARM")


def test_build_calendar_request_with_alarm() -> None:
    cal, ev = parse_one(build_calendar(make_spec(), "REQUEST", alarm_minutes=15, now=NOW))
    assert cal["METHOD"] == "REQUEST"
    assert "SCHEDULE-AGENT" not in ev["ATTENDEE"].params  # not for iTIP messages
    (alarm,) = ev.walk("VALARM")
    assert alarm["ACTION"] == "DISPLAY"
    assert alarm["TRIGGER"].dt == timedelta(minutes=-15)
    assert alarm["DESCRIPTION"]


def test_build_calendar_cancel_forces_cancelled_status() -> None:
    cal, ev = parse_one(build_calendar(make_spec(sequence=3, status="CONFIRMED"), "CANCEL", 15, now=NOW))
    assert cal["METHOD"] == "CANCEL"
    assert ev["STATUS"] == "CANCELLED"
    assert ev["SEQUENCE"] == 3
    assert not ev.walk("VALARM")


def test_built_booking_is_skipped_when_read_back_as_busy_time() -> None:
    data = build_calendar(make_spec(), now=NOW)
    assert busy_intervals(data, OCT, DEC, PARIS) == []
    foreign = build_calendar(make_spec(booking_id=None), now=NOW)
    assert spans(busy_intervals(foreign, OCT, DEC, PARIS)) == [(z(2026, 10, 26, 8), z(2026, 10, 26, 8, 30))]
    assert busy_intervals(foreign, OCT, DEC, PARIS, own_uids={"booking-7@booking.example"}) == []


@pytest.mark.parametrize(
    "over",
    [
        {"start": datetime(2026, 10, 26, 9)},  # naive on purpose
        {"end": datetime(2026, 10, 26, 8, 0, tzinfo=PARIS)},
        {"sequence": -1},
        {"status": "MAYBE"},
        {"uid": ""},
    ],
)
def test_event_spec_rejects_bad_values(over: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make_spec(**over)


def test_build_calendar_rejects_unknown_method_and_naive_now() -> None:
    with pytest.raises(ValueError):
        build_calendar(make_spec(), "REPLY", now=NOW)
    with pytest.raises(ValueError):
        build_calendar(make_spec(), now=datetime(2026, 10, 1))


def test_build_feed_contains_every_event() -> None:
    data = build_feed([make_spec(), make_spec(uid="booking-8@booking.example", booking_id=8)], now=NOW, name="Agent")
    cal = icalendar.Calendar.from_ical(data)
    assert cal["METHOD"] == "PUBLISH"
    assert [str(e["UID"]) for e in cal.walk("VEVENT")] == [
        "booking-7@booking.example",
        "booking-8@booking.example",
    ]


ZONES = st.sampled_from(["Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe", "UTC"])


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    minutes=st.integers(min_value=1, max_value=24 * 60),
    zone=ZONES,
    agent_zone=ZONES,
    seq=st.integers(min_value=0, max_value=1000),
)
def test_roundtrip_build_then_read_gives_the_same_utc_interval(
    start: datetime, minutes: int, zone: str, agent_zone: str, seq: int
) -> None:
    """Whatever zone a booking is made in, reading it back yields the same instants."""
    begin = start.replace(tzinfo=ZoneInfo(zone), microsecond=0, second=0)
    end = begin + timedelta(minutes=minutes)
    data = build_calendar(make_spec(start=begin, end=end, booking_id=None, sequence=seq), now=NOW)
    got = busy_intervals(data, begin - timedelta(days=1), end + timedelta(days=1), ZoneInfo(agent_zone))
    assert spans(got) == [(begin.astimezone(UTC), end.astimezone(UTC))]
