"""iCalendar mapping: remote calendar objects → busy intervals, bookings → VCALENDAR.

Pure functions only: no Flask, no database, no network, no clock. ``now`` and
the window are always parameters, so the same input gives the same output in
tests, in the sync job and in a replay.

Why this module exists at all: peers get calendar sync wrong in exactly these
places (recurring events that do not block, DST shifts, "free" events that
still block, bookings counted twice). Every rule of the "Calendar behaviour"
section of the interface lives here, in one place, with a test per rule.

Parsing costs ~0.8 ms per event through icalendar + recurrence expansion (a
one-VEVENT, non-recurring object takes the plain reader, :func:`_plain_busy`:
a 10,000-event pass spent about a third of the CPU samples, issue 19), so this
runs at sync time and its UTC results are stored; it is never on the
availability query path.
"""

from __future__ import annotations

import heapq
import logging
import re
import uuid as _uuid
import zoneinfo
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo

import dateutil.rrule  # type: ignore[import-untyped]
import icalendar

__all__ = [
    "PRODID",
    "X_BOOKING_ID",
    "MAX_OCCURRENCES_PER_OBJECT",
    "BusyEvent",
    "BusyReport",
    "EventSpec",
    "IcsError",
    "build_calendar",
    "build_feed",
    "busy_intervals",
    "read_busy",
]

log = logging.getLogger(__name__)

PRODID: Final = "-//booking//calendar_sync//EN"
#: Marker property on every event the service writes; sync skips such events so
#: a booking is counted once (from the bookings table), not again from CalDAV.
X_BOOKING_ID: Final = "X-BOOKING-ID"

_ITIP_METHODS: Final = frozenset({"REQUEST", "CANCEL", "PUBLISH"})
_STATUSES: Final = frozenset({"TENTATIVE", "CONFIRMED", "CANCELLED"})


class IcsError(ValueError):
    """One calendar resource could not be understood.

    Raised per resource (one CalDAV object / one .ics body) so the caller can
    log it with the resource's href and carry on with the others: one broken
    event written by some client must not stop a whole agent's sync.
    """

    def __init__(self, message: str, *, uid: str | None = None) -> None:
        self.uid = uid
        super().__init__(f"{message} (UID {uid})" if uid else message)


@dataclass(frozen=True, slots=True)
class BusyEvent:
    """One busy occurrence, in UTC, half-open ``[start, end)``.

    ``uid`` is the series' UID (shared by all occurrences of a recurring
    event), kept so the caller can show or de-duplicate what blocks a slot.
    """

    uid: str
    start: datetime
    end: datetime
    summary: str | None


# --------------------------------------------------------------------------- #
# Reading: busy time
# --------------------------------------------------------------------------- #


def _text(component: icalendar.cal.Component, name: str) -> str | None:
    value = _first(component, name)
    if value is None:
        return None
    return str(value)


def _first(component: icalendar.cal.Component, name: str) -> Any:
    """The property, or the first readable one when a client wrote it twice.

    RFC 5545 allows one DTSTART/DTEND/DURATION per component, but some
    clients repeat the line; icalendar then hands back a list, and reading
    ``.dt`` on it was the AttributeError that stopped whole syncs (issue 10
    item 1). The first readable copy keeps the event's time.
    """
    value = component.get(name)
    if isinstance(value, list):
        readable = [v for v in value if not isinstance(v, icalendar.vBroken)]
        return (readable or value or [None])[0]
    return value


def _check_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")


def _to_utc(value: date | datetime, agent_tz: ZoneInfo) -> datetime:
    """Map an occurrence boundary to UTC.

    * DATE (all-day): midnight of that day in the agent's zone. Taking both
      midnights separately is what makes a DST day 23 h or 25 h long.
    * floating DATE-TIME (no zone; also an unknown TZID that icalendar could
      not resolve): wall-clock time in the agent's zone. That is what the
      agent's own client shows them, and dropping the event instead would
      risk a double booking. ``X-WR-TIMEZONE`` is deliberately ignored: one
      rule, the one the interface documents (see README, calendar sync).
    * zoned DATE-TIME: converted as is.
    """
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), tzinfo=agent_tz).astimezone(UTC)
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=agent_tz).astimezone(UTC)
    return value.astimezone(UTC)


# -- lenient text pass ------------------------------------------------------ #

_DATE_PROPS: Final = frozenset({"DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE"})
_ONLY_DATES: Final = re.compile(r"\d{8}(,\d{8})*")
_LMT_OFFSET: Final = re.compile(r"([+-])(\d{4})")
RAW_DURATION: Final = "X-BOOKING-RAW-DURATION"


