"""The plain-event reader of ``ics.py`` gives exactly what the icalendar path gives, or steps aside.

:func:`booking.calendar_sync.ics._plain_busy` reads one-VEVENT, non-recurring objects without
icalendar (the bulk of a full sync's parsing time). It is only allowed to answer when its answer
is the full path's: this differential test runs both on every .ics file under ``tests/`` (ours
and the corpus of icalendar, recurring-ical-events and Radicale), on every VEVENT of those files
cut out as an object of its own (as a CalDAV server stores them), and on generated variants of
a plain event (times, durations, statuses, alarms, attendees, escapes, duplicates, defects).
Wherever the reader answers, both results must be equal, event for event, with nothing dropped.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from booking.calendar_sync import ics
from booking.calendar_sync.ics import BusyReport, IcsError

from ._support import ICS_DIR, NEW_YORK, PARIS

TESTS_DIR = Path(__file__).resolve().parents[1]
FILES = sorted(TESTS_DIR.rglob("*.ics"))
WINDOWS = [
    (datetime(2000, 1, 1, tzinfo=UTC), datetime(2035, 1, 1, tzinfo=UTC)),
    (datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 10, 27, 12, tzinfo=UTC)),
]
ZONES = [PARIS, NEW_YORK, ZoneInfo("Asia/Tokyo")]


def _unfolded_lines(data: bytes) -> list[str]:
    text = data.decode("utf-8", "replace")
    return re.split(r"\r?\n|\r", re.sub(r"(?:\r?\n)+[ \t]", "", text))


def _split_events(data: bytes) -> Iterator[bytes]:
    """Each VEVENT of a file as an object of its own, under the file's calendar-level lines."""
    lines = [line for line in _unfolded_lines(data) if line]
    head: list[str] = []
    for line in lines:
        if line.upper().startswith("BEGIN:") and head:
            break
        head.append(line)
    block: list[str] = []
    depth = 0
    for line in lines[len(head) :]:
        upper = line.upper()
        if depth == 0 and upper == "BEGIN:VEVENT":
            block, depth = [line], 1
        elif depth:
            block.append(line)
            if upper.startswith("BEGIN:"):
                depth += 1
            elif upper.startswith("END:"):
                depth -= 1
                if depth == 0:
                    yield "\r\n".join([*head, *block, "END:VCALENDAR", ""]).encode()
        elif upper.startswith("BEGIN:"):
            depth = -1_000_000  # another component at the top: skip it whole
        elif depth < 0 and upper.startswith("END:"):
            depth = 0


def _emails(data: bytes) -> frozenset[str]:
    found = re.findall(rb"ATTENDEE[^:\r\n]*:(?:mailto:)?([^\r\n]+)", data, re.IGNORECASE)
    return frozenset(f.decode("utf-8", "replace").strip().lower() for f in found)


def _full(data: bytes, window: tuple[datetime, datetime], zone: ZoneInfo, emails: frozenset[str]) -> BusyReport:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return ics._read_busy_full(data, *window, zone, frozenset(), emails)
        except IcsError as exc:
            return BusyReport([], [f"IcsError: {exc}"])


def _plain(data: bytes, window: tuple[datetime, datetime], zone: ZoneInfo, emails: frozenset[str]) -> BusyReport | None:
    """The plain reader as :func:`ics._read_busy` calls it (an arithmetic failure: not plain)."""
    try:
        return ics._plain_busy(data, window, zone, frozenset(), emails)
    except (ArithmeticError, ValueError):
        return None


def _compare(data: bytes) -> int:
    """Both paths on ``data`` in every zone/window/e-mail setting; how many times the plain one answered."""
    answered = 0
    for emails in (frozenset(), _emails(data)):
        for window in WINDOWS:
            for zone in ZONES:
                plain = _plain(data, window, zone, emails)
                if plain is None:
                    continue
                answered += 1
                full = _full(data, window, zone, emails)
                assert full.dropped == [], full.dropped
                assert plain.dropped == []
                assert [(e.uid, e.start, e.end, e.summary) for e in plain.events] == [
                    (e.uid, e.start, e.end, e.summary) for e in full.events
                ], (data.decode("utf-8", "replace"), zone, window)
                assert all(e.start.tzinfo is UTC and e.end.tzinfo is UTC for e in plain.events)
    return answered


