"""The slot picker of the booking and manage pages: a month calendar, and the chosen day's times.

Issue 18 item 2: three weeks of slots as one list made the page 3,778 px tall. The picker now shows
one month, marks the days that have free times, and lists one day's times. It works without
JavaScript: month and day are plain links (``?month=2026-12``, ``?day=2026-12-08``) the server
renders; the script only swaps the day without a reload, which is why every free day of the month is
rendered (the other days ``hidden``).

One availability call per render, for the month window (never one per day): the same
``free_slots_for`` as the JSON API and the booking service, so what is shown is what can be booked.
The only second call is the default view's: when the current month has nothing left, the next month
is shown instead.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import get_timezone_location
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from booking.config import Settings
from booking.i18n import current_locale, format_day, format_time, utc_offset
from booking.models import Agent, Customer
from booking.services import coverage
from booking.services.availability import free_slots_for, window_for
from booking.services.errors import InvalidInput

#: The zone list's groups (``booking.zones.REGIONS``) as the page names them.
REGION_LABELS = {
    "Europe": _l("Europe"),
    "America": _l("Americas"),
    "Africa": _l("Africa"),
    "Asia": _l("Asia"),
    "Australia": _l("Australia"),
    "Pacific": _l("Pacific Ocean"),
    "Atlantic": _l("Atlantic Ocean"),
    "Indian": _l("Indian Ocean"),
    "Antarctica": _l("Antarctica"),
    "Arctic": _l("Arctic"),
    "UTC": _l("Universal time"),
}


@dataclass(frozen=True)
class SlotChoice:
    value: str  # the ISO instant in UTC the form posts
    label: str  # the wall time in the visitor's zone: « 10:30 »
    summary: str  # « mardi 8 décembre, 10:30 – 11:00 (Paris) », shown beside the submit button


@dataclass(frozen=True)
class DaySlots:
    day: date
    label: str  # « mardi 8 décembre »
    slots: list[SlotChoice]


@dataclass(frozen=True)
class DayCell:
    day: date
    label: str  # « mardi 8 décembre », the link's accessible name with the count of free times
    free: int  # how many times are free that day (0: not a link)
    in_range: bool  # between today and the horizon


@dataclass(frozen=True)
class Picker:
    """What the picker shows: zone, duration, the month grid, the free days and the chosen day."""

    tz: ZoneInfo
    tz_source: str  # query | form | cookie | default (the script only re-detects a default zone)
    offset: str
    duration: int
    month: date  # the first of the month shown
    month_label: str  # « décembre 2026 »
    weekdays: list[tuple[str, str]]  # (abbreviated, full) in the locale's week order
    weeks: list[list[DayCell | None]]
    days: list[DaySlots]  # every day of the month with free times, in order
    selected_day: date | None
    previous_month: date | None
    next_month: date | None
    first_available: tuple[date, SlotChoice] | None  # known when the month shown holds it

    @property
    def tz_name(self) -> str:
        return self.tz.key

    @property
    def selected(self) -> DaySlots | None:
        return next((d for d in self.days if d.day == self.selected_day), None)

    def choice(self, value: str) -> SlotChoice | None:
        """The offered slot with this posted value (to summarise it), if it is in the month shown."""
        return next((s for d in self.days for s in d.slots if s.value == value), None) if value else None


def parse_month(raw: str | None) -> date | None:
    """``2026-12`` → 1 December 2026; ``None`` for anything else."""
    try:
        return date.fromisoformat(f"{raw}-01") if raw and len(raw) == 7 else None
    except ValueError:
        return None


def parse_day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw and len(raw) == 10 else None
    except ValueError:
        return None


def add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def city_of(tz: ZoneInfo, locale: str) -> str:
    """« Paris », « New York »: the zone as people name it, in the page's language."""
    try:
        return str(get_timezone_location(tz, locale=locale, return_city=True))
    except (LookupError, ValueError):
        return tz.key.rsplit("/", 1)[-1].replace("_", " ")


def _month_slots(
    session: Session,
    cfg: Settings,
    agent: Agent,
    month: date,
    tz: ZoneInfo,
    today: date,
    last_day: date,
    duration: timedelta,
    now: datetime,
    exclude_booking_id: int | None,
    customer: Customer | None,
    customer_id: int | None = None,
) -> list[tuple[datetime, datetime, Agent]]:
    """One availability call: the month, cut to [today, horizon].

    Booking (``customer`` given): the dedicated agent's slots, and the backup's while they are away
    (issue 14, ``coverage.offered_slots``); moving a booked call (``customer_id`` its customer's, for
    the cap of open calls, as the reschedule service checks it): it stays with its agent."""
    first = max(month, today)
    end = min(add_months(month, 1), last_day + timedelta(days=1))
    if end <= first:
        return []
    try:
        window = window_for(first, end, tz)
    except InvalidInput:
        return []
    if customer is None:
        free = free_slots_for(session, cfg, agent, window, duration, now, exclude_booking_id, customer_id)
        return [(s, e, agent) for s, e in free]
    return [(x.start, x.end, x.agent) for x in coverage.offered_slots(session, cfg, customer, window, duration, now)]