def _split_line(line: str) -> tuple[str, str, str] | None:
    """``NAME;PARAMS:VALUE`` → (NAME, ";PARAMS", VALUE), honouring quoted params."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            head = line[:i]
            name, sep, params = head.partition(";")
            return name.upper(), sep + params, line[i + 1 :]
    return None


#: The zone names icalendar's zoneinfo provider knows; a VTIMEZONE with one of them is never read.
_KNOWN_ZONES: Final = frozenset(zoneinfo.available_timezones())


def _known_timezone_lines(lines: list[str]) -> set[int]:
    """Indexes of the lines of every VTIMEZONE whose TZID names a zone zoneinfo has.

    icalendar resolves a TZID through zoneinfo first and builds (and caches) a zone from a
    VTIMEZONE only when zoneinfo does not know its name (``tzp.cache_timezone_component``), so
    such a block does not change the times read (except that a broken one, say a bad TZOFFSETFROM,
    no longer fails the whole object into the lenient second pass: an improvement), while parsing it
    was most of the work for a typical object (20 of the 29 lines of an Apple or Thunderbird event in
    Europe/Paris). A block with anything unusual (not directly in a VCALENDAR, no TZID or two, an
    escape, another component inside, no END) is kept.
    """
    dropped: set[int] = set()
    outer: list[str] = []  # the components the line is in
    i = 0
    while i < len(lines):
        upper = lines[i].upper()
        if not (upper.startswith("BEGIN:") and upper[6:].strip() == "VTIMEZONE" and outer == ["VCALENDAR"]):
            if upper.startswith("BEGIN:"):
                outer.append(upper[6:].strip())
            elif upper.startswith("END:") and outer:
                outer.pop()
            i += 1
            continue
        depth, tzids, plain, j = 1, [], True, i + 1
        while j < len(lines) and depth:
            inner = lines[j].upper()
            if inner.startswith("BEGIN:"):
                depth += 1
                plain = plain and inner[6:].strip() in ("STANDARD", "DAYLIGHT")
            elif inner.startswith("END:"):
                depth -= 1
            elif depth == 1:
                parts = _split_line(lines[j])
                if parts is not None and parts[0] == "TZID":
                    tzids.append(parts[2])
            j += 1
        known = len(tzids) == 1 and (tzids[0] in _KNOWN_ZONES or tzids[0].strip("/") in _KNOWN_ZONES)
        if depth == 0 and plain and known and "\\" not in tzids[0]:
            dropped.update(range(i, j))
        i = j
    return dropped


def _unfolded(ics_text: str | bytes) -> str:
    """The text of an object as both readers see it: UTF-8 (BOM dropped), else Latin-1, lines unfolded.

    One function for :func:`_lenient_text` and :func:`_plain_busy`, so the plain reader can never
    decode or unfold differently from the icalendar path it must agree with.
    """
    if isinstance(ics_text, bytes):
        try:
            text = ics_text.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = ics_text.decode("latin-1")
    else:
        text = ics_text.removeprefix("\ufeff")
    return re.sub(r"(?:\r?\n)+[ \t]", "", text)


def _lenient_text(ics_text: str | bytes, *, drop_timezones: bool = False, keep_known_timezones: bool = False) -> str:
    """Repair, before icalendar sees them, the defects that do not touch an event's time.

    Each rule is a real client's output that made a readable event disappear
    (issue 10 item 4):

    * VALARM blocks are removed: an alarm never changes busy time, and
      icalendar refuses the whole resource over e.g. ``TRIGGER:PT-2H``;
    * ``TZOFFSETFROM:+5328`` (Apple writes a local-mean-time offset of
      0:53:28 without its hours) becomes ``+005328``;
    * a DATE value with a TZID but no ``VALUE=DATE`` is read as the DATE it is
      (all-day), not as midnight of a zoned day;
    * DURATION's text is kept next to it, because icalendar turns ``PT72H``
      into ``timedelta(days=3)`` and the difference matters across DST.
    * ``drop_timezones``: last resort for a VTIMEZONE icalendar cannot read at
      all; TZIDs are then resolved by name (or read as floating).
    * a VTIMEZONE of a zone zoneinfo knows is removed (:func:`_known_timezone_lines`:
      icalendar would not use it); ``keep_known_timezones`` keeps them, for the test that
      shows this changes no result.
    """
    text = _unfolded(ics_text)
    out: list[str] = []
    skip_depth = 0
    lines = re.split(r"\r?\n|\r", text)
    known = (
        set()
        if drop_timezones or keep_known_timezones or "VTIMEZONE" not in text.upper()
        else _known_timezone_lines(lines)
    )
    for index, line in enumerate(lines):
        if index in known:
            continue
        upper = line.upper()
        skip_name = "VTIMEZONE" if drop_timezones and "VTIMEZONE" in upper else "VALARM"
        if upper.startswith("BEGIN:") and (skip_depth or upper[6:].strip() in ("VALARM", skip_name)):
            skip_depth += 1
            continue
        if skip_depth:
            if upper.startswith("END:"):
                skip_depth -= 1
            continue
        parts = _split_line(line)
        if parts is not None:
            name, params, value = parts
            if name in ("TZOFFSETFROM", "TZOFFSETTO"):
                m = _LMT_OFFSET.fullmatch(value.strip())
                if m and int(m.group(2)[:2]) >= 24:
                    line = f"{name}{params}:{m.group(1)}00{m.group(2)}"
            elif name in _DATE_PROPS and _ONLY_DATES.fullmatch(value.strip()):
                kept = [p for p in params.split(";")[1:] if not p.upper().startswith(("TZID=", "VALUE="))]
                line = ";".join([name, *kept, "VALUE=DATE"]) + ":" + value.strip()
            elif name == "DURATION":
                out.append(line)
                line = f"{RAW_DURATION}:{value.strip()}"
        out.append(line)
    return "\r\n".join(out) + "\r\n"


def _parse(ics_text: str | bytes, keep_known_timezones: bool = False) -> list[icalendar.Calendar]:
    calendars: list[icalendar.Calendar] = []
    for drop_timezones in (False, True):
        try:
            calendars = icalendar.Calendar.from_ical(
                _lenient_text(ics_text, drop_timezones=drop_timezones, keep_known_timezones=keep_known_timezones),
                multiple=True,
            )
            break
        except Exception as exc:  # any parser failure is one malformed resource
            error = exc
    else:
        raise IcsError(f"not parseable as iCalendar: {error}") from error
    if not calendars:
        raise IcsError("no VCALENDAR in resource")
    for cal in calendars:
        if cal.name != "VCALENDAR":
            raise IcsError(f"top-level component is {cal.name}, not VCALENDAR")
    return calendars


# -- one component: its start, length and busy status ------------------------ #

#: At most this many occurrences of one object inside the window are read;
#: the rest are ignored and reported (a ``FREQ=MINUTELY`` rule gave 105,138).
MAX_OCCURRENCES_PER_OBJECT: Final = 1000
#: At most this many candidates of one RRULE are generated in all (COUNT rules
#: started decades before the window cannot be fast-forwarded).
MAX_RULE_STEPS: Final = 50_000
_FAST_FORWARD: Final = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400, "WEEKLY": 7 * 86400}
_DURATION_TEXT: Final = re.compile(
    r"([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class _Length:
    """How long one occurrence lasts: ``days`` nominal (wall clock) then ``exact``.

    RFC 5545 3.3.6: in a DURATION, weeks and days are nominal (a day across a
    DST change is 23 or 25 h), hours/minutes/seconds are exact. A DTEND gives
    an exact length for DATE-TIMEs and whole nominal days for DATEs.
    """

    days: int
    exact: timedelta

    def end(self, start: date | datetime, zone: tzinfo, agent_tz: ZoneInfo) -> datetime:
        if self.days:
            if isinstance(start, datetime):
                wall = start.replace(tzinfo=None) + timedelta(days=self.days)
                return _to_utc(wall.replace(tzinfo=zone), agent_tz) + self.exact
            return _to_utc(start + timedelta(days=self.days), agent_tz) + self.exact
        return _to_utc(start, agent_tz) + self.exact

    @property
    def bound(self) -> timedelta:
        """An upper bound of the occurrence's length, to widen the search."""
        return timedelta(days=self.days, hours=3 if self.days else 0) + self.exact