def _corpus_objects() -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    for path in FILES:
        data = path.read_bytes()
        name = str(path.relative_to(TESTS_DIR))
        out.append((name, data))
        out.extend((f"{name}#{i}", part) for i, part in enumerate(_split_events(data)))
    return out


OBJECTS = _corpus_objects()


def test_the_corpus_is_there_and_the_reader_answers_on_part_of_it() -> None:
    """Guards the comparisons below against passing because the reader never answers."""
    assert len(FILES) > 300
    answered = [name for name, data in OBJECTS if _compare(data)]
    assert len(answered) > 100, answered
    for name in ("utc_event", "floating_event", "allday_absence_dst_autumn", "transparent_event", "cancelled_event"):
        assert f"data/ics/{name}.ics" in answered


@pytest.mark.parametrize(("name", "data"), OBJECTS, ids=[n for n, _ in OBJECTS])
def test_every_corpus_object_reads_the_same_on_both_paths(name: str, data: bytes) -> None:
    _compare(data)


BASE = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//test//EN",
    "BEGIN:VEVENT",
    "UID:plain-1@test",
    "DTSTAMP:20261001T000000Z",
    "SUMMARY:Meeting",
    "DTSTART:20261021T080000Z",
    "DTEND:20261021T090000Z",
    "END:VEVENT",
    "END:VCALENDAR",
]


def _variant(replace: dict[str, str | None] | None = None, add: list[str] | None = None) -> bytes:
    """BASE with lines replaced (by their name; None drops them) and lines added inside the VEVENT."""
    out: list[str] = []
    for line in BASE:
        key = line.split(":")[0].split(";")[0]
        if replace and key in replace:
            if replace[key] is not None:
                out.append(replace[key])  # type: ignore[arg-type]
            continue
        if line == "END:VEVENT":
            out.extend(add or [])
        out.append(line)
    return ("\r\n".join(out) + "\r\n").encode()


