"""iCalendar mapping: remote calendar objects → busy intervals, bookings → VCALENDAR.

Pure functions only: no Flask, no database, no network, no clock. ``now`` and
the window are always parameters, so the same input gives the same output in
tests, in the sync job and in a replay.

Why this module exists at all: peers get calendar sync wrong in exactly these
places (recurring events that do not block, DST shifts, "free" events that
still block, bookings counted twice). Every rule of the "Calendar behaviour"
section of the interface lives here, in one place, with a test per rule.

Parsing costs ~0.8 ms per event (icalendar + recurrence expansion), so this
runs at sync time and its UTC results are stored; it is never on the
availability query path.
"""

from __future__ import annotations

import uuid as _uuid
from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

__all__ = [
    "PRODID",
    "X_BOOKING_ID",
    "BusyEvent",
    "EventSpec",
    "IcsError",
    "build_calendar",
    "build_feed",
    "busy_intervals",
]

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
    value = component.get(name)
    if value is None:
        return None
    return str(value)


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
      risk a double booking.
    * zoned DATE-TIME: converted as is.
    """
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0), tzinfo=agent_tz).astimezone(UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=agent_tz).astimezone(UTC)
    return value.astimezone(UTC)


def _is_busy(component: icalendar.cal.Component) -> bool:
    transp = str(component.get("TRANSP", "OPAQUE")).strip().upper()
    status = str(component.get("STATUS", "")).strip().upper()
    return transp != "TRANSPARENT" and status != "CANCELLED"


def _validate_event(event: icalendar.cal.Component) -> None:
    """Reject what the expansion library would silently reinterpret.

    icalendar 7 parses leniently (a bad value becomes a ``vBroken``) and
    recurring-ical-events swaps an end that precedes its start; we prefer to
    surface such objects as :class:`IcsError` rather than guess.
    """
    uid = _text(event, "UID")
    if "DTSTART" not in event:
        raise IcsError("VEVENT without DTSTART", uid=uid)
    for name in ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID"):
        prop = event.get(name)
        if isinstance(prop, icalendar.vBroken):
            raise IcsError(f"unparseable {name} {str(prop)!r}", uid=uid)
    if "DTEND" in event and "DURATION" in event:
        raise IcsError("VEVENT with both DTEND and DURATION", uid=uid)
    start = event["DTSTART"].dt
    if "DTEND" in event:
        end = event["DTEND"].dt
        if isinstance(start, datetime) != isinstance(end, datetime):
            raise IcsError("DTSTART and DTEND of different value types", uid=uid)
        if isinstance(start, datetime) and isinstance(end, datetime) and (start.tzinfo is None) != (end.tzinfo is None):
            # floating vs zoned: compare as wall clock, good enough to catch reversal
            start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
        if end < start:
            raise IcsError("DTEND before DTSTART", uid=uid)
    elif "DURATION" in event and event["DURATION"].dt < timedelta(0):
        raise IcsError("negative DURATION", uid=uid)


def _parse(ics_text: str | bytes) -> list[icalendar.Calendar]:
    try:
        calendars = icalendar.Calendar.from_ical(ics_text, multiple=True)
    except (ValueError, IndexError, KeyError) as exc:
        raise IcsError(f"not parseable as iCalendar: {exc}") from exc
    if not calendars:
        raise IcsError("no VCALENDAR in resource")
    for cal in calendars:
        if cal.name != "VCALENDAR":
            raise IcsError(f"top-level component is {cal.name}, not VCALENDAR")
    return calendars


def busy_intervals(
    ics_text: str | bytes,
    window_start: datetime,
    window_end: datetime,
    agent_tz: ZoneInfo,
    own_uids: Container[str] = frozenset(),
) -> list[BusyEvent]:
    """Busy occurrences of one calendar resource that overlap the window.

    Rules (interface, "Calendar behaviour"):

    * busy unless ``TRANSP:TRANSPARENT`` or ``STATUS:CANCELLED`` - checked per
      occurrence, so an override can cancel (or free) a single occurrence;
    * RRULE/RDATE/EXDATE/RECURRENCE-ID expanded by ``recurring-ical-events``
      in the event's own TZID (a weekly 10:00 Paris meeting stays at 10:00
      Paris across the DST change, i.e. moves by an hour in UTC);
    * all-day events block whole days in ``agent_tz``; floating times are
      read in ``agent_tz``;
    * no DTEND: DURATION, else the RFC 5545 defaults (one day for a DATE,
      zero for a DATE-TIME - a zero-length event blocks nothing and is
      dropped);
    * events whose UID is in ``own_uids`` or that carry ``X-BOOKING-ID`` are
      the service's own bookings and are skipped, so they are not counted
      twice.

    Occurrences are returned whole (not clipped to the window), in UTC, sorted
    by start. Raises :class:`IcsError` if the resource is malformed.
    """
    _check_aware("window_start", window_start)
    _check_aware("window_end", window_end)
    if window_end <= window_start:
        return []
    calendars = _parse(ics_text)

    # Querying in the agent's zone is what makes recurring-ical-events compare
    # floating and all-day occurrences as agent-local wall-clock times.
    q_start = window_start.astimezone(agent_tz)
    q_end = window_end.astimezone(agent_tz)
    utc_start = window_start.astimezone(UTC)
    utc_end = window_end.astimezone(UTC)

    result: set[BusyEvent] = set()
    for cal in calendars:
        skipped: set[str] = set()
        for event in cal.walk("VEVENT"):
            uid = _text(event, "UID") or ""
            if uid in own_uids or X_BOOKING_ID in event:
                skipped.add(uid)
                continue
            _validate_event(event)
        try:
            occurrences = recurring_ical_events.of(cal).between(q_start, q_end)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            # Library errors on hostile input (bad RRULE, broken values that
            # only surface during expansion): one malformed resource.
            raise IcsError(f"cannot expand events: {exc}") from exc
        for occ in occurrences:
            uid = _text(occ, "UID") or ""
            if uid in skipped or uid in own_uids or X_BOOKING_ID in occ:
                continue
            if not _is_busy(occ):
                continue
            start = _to_utc(occ["DTSTART"].dt, agent_tz)
            end_prop = occ.get("DTEND")
            end = _to_utc(end_prop.dt, agent_tz) if end_prop is not None else start
            if end <= start or end <= utc_start or start >= utc_end:
                continue
            result.add(BusyEvent(uid=uid, start=start, end=end, summary=_text(occ, "SUMMARY")))
    return sorted(result, key=lambda b: (b.start, b.end, b.uid))


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


def _address(email: str, name: str, **params: str) -> icalendar.vCalAddress:
    addr = icalendar.vCalAddress(f"mailto:{email}")
    addr.params["CN"] = name
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
    objects, so a client that sees both (feed + CalDAV) merges them by UID.
    """
    _check_aware("now", now)
    cal = _calendar("PUBLISH")
    if name:
        cal.add("X-WR-CALNAME", name)
    for spec in specs:
        cal.add_component(_vevent(spec, "PUBLISH", None, now))
    return cal.to_ical()