def _dt(prop: Any, name: str, uid: str | None) -> date | datetime:
    if isinstance(prop, icalendar.vBroken):
        raise IcsError(f"unparseable {name} {str(prop)!r}", uid=uid)
    value = prop.dt
    if not isinstance(value, date):
        raise IcsError(f"{name} is not a date or date-time: {value!r}", uid=uid)
    return value


def _duration(event: icalendar.cal.Component, uid: str | None) -> _Length | None:
    prop = _first(event, "DURATION")
    if prop is None:
        return None
    if isinstance(prop, icalendar.vBroken):
        raise IcsError(f"unparseable DURATION {str(prop)!r}", uid=uid)
    raw = _text(event, RAW_DURATION)
    m = _DURATION_TEXT.fullmatch(raw.strip()) if raw else None
    if m and any(m.groups()[1:]):
        sign = -1 if m.group(1) == "-" else 1
        weeks, days, hours, minutes, seconds = (int(g or 0) for g in m.groups()[1:])
        length = _Length(sign * (7 * weeks + days), sign * timedelta(hours=hours, minutes=minutes, seconds=seconds))
    else:
        length = _Length(0, prop.dt)
    if length.days < 0 or length.exact < timedelta(0):
        raise IcsError("negative DURATION", uid=uid)
    return length


def _length(event: icalendar.cal.Component, start: date | datetime, agent_tz: ZoneInfo, uid: str | None) -> _Length:
    """DTEND if readable and not before DTSTART, else DURATION, else the RFC defaults.

    DTEND wins over a DURATION written next to it (``DURATION:PT0S`` beside a
    real DTEND is a known client quirk); a DATE DTEND equal to its DTSTART is
    one day, like a missing one.
    """
    end_prop = _first(event, "DTEND")
    duration = _duration(event, uid) if end_prop is None or isinstance(end_prop, icalendar.vBroken) else None
    if end_prop is not None and duration is None:
        end = _dt(end_prop, "DTEND", uid)
        if not isinstance(start, datetime) and not isinstance(end, datetime):
            days = (end - start).days
            if days < 0:
                raise IcsError("DTEND before DTSTART", uid=uid)
            return _Length(max(days, 1), timedelta(0))
        exact = _to_utc(end, agent_tz) - _to_utc(start, agent_tz)
        if exact < timedelta(0):
            raise IcsError("DTEND before DTSTART", uid=uid)
        return _Length(0, exact)
    if duration is not None:
        return duration
    return _Length(0 if isinstance(start, datetime) else 1, timedelta(0))


def _emails(prop: Any) -> str:
    return str(prop).strip().lower().removeprefix("mailto:")


def _is_busy(component: icalendar.cal.Component, agent_emails: frozenset[str]) -> bool:
    """Busy unless the agent would call it free (interface, "Calendar behaviour").

    Free: ``TRANSP:TRANSPARENT``, ``STATUS:CANCELLED``,
    ``X-MICROSOFT-CDO-BUSYSTATUS:FREE`` (Outlook/Exchange keep TRANSP:OPAQUE
    on such events) and an invitation every one of whose ATTENDEE lines for
    the agent says ``PARTSTAT=DECLINED`` (Nextcloud, iCloud and Google keep
    declined invitations in the calendar). TENTATIVE, NEEDS-ACTION (not yet
    answered) and every other PARTSTAT block: the agent may well attend, and
    offering that slot risks a double booking.
    """
    transp = str(_first(component, "TRANSP") or "OPAQUE").strip().upper()
    status = str(_first(component, "STATUS") or "").strip().upper()
    ms_busy = str(_first(component, "X-MICROSOFT-CDO-BUSYSTATUS") or "").strip().upper()
    if transp == "TRANSPARENT" or status == "CANCELLED" or ms_busy == "FREE":
        return False
    if agent_emails:
        attendees = component.get("ATTENDEE")
        if attendees is not None and not isinstance(attendees, list):
            attendees = [attendees]
        mine = [a for a in attendees or () if _emails(a) in agent_emails]
        if mine and all(str(a.params.get("PARTSTAT", "")).strip().upper() == "DECLINED" for a in mine):
            return False
    return True


def _dates(component: icalendar.cal.Component, name: str, uid: str | None, dropped: list[str]) -> list[Any]:
    """Every value of EXDATE/RDATE (one or many lines); an unreadable line is reported and skipped."""
    props = component.get(name)
    if props is None:
        return []
    values: list[Any] = []
    for prop in props if isinstance(props, list) else [props]:
        try:
            found = [d.dt for d in prop.dts]
        except Exception as exc:  # icalendar raises its own types on broken values
            dropped.append(f"UID {uid}: unreadable {name} ignored ({exc})")
            continue
        for value in found:
            if isinstance(value, (date, tuple)):
                values.append(value)
            else:  # e.g. VALUE=TIME: no day to put it on
                dropped.append(f"UID {uid}: {name} value {value!r} ignored")
    return values