TIMES = [
    "20261021T080000Z",
    "20261021T080000",
    "20261021",
    "20261021T023000",  # floating, night of a DST change elsewhere
    "20261025T023000",  # floating, inside Paris' repeated hour
    "20260329T023000",  # floating, inside Paris' missing hour
    "20261021T080000z",
    "20261321T080000Z",
    "20261021T246000Z",
    "2026-10-21",
    " 20261021T080000Z",
    "20261021T080000Z ",
    "20261021T080000+0200",
    "00010101",
    "00010101T000000",
    "99991231T230000Z",
    "99991231",
]
DURATIONS = ["PT1H", "PT0S", "P1D", "P2W", "P1W2D", "P1DT2H", "-PT1H", "-PT0S", "+PT30M", "PT", "P", "pt1h", "PT1H "]
EXTRA = [
    ["TRANSP:TRANSPARENT"],
    ["TRANSP:transparent "],
    ["TRANSP:OPAQUE"],
    ["TRANSP;VALUE=TEXT:TRANSPARENT"],
    ["STATUS:CANCELLED"],
    ["STATUS:TENTATIVE"],
    ["STATUS:CANCELLED", "STATUS:CONFIRMED"],
    ["X-MICROSOFT-CDO-BUSYSTATUS:FREE"],
    ["X-MICROSOFT-CDO-BUSYSTATUS:OOF"],
    ["ATTENDEE;PARTSTAT=DECLINED:mailto:agent@example.com"],
    ["ATTENDEE;PARTSTAT=DECLINED:MAILTO:Agent@Example.com "],
    ["ATTENDEE;PARTSTAT=ACCEPTED:mailto:agent@example.com"],
    ["ATTENDEE;PARTSTAT=DECLINED:mailto:agent@example.com", "ATTENDEE:mailto:agent@example.com"],
    ["ATTENDEE;PARTSTAT=DECLINED:mailto:agent@example.com", "ATTENDEE;PARTSTAT=declined:mailto:agent@example.com"],
    ['ATTENDEE;CN="Agent, The";PARTSTAT=DECLINED:mailto:agent@example.com'],
    ["ATTENDEE;PARTSTAT=DECLINED;PARTSTAT=ACCEPTED:mailto:agent@example.com"],
    ["ATTENDEE;PARTSTAT=DECLINED:mailto:other@example.com"],
    ["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:PT-2H", "END:VALARM"],
    ["BEGIN:VALARM", "BEGIN:X-NESTED", "END:X-NESTED", "END:VALARM"],
    ["begin:valarm", "TRIGGER:-PT15M", "end:valarm"],
    ["BEGIN:X-OTHER", "END:X-OTHER"],
    ["RRULE:FREQ=DAILY;COUNT=3"],
    ["RDATE:20261022T080000Z"],
    ["EXDATE:20261021T080000Z"],
    ["RECURRENCE-ID:20261021T080000Z"],
    ["X-BOOKING-ID:42"],
    ["X-BOOKING-ID;X-P=1:42"],
    ["X-BOOKING-RAW-DURATION:PT5H"],
    ["DESCRIPTION:a\\, b\\nc"],
    ['ORGANIZER;CN="Doe, John":mailto:doe@example.com'],
    ["DTSTAMP:garbage"],
    ["CATEGORIES:A,B"],
    ['X-WEIRD;P="x:y":z'],
    ["no colon here"],
    ["lowercase:value"],
    ["SEQUENCE:not-a-number"],
    ["GEO:bad"],
    ["CLASS:PRIVATE", "LOCATION:Room 1", "URL:http://example.com/a:b"],
    ["END:VTODO"],
    [""],
]
REPLACEMENTS: list[dict[str, str | None]] = [
    {"SUMMARY": "SUMMARY:Lunch\\, with Bob"},
    {"SUMMARY": "SUMMARY;LANGUAGE=fr:Réunion"},
    {"SUMMARY": "SUMMARY:"},
    {"SUMMARY": None},
    {"SUMMARY": "SUMMARY:x" * 300},
    {"UID": None},
    {"UID": "UID:"},
    {"UID": "UID:a\\;b"},
    {"DTSTART": None},
    {"DTEND": None},
    {"DTSTART": "DTSTART;TZID=Europe/Paris:20261021T080000"},
    {"DTEND": "DTEND;TZID=America/New_York:20261021T080000"},
    {"DTSTART": "DTSTART;TZID=Europe/Paris:20261021", "DTEND": "DTEND;TZID=Europe/Paris:20261022"},
    {"DTSTART": "DTSTART;VALUE=DATE:20261021T080000Z"},
    {"DTSTART": "DTSTART;VALUE=DATE-TIME:20261021T080000Z"},
    {"DTSTART": "DTSTART;VALUE=DATE-TIME:20261021"},
    {"DTSTART": "DTSTART;X-FOO=1:20261021T080000Z"},
    {"DTSTART": "dtstart:20261021T080000Z"},
    {"DTEND": "DTEND:20261021T070000Z"},
    {"DTSTART": "DTSTART:20261021", "DTEND": "DTEND:20261021"},
    {"DTSTART": "DTSTART:20261021", "DTEND": "DTEND:20261020"},
    {"DTSTART": "DTSTART:20261021", "DTEND": "DTEND:20261023T120000Z"},
    {"DTSTART": "DTSTART:20261021T080000Z", "DTEND": "DTEND:20261022"},
    {"VERSION": "VERSION;VALUE=INTEGER:x"},
    {"PRODID": "PRODID;X-A=1:-//a//EN"},
    {"PRODID": 'X-WR-CALNAME;X-Q="a:b":Work'},
    {"PRODID": "REFRESH-INTERVAL;VALUE=DURATION:garbage"},
    {"PRODID": "BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nEND:VTIMEZONE"},
    {"VERSION": "VERSION:2.0\r\nBEGIN:VCALENDAR"},
    {"BEGIN": "begin:VCALENDAR"},
]


