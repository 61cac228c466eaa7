"""Issue 10, items 1-2 and 4-8: what real calendars broke, one test per behaviour.

Every input is a named file under ``tests/data/ics/issue10/`` (CRLF kept), so a
failure names the calendar quirk, not a synthetic string. The tests read them
with the pure :func:`busy_intervals`, as the sync job does per CalDAV object.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.calendar_sync.ics import (
    MAX_OCCURRENCES_PER_OBJECT,
    BusyEvent,
    IcsError,
    busy_intervals,
    read_busy,
)

from ._support import ICS_DIR, NEW_YORK, PARIS, ics

OCT = datetime(2026, 10, 1, tzinfo=PARIS)
DEC = datetime(2026, 12, 1, tzinfo=PARIS)
AGENT = "agent.smith@booking.example"


def z(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def issue10(name: str) -> bytes:
    return ics(f"issue10/{name}")


def spans(events: list[BusyEvent]) -> list[tuple[datetime, datetime]]:
    return [(e.start, e.end) for e in events]


def timed(name: str, zone: ZoneInfo = PARIS) -> tuple[list[BusyEvent], float]:
    began = time.perf_counter()
    events = busy_intervals(issue10(name), OCT, DEC, zone)
    return events, time.perf_counter() - began


# --- item 1: duplicate DTSTART / DTEND / DURATION ------------------------- #


def test_duplicate_dtstart_and_dtend_lines_keep_the_first_readable_time() -> None:
    """icalendar returns a list for a repeated line; `.dt` on it was an AttributeError that stopped syncs."""
    assert spans(busy_intervals(issue10("duplicate_dtstart_dtend.ics"), OCT, DEC, PARIS)) == [
        (z(2026, 10, 26, 10), z(2026, 10, 26, 11))
    ]


def test_duplicate_duration_lines_keep_the_first() -> None:
    assert spans(busy_intervals(issue10("duplicate_duration.ics"), OCT, DEC, PARIS)) == [
        (z(2026, 10, 27, 10), z(2026, 10, 27, 11))
    ]


@pytest.mark.parametrize(
    "text",
    [
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261026T100000Z\r\nRRULE:FREQ=WEEKLY;BYDAY=MO\r\n"
        b"RRULE:FREQ=YEARLY;BYWEEKNO=99\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=TIME:100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261026T100000Z\r\nEXDATE;VALUE=PERIOD:x/y\r\n"
        b"RDATE;VALUE=TIME:100000\r\nRECURRENCE-ID:bad\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        b"\xff\xfe\x00garbage",
    ],
    ids=["rrule-out-of-range", "time-value", "broken-everything", "binary"],
)
def test_no_input_escapes_as_anything_but_ics_error(text: bytes) -> None:
    """The sync's per-object handler catches IcsError: nothing else may come out of one object."""
    with contextlib.suppress(IcsError):
        busy_intervals(text, OCT, DEC, PARIS)


# --- item 2: occurrences capped, only the window expanded ------------------ #


def test_interval_zero_is_refused_at_once_instead_of_looping_for_ever() -> None:
    began = time.perf_counter()
    with pytest.raises(IcsError, match="INTERVAL=0"):
        busy_intervals(issue10("rrule_interval_zero.ics"), OCT, DEC, PARIS)
    assert time.perf_counter() - began < 2


def test_secondly_rule_since_2020_is_expanded_from_the_window_and_capped() -> None:
    got, elapsed = timed("rrule_secondly_since_2020.ics")
    assert elapsed < 2
    assert len(got) == MAX_OCCURRENCES_PER_OBJECT == 1000
    assert got[0].start == OCT.astimezone(UTC)  # fast-forwarded: nothing before the window was generated
    assert got[-1].start == OCT.astimezone(UTC) + timedelta(seconds=999)


def test_minutely_rule_gives_at_most_the_cap_and_says_so() -> None:
    got, elapsed = timed("rrule_minutely_30s.ics")
    assert elapsed < 2
    assert len(got) == 1000
    assert spans(got)[:2] == [
        (z(2026, 9, 30, 22), z(2026, 9, 30, 22, 0, 30)),
        (z(2026, 9, 30, 22, 1), z(2026, 9, 30, 22, 1, 30)),
    ]
    report = read_busy(issue10("rrule_minutely_30s.ics"), OCT, DEC, PARIS)
    assert any("more than 1000 occurrences" in d for d in report.dropped)


def test_count_rule_from_1990_cannot_be_fast_forwarded_so_it_is_cut_by_steps() -> None:
    began = time.perf_counter()
    report = read_busy(issue10("rrule_minutely_count_huge.ics"), OCT, DEC, PARIS)
    assert time.perf_counter() - began < 2
    assert report.events == []
    assert any("RRULE stopped after" in d for d in report.dropped)