@dataclass
class _Series:
    """What one readable VEVENT contributes: its start, length, zone and busy status."""

    component: icalendar.cal.Component
    uid: str
    start: date | datetime
    length: _Length
    zone: tzinfo
    busy: bool

    @classmethod
    def read(cls, component: icalendar.cal.Component, agent_tz: ZoneInfo, agent_emails: frozenset[str]) -> _Series:
        uid = _text(component, "UID")
        start_prop = _first(component, "DTSTART")
        if start_prop is None:
            start_prop = _first(component, "RECURRENCE-ID")  # an override without DTSTART starts where it was
        if start_prop is None:
            raise IcsError("VEVENT without DTSTART", uid=uid)
        start = _dt(start_prop, "DTSTART", uid)
        zone: tzinfo = agent_tz
        if isinstance(start, datetime) and start.tzinfo is not None and start.utcoffset() is not None:
            zone = start.tzinfo
        return cls(
            component,
            uid or "",
            start,
            _length(component, start, agent_tz, uid),
            zone,
            _is_busy(component, agent_emails),
        )

    def event(self, start: date | datetime, agent_tz: ZoneInfo, length: _Length | None = None) -> BusyEvent:
        begin = _to_utc(start, agent_tz)
        end = (length or self.length).end(start, self.zone, agent_tz)
        return BusyEvent(uid=self.uid, start=begin, end=end, summary=_text(self.component, "SUMMARY"))


def _until(value: date | datetime, zone: tzinfo) -> datetime:
    """RRULE UNTIL as a naive wall-clock bound in the series' zone, inclusive.

    A DATE UNTIL keeps that whole day (the last occurrence is on that day,
    whatever its time - dateutil would read it as midnight and drop it); a
    UTC UNTIL on a floating or zoned series is converted to its wall clock.
    """
    if not isinstance(value, datetime):
        return datetime.combine(value, time.max)
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(zone).replace(tzinfo=None)
    return value