def _variants() -> Iterator[bytes]:
    yield _variant()
    for t in TIMES:
        yield _variant({"DTSTART": f"DTSTART:{t}"})
        yield _variant({"DTSTART": f"DTSTART:{t}", "DTEND": None})
        yield _variant({"DTEND": f"DTEND:{t}"})
        for d in DURATIONS:
            yield _variant({"DTSTART": f"DTSTART:{t}", "DTEND": None}, [f"DURATION:{d}"])
    for d in DURATIONS:
        yield _variant({}, [f"DURATION:{d}"])  # beside a DTEND: DTEND wins
        yield _variant({"DTEND": None}, [f"DURATION;X-A=1:{d}"])
    for extra in EXTRA:
        yield _variant({}, extra)
        yield _variant({"DTSTART": "DTSTART:20261021", "DTEND": None}, extra)
    for replacement in REPLACEMENTS:
        yield _variant(replacement)
    base = _variant()
    yield base.replace(b"\r\n", b"\n")
    yield base.replace(b"\r\n", b"\r")
    yield b"\xef\xbb\xbf" + base
    yield base.replace(b"SUMMARY:Meeting", b"SUMMARY:Caf\xe9")
    yield base.replace(b"SUMMARY:Meeting", b"SUMMARY:Meet\r\n ing")
    yield base.replace(b"SUMMARY:Meeting", b"SUMMARY:Meet\r\n\ting")
    yield base.replace(b"SUMMARY:Meeting", b"SUMMARY:Meet\r ing")
    yield base.replace(b"SUMMARY:Meeting", b"SUMMARY:Meet\x00ing")
    yield base + base
    yield base + b"X-COMMENT:after\r\n"
    yield base + b"X-OTHER:after\r\n"
    yield base.replace(b"BEGIN:VEVENT", b"BEGIN:VEVENT\r\nEND:VEVENT\r\nBEGIN:VEVENT")
    yield base.replace(b"END:VEVENT\r\n", b"")
    yield base.replace(b"END:VCALENDAR\r\n", b"")
    yield base.replace(b"END:VEVENT", b"END:VEVENT\r\nBEGIN:VTODO\r\nDTSTART:20261021T080000Z\r\nEND:VTODO")


VARIANTS = list(_variants())


def test_generated_variants_read_the_same_on_both_paths() -> None:
    answered = sum(1 for data in VARIANTS if _compare(data))
    assert answered > len(VARIANTS) // 3, answered