def build_picker(
    session: Session,
    cfg: Settings,
    agent: Agent,
    tz: ZoneInfo,
    tz_source: str,
    duration: int,
    *,
    month: date | None,
    day: date | None,
    chosen: datetime | None,
    now: datetime,
    exclude_booking_id: int | None = None,
    customer: Customer | None = None,
    customer_id: int | None = None,
) -> Picker:
    """The month to show (asked, else the month of ``day`` / ``chosen``, else the first with free
    time), its free slots grouped by day in ``tz``, and the selected day (asked, else the chosen
    slot's, else the month's first free day)."""
    locale = current_locale()
    length = timedelta(minutes=duration)
    today = now.astimezone(tz).date()
    last_day = (now + cfg.horizon).astimezone(tz).date()
    first_month, last_month = today.replace(day=1), last_day.replace(day=1)
    try:
        chosen_day = chosen.astimezone(tz).date() if chosen is not None else None
    except OverflowError:  # a crafted ?start= such as 9999-12-31T23:59-12:00
        chosen_day = None
    asked = month or (day.replace(day=1) if day else None) or (chosen_day.replace(day=1) if chosen_day else None)
    shown = min(max(asked or first_month, first_month), last_month)
    slots = _month_slots(
        session, cfg, agent, shown, tz, today, last_day, length, now, exclude_booking_id, customer, customer_id
    )
    if not slots and asked is None and shown < last_month:  # nothing left this month: show the next
        shown = add_months(shown, 1)
        slots = _month_slots(
            session, cfg, agent, shown, tz, today, last_day, length, now, exclude_booking_id, customer, customer_id
        )

    city = city_of(tz, locale)
    # Babel is slow (~0.2 ms a call) and a month holds ~350 slots on ~20 days: format each wall time
    # and each day once per page.
    times: dict[time, str] = {}
    day_labels: dict[date, str] = {}

    def wall(instant: datetime) -> str:
        key = instant.astimezone(tz).time()
        if key not in times:
            times[key] = format_time(instant, tz)
        return times[key]

    def day_label(value: date) -> str:
        if value not in day_labels:
            day_labels[value] = format_day(value)
        return day_labels[value]

    grouped: dict[date, list[SlotChoice]] = {}
    for start, _end, who in slots:
        local_day = start.astimezone(tz).date()
        summary = f"{day_label(local_day)}, {wall(start)} – {wall(start + length)} ({city})"
        label = wall(start) if who.id == agent.id else f"{wall(start)} · {who.name}"  # the backup's slot
        if who.id != agent.id:
            summary = f"{summary} · {who.name}"
        grouped.setdefault(local_day, []).append(SlotChoice(start.isoformat(), label, summary))
    days = [DaySlots(d, day_label(d), items) for d, items in grouped.items()]

    if day is not None and day.replace(day=1) == shown:
        selected: date | None = day
    elif chosen_day is not None and chosen_day in grouped:
        selected = chosen_day
    else:
        selected = days[0].day if days else None

    first_available = None
    if shown == first_month or (asked is None and days):
        first_available = (days[0].day, days[0].slots[0]) if days else None

    # The offsets of the slots shown, not of today: a month can straddle a DST change.
    offsets = list(dict.fromkeys(utc_offset(tz, start) for start, _, _ in slots)) or [utc_offset(tz, now)]
    return Picker(
        tz=tz,
        tz_source=tz_source,
        offset=" / ".join(offsets),
        duration=duration,
        month=shown,
        month_label=babel_format_date(shown, "LLLL y", locale=locale),
        weekdays=_weekdays(locale),
        weeks=_weeks(shown, {d.day: len(d.slots) for d in days}, today, last_day, locale, day_label),
        days=days,
        selected_day=selected,
        previous_month=add_months(shown, -1) if shown > first_month else None,
        next_month=add_months(shown, 1) if shown < last_month else None,
        first_available=first_available,
    )


def _weekdays(locale: str) -> list[tuple[str, str]]:
    parsed = Locale.parse(locale)
    names = parsed.days["format"]
    order = [(parsed.first_week_day + i) % 7 for i in range(7)]
    return [(str(names["abbreviated"][i]), str(names["wide"][i])) for i in order]


def _weeks(
    month: date, free: dict[date, int], today: date, last_day: date, locale: str, label: Callable[[date], str]
) -> list[list[DayCell | None]]:
    """The month as weeks (rows) in the locale's week order; ``None`` pads the first and last week."""
    grid = calendar.Calendar(firstweekday=Locale.parse(locale).first_week_day)
    return [
        [DayCell(d, label(d), free.get(d, 0), today <= d <= last_day) if d.month == month.month else None for d in week]
        for week in grid.monthdatescalendar(month.year, month.month)
    ]