def _rule_starts(
    series: _Series, rule: Any, search: tuple[datetime, datetime], dropped: list[str]
) -> Iterator[datetime]:
    """Naive wall-clock starts of one RRULE inside ``search`` (naive, same zone), in order.

    Never hangs: INTERVAL must be positive (RFC 5545 3.3.10; ``INTERVAL=0``
    loops for ever inside dateutil, so such a rule is refused), sub-weekly
    rules without COUNT are fast-forwarded to the search window by whole
    intervals (so ``FREQ=SECONDLY`` since 1990 costs nothing), and at most
    :data:`MAX_RULE_STEPS` candidates are generated.
    """
    uid = series.uid
    if isinstance(rule, icalendar.vBroken):
        raise IcsError(f"cannot expand events: unparseable RRULE {str(rule)!r}", uid=uid)
    freq = str((rule.get("FREQ") or [""])[0]).upper()
    interval = int((rule.get("INTERVAL") or [1])[0])
    if interval < 1:
        raise IcsError(f"cannot expand events: RRULE INTERVAL={interval} (must be positive)", uid=uid)
    until = rule.get("UNTIL")
    if not rule:  # "RRULE:" with nothing after it: no rule, the event itself still counts
        dropped.append(f"UID {uid}: empty RRULE ignored")
        return
    text = ";".join(part for part in rule.to_ical().decode().split(";") if not part.upper().startswith("UNTIL="))
    wall = (
        series.start.replace(tzinfo=None)
        if isinstance(series.start, datetime)
        else datetime.combine(series.start, time(0))
    )
    first = wall
    step = _FAST_FORWARD.get(freq)
    if step is not None and "COUNT" not in rule and "BYSETPOS" not in rule and wall < search[0]:
        period = timedelta(seconds=step * interval)
        wall += period * ((search[0] - wall) // period)
    try:
        rrule = dateutil.rrule.rrulestr(text, dtstart=wall, ignoretz=True, cache=False)
    except Exception as exc:  # dateutil raises ValueError, TypeError, KeyError...
        raise IcsError(f"cannot expand events: {exc}", uid=uid) from exc
    bound = min(search[1], _until(until[0], series.zone)) if until else search[1]
    try:
        for steps, start in enumerate(rrule):
            if start > bound:
                return
            if steps >= MAX_RULE_STEPS:
                dropped.append(f"UID {uid}: RRULE stopped after {MAX_RULE_STEPS} occurrences")
                return
            if start >= search[0] and start != first:
                yield start
    except IcsError:
        raise
    except Exception as exc:
        raise IcsError(f"cannot expand events: {exc}", uid=uid) from exc


def _occurrence_starts(
    series: _Series, window: tuple[datetime, datetime], agent_tz: ZoneInfo, dropped: list[str]
) -> Iterator[tuple[date | datetime, _Length | None]]:
    """Every start of a master (DTSTART, RRULE, RDATE) that may overlap the window, minus EXDATE.

    Lazily and in time order (the rules are merged), so the caller's cap stops
    the expansion itself, not just what is kept of it. Each start comes with
    the occurrence's own length when an RDATE PERIOD gives one.
    """
    comp, uid = series.component, series.uid
    all_day = not isinstance(series.start, datetime)
    lo = window[0] - series.length.bound
    zone = agent_tz if all_day else series.zone
    search = (
        # two hours of slack cover any DST shift between wall clock and UTC
        lo.astimezone(zone).replace(tzinfo=None) - timedelta(hours=2),
        window[1].astimezone(zone).replace(tzinfo=None) + timedelta(hours=2),
    )

    def own_type(wall: datetime) -> date | datetime:
        return wall.date() if all_day else wall.replace(tzinfo=series.start.tzinfo)  # type: ignore[union-attr]

    listed: list[tuple[date | datetime, _Length | None]] = [(series.start, None)]
    for value in _dates(comp, "RDATE", uid, dropped):
        if isinstance(value, tuple):  # PERIOD: (start, end) or (start, duration)
            begin, stop = value
            exact = stop if isinstance(stop, timedelta) else _to_utc(stop, agent_tz) - _to_utc(begin, agent_tz)
            listed.append((begin, _Length(0, max(exact, timedelta(0)))))
        else:
            listed.append((value, None))
    sources: list[Iterable[tuple[date | datetime, _Length | None]]] = [
        sorted(listed, key=lambda item: _to_utc(item[0], agent_tz))
    ]
    rules = comp.get("RRULE")
    for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
        sources.append((own_type(s), None) for s in _rule_starts(series, rule, search, dropped))
    excluded = {_to_utc(v, agent_tz) for v in _dates(comp, "EXDATE", uid, dropped) if isinstance(v, datetime)}
    excluded_days = {v for v in _dates(comp, "EXDATE", uid, []) if not isinstance(v, datetime)}
    seen: set[datetime] = set()
    for start, length in heapq.merge(*sources, key=lambda item: _to_utc(item[0], agent_tz)):
        key = _to_utc(start, agent_tz)
        if isinstance(start, datetime):
            day = (start.astimezone(zone) if start.tzinfo is not None else start).date()
        else:
            day = start
        if key in seen or key in excluded or day in excluded_days:
            continue
        seen.add(key)
        yield start, length


@dataclass(frozen=True, slots=True)
class BusyReport:
    """What one resource yields: its busy occurrences, and what had to be left out.

    ``dropped`` names each piece that could not be read (one broken override,
    an unreadable EXDATE, a rule cut at the cap...) while the rest of the
    resource still counts: issue 10 items 4 and 5.
    """

    events: list[BusyEvent]
    dropped: list[str]


# -- the plain-event fast path ---------------------------------------------- #
#
# Many calendar objects are one VEVENT with a UTC (or floating, or all-day) start, an end or a
# duration and no recurrence: one busy interval (19 in 20 of bench/sync.py's calendar). Building
# icalendar's component tree for them was 31 % of a 10,000-event full pass, nearly half of our own
# CPU in it (py-spy; Radicale's serving was 35 %), so such objects are read here from their content
# lines. The reader is deliberately narrow: anything it does not fully understand (a TZID, a
# VTIMEZONE, a recurrence property, an escaped text, a quoted parameter on a line it needs, a
# duplicate property, any structural oddity) returns None and the object takes the icalendar path
# above. The results of both paths are compared on every .ics file under tests/ and on generated
# variants (tests/calendar_sync/test_ics_plain.py).

#: A content line in its simplest form: an upper-case name, parameters without quotes, backslashes,
#: carets, commas or blanks (so no escaping rule of icalendar's can apply), then the value.
_PLAIN_LINE: Final = re.compile(r"([A-Z][A-Z0-9-]*)((?:;[A-Z][A-Z0-9-]*=[^;:\",\\^\s]*)*):(.*)", re.DOTALL)
#: The name of any content line whose name is plain (inside a VEVENT that is all we need of the
#: lines we ignore: icalendar reads an Event with ``ignore_exceptions``, so they cannot fail it).
_LINE_NAME: Final = re.compile(r"([A-Z][A-Z0-9-]*)[;:]")
_PLAIN_DATETIME: Final = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?")
_PLAIN_DURATION: Final = re.compile(r"([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
#: Calendar-level properties icalendar reads as text (a typed one could fail the whole resource).
_PLAIN_CALENDAR_PROPS: Final = frozenset({"VERSION", "PRODID", "CALSCALE", "METHOD"})
_PLAIN_TEXT_PROPS: Final = frozenset({"UID", "SUMMARY", "TRANSP", "STATUS", "X-MICROSOFT-CDO-BUSYSTATUS"})
#: Times the plain reader answers for (an event reaching year 9999 overflows the full path's search).
_PLAIN_SPAN: Final = (datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))
#: Anything that makes an object more than one occurrence (or that we write ourselves): full path.
_NOT_PLAIN_PROPS: Final = frozenset({"RRULE", "RDATE", "EXDATE", "EXRULE", "RECURRENCE-ID", RAW_DURATION})


def _plain_calendar_prop(name: str, params: str) -> bool:
    """A calendar-level line icalendar cannot fail on: a text property, or any X- one."""
    return name.startswith("X-") or (name in _PLAIN_CALENDAR_PROPS and "VALUE=" not in params)


def _plain_time(value: str, params: str) -> date | datetime | None:
    """DTSTART/DTEND as icalendar reads it after :func:`_lenient_text`, or None if not plain.

    Eight digits are a DATE whatever the parameters say (the lenient pass's rule); a DATE-TIME is
    UTC (``Z``) or floating; a TZID, or any other parameter than VALUE, is left to icalendar.
    """
    m = _PLAIN_DATETIME.fullmatch(value)
    if m is None:
        return None
    year, month, day, hour, minute, second, z = m.groups()
    try:
        if hour is None:
            return date(int(year), int(month), int(day))
        if params not in ("", ";VALUE=DATE-TIME"):
            return None
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC if z else None)
    except ValueError:
        return None


def _plain_length(
    start: date | datetime, end: date | datetime | None, duration: str | None, agent_tz: ZoneInfo
) -> _Length | None:
    """:func:`_length` on plain values; None where the full path would raise (it reports those)."""
    if end is not None:
        if not isinstance(start, datetime) and not isinstance(end, datetime):
            days = (end - start).days
            return None if days < 0 else _Length(max(days, 1), timedelta(0))
        exact = _to_utc(end, agent_tz) - _to_utc(start, agent_tz)
        return None if exact < timedelta(0) else _Length(0, exact)
    if duration is not None:
        m = _PLAIN_DURATION.fullmatch(duration)
        if m is None or not any(m.groups()[1:]):
            return None
        weeks, days, hours, minutes, seconds = (int(g or 0) for g in m.groups()[1:])
        if m.group(1) == "-" and (weeks or days or hours or minutes or seconds):
            return None  # negative: the full path refuses it
        return _Length(7 * weeks + days, timedelta(hours=hours, minutes=minutes, seconds=seconds))
    return _Length(0 if isinstance(start, datetime) else 1, timedelta(0))