# --- item 4: keep what can be read ----------------------------------------- #


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("apple_lmt_offset.ics", (z(2026, 10, 26, 9), z(2026, 10, 26, 10))),
        ("alarm_trigger_bad_duration.ics", (z(2026, 10, 26, 10), z(2026, 10, 26, 11))),
        ("dtend_and_zero_duration.ics", (z(2026, 10, 26, 10), z(2026, 10, 26, 11))),
        # 26 Oct 2026 in Paris, the day after the change to CET
        ("allday_tzid_without_value_date.ics", (z(2026, 10, 25, 23), z(2026, 10, 26, 23))),
    ],
)
def test_defects_that_do_not_touch_the_time_keep_the_event_busy(name: str, expected: tuple[datetime, datetime]) -> None:
    assert spans(busy_intervals(issue10(name), OCT, DEC, PARIS)) == [expected]


# --- item 5: one broken override ------------------------------------------- #


def test_broken_override_is_dropped_and_the_series_kept() -> None:
    report = read_busy(issue10("override_end_before_start.ics"), OCT, DEC, PARIS)
    assert spans(report.events) == [
        (z(2026, 10, 5, 8), z(2026, 10, 5, 9)),
        (z(2026, 10, 12, 8), z(2026, 10, 12, 9)),  # the broken move is ignored: the original slot stays busy
        (z(2026, 10, 19, 8), z(2026, 10, 19, 9)),
        (z(2026, 10, 26, 9), z(2026, 10, 26, 10)),
    ]
    assert [d for d in report.dropped if "DTEND before DTSTART" in d]


# --- item 6: busy means busy to the agent ---------------------------------- #


def test_invitation_the_agent_declined_does_not_block() -> None:
    data = issue10("declined_invitation.ics")
    assert busy_intervals(data, OCT, DEC, PARIS, agent_emails=[AGENT]) == []
    assert busy_intervals(data, OCT, DEC, PARIS, agent_emails=["MAILTO:Agent.Smith@booking.EXAMPLE"]) == []
    # someone else's refusal, or no address known: still busy
    assert len(busy_intervals(data, OCT, DEC, PARIS, agent_emails=["other@booking.example"])) == 1
    assert len(busy_intervals(data, OCT, DEC, PARIS)) == 1


@pytest.mark.parametrize("partstat", ["TENTATIVE", "NEEDS-ACTION", "ACCEPTED", "DELEGATED"])
def test_tentative_and_unanswered_invitations_block(partstat: str) -> None:
    """The agent may attend: offering the slot would risk a double booking (documented in README)."""
    data = issue10("declined_invitation.ics").replace(b"PARTSTAT=DECLINED", f"PARTSTAT={partstat}".encode())
    assert len(busy_intervals(data, OCT, DEC, PARIS, agent_emails=[AGENT])) == 1


def test_outlook_busystatus_free_does_not_block_despite_transp_opaque() -> None:
    data = issue10("ms_busystatus_free.ics")
    assert busy_intervals(data, OCT, DEC, PARIS) == []
    assert len(busy_intervals(data.replace(b"BUSYSTATUS:FREE", b"BUSYSTATUS:BUSY"), OCT, DEC, PARIS)) == 1


# --- item 7: DURATION exact for H/M/S, nominal for D/W --------------------- #

MARCH_2027 = (datetime(2027, 3, 20, tzinfo=PARIS), datetime(2027, 4, 5, tzinfo=PARIS))


def test_duration_in_hours_is_exact_across_the_dst_change() -> None:
    """PT72H from Fri 26 Mar 2027 10:00 CET ends Mon 11:00 CEST: 72 real hours."""
    (got,) = busy_intervals(issue10("duration_pt72h_across_dst.ics"), *MARCH_2027, PARIS)
    assert (got.start, got.end) == (z(2027, 3, 26, 9), z(2027, 3, 29, 9))
    assert got.end.astimezone(PARIS).hour == 11


def test_duration_in_days_is_nominal_across_the_dst_change() -> None:
    (got,) = busy_intervals(issue10("duration_p3d_across_dst.ics"), *MARCH_2027, PARIS)
    assert (got.start, got.end) == (z(2027, 3, 26, 9), z(2027, 3, 29, 8))  # Mon 10:00 CEST
    assert got.end - got.start == timedelta(hours=71)


# --- item 8 ---------------------------------------------------------------- #


def test_allday_event_with_dtend_equal_to_dtstart_is_one_day() -> None:
    assert spans(busy_intervals(issue10("allday_dtend_equals_dtstart.ics"), OCT, DEC, PARIS)) == [
        (z(2026, 10, 25, 23), z(2026, 10, 26, 23))
    ]