def test_a_plain_utc_event_is_read_without_icalendar(monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of the reader: the common object never builds icalendar's component tree."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("icalendar parsed a plain event")

    monkeypatch.setattr(icalendar.Calendar, "from_ical", refuse)
    events = ics.busy_intervals(_variant(), *WINDOWS[1], PARIS)
    assert [(e.uid, e.start, e.end, e.summary) for e in events] == [
        ("plain-1@test", datetime(2026, 10, 21, 8, tzinfo=UTC), datetime(2026, 10, 21, 9, tzinfo=UTC), "Meeting")
    ]
    with pytest.raises(IcsError, match="icalendar parsed"):  # anything recurring still goes through it
        ics.busy_intervals(_variant({}, ["RRULE:FREQ=DAILY;COUNT=3"]), *WINDOWS[1], PARIS)


def test_the_bench_objects_take_the_plain_path_unless_recurring() -> None:
    """bench/sync.py's events, one object each as Radicale stores them: 19 in 20 are plain."""
    header = (ICS_DIR / "weekly_exdate_moved_dst_paris.ics").read_text().split("BEGIN:VEVENT")[0]
    for i in range(40):
        day = 20 + i % 5
        if i % 20 == 0:
            body = (
                f"BEGIN:VEVENT\r\nUID:series-{i}@bench\r\nDTSTART;TZID=Europe/Paris:202610{day}T090000\r\n"
                f"DTEND;TZID=Europe/Paris:202610{day}T093000\r\nRRULE:FREQ=WEEKLY;COUNT=12\r\nEND:VEVENT\r\n"
            )
            data = (header.replace("\n", "\r\n") + body + "END:VCALENDAR\r\n").encode()
        else:
            data = _variant(
                {
                    "UID": f"UID:ev-{i}@bench",
                    "DTSTART": f"DTSTART:202610{day}T0{i % 9}1500Z",
                    "DTEND": f"DTEND:202610{day}T0{i % 9}2500Z",
                }
            )
        answered = _compare(data)
        assert (answered == 0) if i % 20 == 0 else (answered > 0)


# -- VTIMEZONEs of zones zoneinfo knows are not parsed ---------------------- #

PARIS_TZ = (
    (ICS_DIR / "weekly_exdate_moved_dst_paris.ics").read_text().split("BEGIN:VTIMEZONE")[1].split("END:VTIMEZONE")[0]
)
SERIES = (
    "BEGIN:VEVENT\nUID:series@test\nDTSTART;TZID={tzid}:20261020T090000\nDTEND;TZID={tzid}:20261020T093000\n"
    "RRULE:FREQ=WEEKLY;COUNT=12\nEXDATE;TZID={tzid}:20261027T090000\nEND:VEVENT\n"
)


def _zoned(tzid: str, timezone_block: str) -> bytes:
    text = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n" + timezone_block + SERIES.format(tzid=tzid)
    return (text + "END:VCALENDAR\n").replace("\n", "\r\n").encode()


def _timezone_variants() -> Iterator[bytes]:
    block = f"BEGIN:VTIMEZONE{PARIS_TZ}END:VTIMEZONE\n"
    custom = block.replace("TZID:Europe/Paris", "TZID:Paris custom").replace("+0200", "+0300")
    for tzid in ("Europe/Paris", "/Europe/Paris", "/mozilla.org/20050126_1/Europe/Paris", "Paris custom"):
        yield _zoned(tzid, block.replace("TZID:Europe/Paris", f"TZID:{tzid}"))
        yield _zoned(tzid, block.replace("TZID:Europe/Paris", f"TZID:{tzid}").replace("+0200", "+0300"))
    yield _zoned("Europe/Paris", block.replace("TZOFFSETFROM:+0100", "TZOFFSETFROM:garbage"))
    yield _zoned("Paris custom", block.replace("TZOFFSETFROM:+0100", "TZOFFSETFROM:garbage") + custom)
    yield _zoned("Europe/Paris", block.replace("TZID:Europe/Paris", "TZID:Europe/Paris\nTZID:Europe/Berlin"))
    yield _zoned("Europe/Paris", block.replace("END:STANDARD", "BEGIN:VALARM\nEND:VALARM\nEND:STANDARD"))
    yield _zoned("Europe/Paris", block.replace("END:VTIMEZONE", ""))
    yield _zoned("Europe/Paris", block.replace("TZID:Europe/Paris", "tzid:Europe/Paris"))
    yield _zoned("Europe/Paris", block.replace("TZID:Europe/Paris", "TZID:Europe\\/Paris"))
    yield _zoned("Europe/Paris", block + block)
    yield _zoned("Europe/Paris", block.replace("BEGIN:VTIMEZONE", "begin:vtimezone"))
    yield _zoned("America/New_York", block)


TIMEZONE_OBJECTS = [(str(p.relative_to(TESTS_DIR)), p.read_bytes()) for p in FILES] + [
    (f"variant#{i}", data) for i, data in enumerate(_timezone_variants())
]


@pytest.mark.parametrize(("name", "data"), TIMEZONE_OBJECTS, ids=[n for n, _ in TIMEZONE_OBJECTS])
def test_known_timezone_blocks_change_nothing(name: str, data: bytes) -> None:
    """icalendar with and without the VTIMEZONEs of zones zoneinfo knows: the same busy time, the same errors."""
    zone = NEW_YORK if len(data) % 2 else PARIS
    results = []
    for keep in (True, False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                report = ics._read_busy_full(data, *WINDOWS[0], zone, frozenset(), frozenset(), keep)
                results.append(([(e.uid, e.start, e.end, e.summary) for e in report.events], report.dropped, None))
            except IcsError as exc:
                results.append(([], [], str(exc)))
    assert results[0] == results[1]


def test_a_known_timezone_block_is_not_given_to_icalendar() -> None:
    """The point: Radicale stores a Paris event with 20 lines of VTIMEZONE, and they are not parsed."""
    data = _zoned("Europe/Paris", f"BEGIN:VTIMEZONE{PARIS_TZ}END:VTIMEZONE\n")
    assert "VTIMEZONE" not in ics._lenient_text(data)
    assert "VTIMEZONE" in ics._lenient_text(data, keep_known_timezones=True)
    custom = data.replace(b"Europe/Paris", b"Paris custom")
    assert "VTIMEZONE" in ics._lenient_text(custom)
    events = ics.busy_intervals(data, *WINDOWS[0], NEW_YORK)
    assert len(events) == 11 and events[0].start == datetime(2026, 10, 20, 7, tzinfo=UTC)
    # and the comparison above is not vacuous: a third of the files lose a block there
    changed = [
        n for n, d in TIMEZONE_OBJECTS if ics._lenient_text(d) != ics._lenient_text(d, keep_known_timezones=True)
    ]
    assert len(changed) > 100