def _plain_busy(
    ics_text: str | bytes,
    window: tuple[datetime, datetime],
    agent_tz: ZoneInfo,
    own_uids: Container[str],
    agent_emails: frozenset[str],
) -> BusyReport | None:
    """The busy time of a one-VEVENT, non-recurring object read without icalendar, or None.

    None means "not plain": the caller reads the object with icalendar. When it answers, the
    answer is the one :func:`_read_busy_full` gives (same decoding and unfolding as
    :func:`_lenient_text`, VALARMs skipped as it does, then the rules of :class:`_Series`).
    """
    lines = re.split(r"\r?\n|\r", _unfolded(ics_text))
    state = 0  # 0: before VCALENDAR, 1: in it, 2: in the VEVENT, 3: after the VEVENT, 4: after VCALENDAR
    skip_depth = 0
    texts: dict[str, str] = {}
    times: dict[str, tuple[str, str]] = {}
    duration: str | None = None
    declined: list[bool] = []  # per ATTENDEE line of the agent: PARTSTAT=DECLINED?
    own = False
    for line in lines:
        if not line:
            continue
        if skip_depth:  # inside a VALARM: skipped as _lenient_text skips it
            upper = line.upper()
            if upper.startswith("BEGIN:"):
                skip_depth += 1
            elif upper.startswith("END:"):
                skip_depth -= 1
            continue
        if state == 2:
            if line == "END:VEVENT":
                state = 3
                continue
            upper = line.upper()
            if upper.startswith("BEGIN:"):
                if upper[6:].strip() != "VALARM":
                    return None
                skip_depth = 1
                continue
            name_match = _LINE_NAME.match(line)
            if name_match is None:
                return None
            name = name_match.group(1)
            if name in ("BEGIN", "END") or name in _NOT_PLAIN_PROPS:
                return None
            relevant = (
                name in _PLAIN_TEXT_PROPS
                or name in ("DTSTART", "DTEND", "DURATION", X_BOOKING_ID)
                or (name == "ATTENDEE" and agent_emails)
            )
            if not relevant:
                continue
            m = _PLAIN_LINE.fullmatch(line)
            if m is None:
                return None
            _, params, value = m.groups()
            if name == X_BOOKING_ID:
                own = True
                continue
            if "\\" in value:
                return None
            if name == "ATTENDEE":
                if value.strip().lower().removeprefix("mailto:") in agent_emails:
                    found = [p[9:] for p in params.split(";") if p.startswith("PARTSTAT=")]
                    if len(found) > 1:
                        return None
                    declined.append(bool(found) and found[0].strip().upper() == "DECLINED")
                continue
            if name in texts or name in times or (name == "DURATION" and duration is not None):
                return None  # twice: the full path's _first rules apply
            if name == "DURATION":
                if params:
                    return None
                duration = value
            elif name in ("DTSTART", "DTEND"):
                times[name] = (value, params)
            else:
                if "VALUE=" in params:
                    return None
                texts[name] = value
        elif state == 1:
            if line == "BEGIN:VEVENT":
                state = 2
                continue
            if line == "END:VCALENDAR":
                return None  # no VEVENT at all
            m = _PLAIN_LINE.fullmatch(line)
            if m is None or not _plain_calendar_prop(m.group(1), m.group(2)):
                return None
        elif state == 3:
            if line == "END:VCALENDAR":
                state = 4
                continue
            m = _PLAIN_LINE.fullmatch(line)
            if m is None or not _plain_calendar_prop(m.group(1), m.group(2)):
                return None
        elif state == 0 and line == "BEGIN:VCALENDAR":
            state = 1
        else:
            return None  # text before BEGIN:VCALENDAR or after END:VCALENDAR
    if state != 4 or skip_depth:
        return None
    uid = texts.get("UID") or ""
    if own or uid in own_uids:
        return BusyReport([], [])
    if "DTSTART" not in times:
        return None
    start = _plain_time(*times["DTSTART"])
    end = _plain_time(*times["DTEND"]) if "DTEND" in times else None
    if start is None or ("DTEND" in times and end is None):
        return None
    length = _plain_length(start, end, duration, agent_tz)
    if length is None:
        return None
    transp = (texts.get("TRANSP") or "OPAQUE").strip().upper()
    status = (texts.get("STATUS") or "").strip().upper()
    ms_busy = (texts.get("X-MICROSOFT-CDO-BUSYSTATUS") or "").strip().upper()
    if transp == "TRANSPARENT" or status == "CANCELLED" or ms_busy == "FREE" or (declined and all(declined)):
        return BusyReport([], [])
    zone: tzinfo = UTC if isinstance(start, datetime) and start.tzinfo is not None else agent_tz
    ev = BusyEvent(uid, _to_utc(start, agent_tz), length.end(start, zone, agent_tz), texts.get("SUMMARY"))
    if ev.start < _PLAIN_SPAN[0] or ev.end > _PLAIN_SPAN[1]:
        return None  # the full path's window arithmetic overflows on such spans; let it say so
    if ev.start < ev.end and ev.end > window[0] and ev.start < window[1]:
        return BusyReport([ev], [])
    return BusyReport([], [])


def read_busy(
    ics_text: str | bytes,
    window_start: datetime,
    window_end: datetime,
    agent_tz: ZoneInfo,
    own_uids: Container[str] = frozenset(),
    agent_emails: Iterable[str] = (),
) -> BusyReport:
    """:func:`busy_intervals`, also saying which pieces were dropped."""
    _check_aware("window_start", window_start)
    _check_aware("window_end", window_end)
    if window_end <= window_start:
        return BusyReport([], [])
    try:
        return _read_busy(ics_text, window_start, window_end, agent_tz, own_uids, frozenset(map(_emails, agent_emails)))
    except IcsError:
        raise
    except Exception as exc:  # no input may escape as anything but IcsError (item 1)
        raise IcsError(f"cannot read resource: {type(exc).__name__}: {exc}") from exc


def _read_busy(
    ics_text: str | bytes,
    window_start: datetime,
    window_end: datetime,
    agent_tz: ZoneInfo,
    own_uids: Container[str],
    agent_emails: frozenset[str],
) -> BusyReport:
    """The plain-event reader when it can answer, else icalendar (:func:`_read_busy_full`)."""
    window = (window_start.astimezone(UTC), window_end.astimezone(UTC))
    try:
        plain = _plain_busy(ics_text, window, agent_tz, own_uids, agent_emails)
    except (ArithmeticError, ValueError):  # e.g. a DURATION of 10**18 days, year 1 in UTC-: the full path says
        plain = None
    if plain is not None:
        return plain
    return _read_busy_full(ics_text, window_start, window_end, agent_tz, own_uids, agent_emails)