def test_until_given_as_a_date_keeps_that_days_occurrence() -> None:
    got = busy_intervals(issue10("until_as_date.ics"), OCT, DEC, PARIS)
    assert [e.start for e in got] == [z(2026, 10, day, 9) for day in (26, 27, 28, 29, 30)]


def test_floating_recurring_event_honours_a_utc_exdate() -> None:
    """recurring-ical-events 3.8.2 read the series as UTC and ignored the EXDATE; matched by instant here."""
    assert spans(busy_intervals(issue10("floating_recurring_utc_exdate.ics"), OCT, DEC, PARIS)) == [
        (z(2026, 10, 26, 9), z(2026, 10, 26, 10)),
        (z(2026, 10, 28, 9), z(2026, 10, 28, 10)),
    ]


def test_lotus_notes_rdate_series_blocks_every_meeting() -> None:
    assert spans(busy_intervals(issue10("lotus_notes_rdate_series.ics"), OCT, DEC, PARIS)) == [
        (z(2026, 10, 5, 12), z(2026, 10, 5, 13)),
        (z(2026, 10, 19, 12), z(2026, 10, 19, 13)),
        (z(2026, 11, 2, 13), z(2026, 11, 2, 14)),
    ]


def test_second_vevent_sharing_a_uid_without_recurrence_id_is_kept() -> None:
    got = busy_intervals(issue10("two_vevents_same_uid.ics"), OCT, DEC, PARIS)
    assert spans(got) == [(z(2026, 10, 26, 8), z(2026, 10, 26, 9)), (z(2026, 10, 27, 8), z(2026, 10, 27, 9))]
    assert {e.uid for e in got} == {"same-uid@example.org"}


@pytest.mark.parametrize(("zone", "expected"), [(PARIS, z(2026, 10, 26, 9)), (NEW_YORK, z(2026, 10, 26, 14))])
def test_floating_times_use_the_agent_zone_even_with_x_wr_timezone(zone: ZoneInfo, expected: datetime) -> None:
    """One rule (README, calendar sync): X-WR-TIMEZONE does not override the agent's zone."""
    (got,) = busy_intervals(issue10("x_wr_timezone_floating.ics"), OCT, DEC, zone)
    assert got.start == expected


# --- any input: IcsError or busy time, never another exception, never slow -- #

SEEDS = sorted(p.name for p in ICS_DIR.glob("*.ics")) + sorted(
    f"issue10/{p.name}" for p in (ICS_DIR / "issue10").glob("*.ics")
)
MUTATIONS = st.sampled_from(["drop", "duplicate", "truncate", "garble", "swap-digit", "empty-value"])


def mutate(lines: list[bytes], op: str, index: int, noise: bytes) -> list[bytes]:
    i = index % len(lines)
    line = lines[i]
    name, _, value = line.partition(b":")
    if op == "drop":
        return lines[:i] + lines[i + 1 :]
    if op == "duplicate":
        return lines[: i + 1] + [line] + lines[i + 1 :]
    if op == "truncate":
        return lines[:i] + [line[: len(line) // 2]] + lines[i + 1 :]
    if op == "garble":
        return lines[:i] + [name + b":" + noise] + lines[i + 1 :]
    if op == "empty-value":
        return lines[:i] + [name + b":"] + lines[i + 1 :]
    # ASCII digits only: chr(0xB2).isdigit() is True ("²"), and 0x39 - 0xB2 + 0x30 is no byte.
    digits = bytes(ord("9") - b + ord("0") if ord("0") <= b <= ord("9") else b for b in value)
    return lines[:i] + [name + b":" + digits] + lines[i + 1 :]


@settings(max_examples=300, deadline=None)
@given(
    seed=st.sampled_from(SEEDS),
    ops=st.lists(st.tuples(MUTATIONS, st.integers(0, 200), st.binary(max_size=12)), min_size=1, max_size=4),
)
def test_mutated_real_files_raise_only_ics_error_and_stay_fast(seed: str, ops: list[tuple[str, int, bytes]]) -> None:
    """Item 1's contract, fuzzed: whatever one object holds, the per-object handler sees IcsError or events."""
    lines = ics(seed).split(b"\r\n")
    for op, index, noise in ops:
        lines = mutate(lines, op, index, noise) or [b""]
    began = time.perf_counter()
    with contextlib.suppress(IcsError):
        events = busy_intervals(b"\r\n".join(lines), OCT, DEC, PARIS)
        assert all(e.start < e.end for e in events)
    assert time.perf_counter() - began < 2