def _read_busy_full(
    ics_text: str | bytes,
    window_start: datetime,
    window_end: datetime,
    agent_tz: ZoneInfo,
    own_uids: Container[str],
    agent_emails: frozenset[str],
    keep_known_timezones: bool = False,
) -> BusyReport:
    """Every VEVENT of every VCALENDAR through icalendar: recurrences, overrides, broken pieces."""
    calendars = _parse(ics_text, keep_known_timezones)
    window = (window_start.astimezone(UTC), window_end.astimezone(UTC))
    result: set[BusyEvent] = set()
    dropped: list[str] = []
    first_error: IcsError | None = None
    readable = 0

    def overlaps(ev: BusyEvent) -> bool:
        return ev.start < ev.end and ev.end > window[0] and ev.start < window[1]

    for cal in calendars:
        masters: list[_Series] = []
        overrides: dict[str, dict[datetime, _Series]] = {}
        for component in cal.walk("VEVENT"):
            uid = _text(component, "UID") or ""
            if uid in own_uids or X_BOOKING_ID in component:
                readable += 1
                continue
            try:
                series = _Series.read(component, agent_tz, agent_emails)
                rid = _first(component, "RECURRENCE-ID")
                if rid is None:
                    masters.append(series)
                else:
                    overrides.setdefault(uid, {})[_to_utc(_dt(rid, "RECURRENCE-ID", uid), agent_tz)] = series
                readable += 1
            except Exception as exc:  # one broken VEVENT never hides the others
                error = exc if isinstance(exc, IcsError) else IcsError(f"{type(exc).__name__}: {exc}", uid=uid)
                first_error = first_error or error
                dropped.append(str(error))
        count = 0
        for uid_overrides in overrides.values():
            for override in uid_overrides.values():
                ev = override.event(override.start, agent_tz)
                if override.busy and overlaps(ev):
                    result.add(ev)
                    count += 1
        for series in masters:
            if not series.busy:
                continue
            moved = overrides.get(series.uid, {})
            kept: list[BusyEvent] = []
            try:
                for start, length in _occurrence_starts(series, window, agent_tz, dropped):
                    if _to_utc(start, agent_tz) in moved:
                        continue
                    ev = series.event(start, agent_tz, length)
                    if ev.start >= window[1]:
                        break
                    if not overlaps(ev):
                        continue
                    if count + len(kept) >= MAX_OCCURRENCES_PER_OBJECT:
                        dropped.append(
                            f"UID {series.uid}: more than {MAX_OCCURRENCES_PER_OBJECT} occurrences, rest ignored"
                        )
                        break
                    kept.append(ev)
            except Exception as exc:  # one broken series never hides the others
                error = exc if isinstance(exc, IcsError) else IcsError(f"{type(exc).__name__}: {exc}", uid=series.uid)
                first_error = first_error or error
                dropped.append(str(error))
                readable -= 1
                continue
            result.update(kept)
            count += len(kept)
    if first_error is not None and readable <= 0:
        raise first_error
    return BusyReport(sorted(result, key=lambda b: (b.start, b.end, b.uid)), dropped)


def busy_intervals(
    ics_text: str | bytes,
    window_start: datetime,
    window_end: datetime,
    agent_tz: ZoneInfo,
    own_uids: Container[str] = frozenset(),
    agent_emails: Iterable[str] = (),
) -> list[BusyEvent]:
    """Busy occurrences of one calendar resource that overlap the window.

    Rules (interface, "Calendar behaviour"):

    * busy unless ``TRANSP:TRANSPARENT``, ``STATUS:CANCELLED``,
      ``X-MICROSOFT-CDO-BUSYSTATUS:FREE`` or declined by the agent (an
      ATTENDEE with one of ``agent_emails`` and ``PARTSTAT=DECLINED``) -
      checked per occurrence, so an override can cancel (or free) one;
    * RRULE/RDATE/EXDATE/RECURRENCE-ID expanded here (dateutil for the RRULE
      itself) in the event's own TZID: a weekly 10:00 Paris meeting stays at
      10:00 Paris across the DST change, i.e. moves by an hour in UTC. EXDATE
      and RECURRENCE-ID match by instant, so a UTC EXDATE removes a floating
      occurrence (recurring-ical-events 3.8.2 shifted such a series and kept
      the occurrence: that is why it is no longer used here). Each VEVENT
      without RECURRENCE-ID is a series of its own, even when two share a UID;
    * at most :data:`MAX_OCCURRENCES_PER_OBJECT` occurrences per resource in
      the window, and only the window is expanded; ``INTERVAL=0`` is refused;
    * all-day events block whole days in ``agent_tz``; floating times are
      read in ``agent_tz`` (``X-WR-TIMEZONE`` is ignored);
    * no DTEND: DURATION (days/weeks nominal, hours/minutes/seconds exact),
      else the RFC 5545 defaults (one day for a DATE, zero for a DATE-TIME -
      a zero-length event blocks nothing and is dropped); a DATE DTEND equal
      to DTSTART is one day; an RRULE UNTIL given as a DATE keeps that day;
    * events whose UID is in ``own_uids`` or that carry ``X-BOOKING-ID`` are
      the service's own bookings and are skipped, so they are not counted
      twice.

    A broken piece (one VEVENT, an override, an EXDATE line) is left out and
    the rest still counts; :class:`IcsError` is raised only when nothing of
    the resource can be read - and never any other exception, whatever the
    input. Occurrences are returned whole (not clipped to the window), in
    UTC, sorted by start.
    """
    report = read_busy(ics_text, window_start, window_end, agent_tz, own_uids, agent_emails)
    for reason in report.dropped:
        log.warning("calendar object: left out %s", reason)
    return report.events


# --------------------------------------------------------------------------- #
# Writing: bookings as iCalendar
# --------------------------------------------------------------------------- #


@dataclass
class EventSpec:
    """What the service knows about one booking, ready to become a VEVENT.

    ``sequence`` must grow on every change (reschedule, cancel): clients
    ignore an update whose SEQUENCE did not increase - the peers' bug.
    """

    uid: str
    sequence: int
    start: datetime
    end: datetime
    summary: str
    description: str | None
    organizer_name: str
    organizer_email: str
    attendee_name: str
    attendee_email: str
    status: str = "CONFIRMED"
    location: str | None = None
    url: str | None = None
    booking_id: str | int | None = None

    def __post_init__(self) -> None:
        _check_aware("start", self.start)
        _check_aware("end", self.end)
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.sequence < 0:
            raise ValueError("sequence must be >= 0")
        if self.status.upper() not in _STATUSES:
            raise ValueError(f"status must be one of {sorted(_STATUSES)}")
        if not self.uid:
            raise ValueError("uid must not be empty")


def _param_text(value: str) -> str:
    """A parameter value every reader decodes the same way.

    RFC 5545 parameter values cannot hold a double quote at all; icalendar
    would write RFC 6868 ``^'`` escapes, which vobject, ics.py and libical show
    literally (issue 10 item 12). A double quote becomes an apostrophe and
    control characters (a newline in a name) a space, so nothing needs escaping.
    """
    return "".join(" " if ord(ch) < 32 or ch == "\x7f" else "'" if ch == '"' else ch for ch in value)


def _address(email: str, name: str, **params: str) -> icalendar.vCalAddress:
    addr = icalendar.vCalAddress(f"mailto:{email}")
    addr.params["CN"] = _param_text(name)
    for key, value in params.items():
        addr.params[key.replace("_", "-")] = value
    return addr


def _vevent(spec: EventSpec, method: str | None, alarm_minutes: int | None, now: datetime) -> icalendar.Event:
    status = "CANCELLED" if method == "CANCEL" else spec.status.upper()
    event = icalendar.Event()
    event.add("UID", spec.uid)
    event.add("SEQUENCE", spec.sequence)
    event.add("DTSTAMP", now.astimezone(UTC))
    event.add("DTSTART", spec.start.astimezone(UTC))
    event.add("DTEND", spec.end.astimezone(UTC))
    event.add("SUMMARY", spec.summary)
    if spec.description:
        event.add("DESCRIPTION", spec.description)
    if spec.location:
        event.add("LOCATION", spec.location)
    if spec.url:
        event.add("URL", spec.url)
    event.add("STATUS", status)
    event.add("TRANSP", "OPAQUE")
    event.add("ORGANIZER", _address(spec.organizer_email, spec.organizer_name))
    attendee_params = {
        "ROLE": "REQ-PARTICIPANT",
        "PARTSTAT": "NEEDS-ACTION",
        # A CANCEL asks for no reply (RFC 5546 3.2.5).
        "RSVP": "FALSE" if method == "CANCEL" else "TRUE",
    }
    if method is None:
        # Stored over CalDAV: tell a scheduling server (RFC 6638: Nextcloud,
        # iCloud, SOGo...) NOT to e-mail its own invitation - the service
        # already sends one, the customer must not get two.
        attendee_params["SCHEDULE-AGENT"] = "CLIENT"
    if method != "PUBLISH":
        # RFC 5546 3.2.1: a PUBLISH carries no ATTENDEE (libical rejects the feed otherwise).
        event.add("ATTENDEE", _address(spec.attendee_email, spec.attendee_name, **attendee_params))
    if spec.booking_id is not None:
        event.add(X_BOOKING_ID, str(spec.booking_id))
    if alarm_minutes is not None and method != "CANCEL":
        if alarm_minutes < 0:
            raise ValueError("alarm_minutes must be >= 0")
        alarm = icalendar.Alarm()
        alarm.add("UID", str(_uuid.uuid5(_uuid.NAMESPACE_URL, f"{spec.uid}#alarm")))
        alarm.add("ACTION", "DISPLAY")
        alarm.add("DESCRIPTION", spec.summary)
        alarm.add("TRIGGER", timedelta(minutes=-alarm_minutes))
        event.add_component(alarm)
    return event


def _calendar(method: str | None) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    if method is not None:
        cal.add("METHOD", method)
    return cal


def _check_method(method: str | None) -> str | None:
    if method is None:
        return None
    method = method.upper()
    if method not in _ITIP_METHODS:
        raise ValueError(f"method must be None or one of {sorted(_ITIP_METHODS)}")
    return method


def build_calendar(
    spec: EventSpec,
    method: str | None = None,
    alarm_minutes: int | None = None,
    *,
    now: datetime,
) -> bytes:
    """One booking as a VCALENDAR with a single VEVENT (CRLF, folded).

    ``method``: ``"REQUEST"`` / ``"CANCEL"`` for e-mail invitations (iTIP);
    ``None`` for the object stored over CalDAV - RFC 4791 forbids METHOD in
    a stored calendar object resource. A CANCEL always carries
    ``STATUS:CANCELLED`` whatever ``spec.status`` says. Times are written in
    UTC: unambiguous for every client, and no VTIMEZONE to get wrong.
    ``now`` becomes DTSTAMP (no clock is read here).
    """
    _check_aware("now", now)
    method = _check_method(method)
    cal = _calendar(method)
    cal.add_component(_vevent(spec, method, alarm_minutes, now))
    return cal.to_ical()


def build_feed(specs: Iterable[EventSpec], *, now: datetime, name: str | None = None) -> bytes:
    """Many events as one subscribable feed (``METHOD:PUBLISH``).

    For the agent's private ``calendar.ics`` feed: same VEVENTs as the CalDAV
    objects, so a client that sees both (feed + CalDAV) merges them by UID -
    except ATTENDEE, which RFC 5546 forbids in a PUBLISH (the contact's name
    and address are in the DESCRIPTION already).
    """
    _check_aware("now", now)
    cal = _calendar("PUBLISH")
    if name:
        cal.add("X-WR-CALNAME", name)
    for spec in specs:
        cal.add_component(_vevent(spec, "PUBLISH", None, now))
    return cal.to_ical()
