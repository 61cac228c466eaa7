"""Business time: opening hours, business days, public holidays, zones.

Rules are evaluated in the *business* zone (``Europe/Paris`` by default)
because "09:00-17:00 Monday to Friday" is a wall-clock promise made there; all
results are returned in UTC because that is what is stored and compared. Each
day's opening is built from the local date and converted to UTC on its own, so
DST is handled by construction: 09:00 Paris is 08:00 UTC in winter and 07:00
UTC in summer, and no code ever adds "24 hours" to get to the next day.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import holidays as holidays_lib

from booking.core.intervals import Interval, merge, to_utc

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
_DAY_INDEX: dict[str, int] = {
    **{name: i for i, name in enumerate(WEEKDAYS)},
    **{name: i for i, name in enumerate(_FULL_NAMES)},
}
_HOURS_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

# How far to look for the next business day before concluding there is none.
# Two years covers any real holiday calendar; the bound only exists so that a
# misconfiguration fails loudly instead of looping forever.
_MAX_SCAN_DAYS = 800


# --------------------------------------------------------------------------
# Parsing configuration strings
# --------------------------------------------------------------------------


def _parse_clock(hour: str, minute: str, text: str) -> time:
    h, m = int(hour), int(minute)
    if h > 23 or m > 59:
        raise ValueError(f"invalid time in {text!r}: hours must be 00-23 and minutes 00-59")
    return time(h, m)


def parse_hours(text: str) -> tuple[time, time]:
    """Parse ``"HH:MM-HH:MM"`` into ``(opens, closes)``.

    The range may not cross midnight (end must be after start): every
    business rule here assumes one opening per local day, and an overnight
    range would silently belong to two days.
    """
    # ValueError, not TypeError: values come from JSON/config, a wrong type is bad input.
    if not isinstance(text, str):
        message = f"hours must be a string like '09:00-17:00', got {text!r}"
        raise ValueError(message)
    match = _HOURS_RE.match(text)
    if not match:
        raise ValueError(f"invalid hours {text!r}: expected 'HH:MM-HH:MM', e.g. '09:00-17:00'")
    opens = _parse_clock(match[1], match[2], text)
    closes = _parse_clock(match[3], match[4], text)
    if closes <= opens:
        raise ValueError(f"invalid hours {text!r}: end must be after start (ranges cannot cross midnight)")
    return opens, closes


def _day(name: str, text: str) -> int:
    try:
        return _DAY_INDEX[name.strip().lower()]
    except KeyError:
        raise ValueError(f"invalid day {name.strip()!r} in {text!r}: use mon, tue, wed, thu, fri, sat, sun") from None


def parse_days(text: str) -> frozenset[int]:
    """Parse ``"mon-fri"``, ``"mon,tue,thu"``, ``"mon-wed,fri"`` (0 = Monday).

    Ranges must run forward (``"fri-mon"`` is rejected) because a reversed
    range is far more often a typo than a wish to wrap around the weekend.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"invalid days {text!r}: expected e.g. 'mon-fri' or 'mon,tue,thu'")
    days: set[int] = set()
    for part in text.split(","):
        if not part.strip():
            raise ValueError(f"invalid days {text!r}: empty item")
        if "-" in part:
            first, _, last = part.partition("-")
            lo, hi = _day(first, text), _day(last, text)
            if hi < lo:
                raise ValueError(f"invalid day range {part.strip()!r} in {text!r}: must run forward, e.g. mon-fri")
            days.update(range(lo, hi + 1))
        else:
            days.add(_day(part, text))
    return frozenset(days)


# --------------------------------------------------------------------------
# Holidays
# --------------------------------------------------------------------------


class HolidayCalendar:
    """Public holidays of one country/subdivision, expanded year by year.

    A thin wrapper around the ``holidays`` package that (1) only answers for
    real ``date`` objects — a ``datetime`` has no single date until a zone is
    chosen, so passing one is a bug; (2) expands years lazily; and (3) is
    thread-safe: ``holidays`` objects populate a year *after* marking it
    populated, so a second thread can briefly see an empty year. Years are
    therefore built under a lock into a private dict that is then only read.
    """

    def __init__(self, spec: str = "", country: str | None = None, subdiv: str | None = None) -> None:
        self.spec = spec
        self.country = country
        self.subdiv = subdiv
        self._dates: dict[date, str] = {}
        self._years: set[int] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HolidayCalendar({self.spec!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HolidayCalendar):
            return NotImplemented
        return (self.country, self.subdiv) == (other.country, other.subdiv)

    def __hash__(self) -> int:
        return hash((self.country, self.subdiv))

    def _ensure_year(self, year: int) -> None:
        with self._lock:
            if year in self._years:
                return
            if self.country is not None:
                source = holidays_lib.country_holidays(self.country, subdiv=self.subdiv, years=year)
                self._dates.update(source.items())
            self._years.add(year)

    def __contains__(self, day: object) -> bool:
        if isinstance(day, datetime) or not isinstance(day, date):
            raise TypeError(f"HolidayCalendar expects a date, got {day!r}")
        if day.year not in self._years:
            self._ensure_year(day.year)
        return day in self._dates

    def name(self, day: date) -> str | None:
        """The holiday's name, or None on an ordinary day (for messages)."""
        return self._dates.get(day) if day in self else None


def load_holidays(spec: str) -> HolidayCalendar:
    """Build a :class:`HolidayCalendar` from ``""``, ``"FR"`` or ``"FR-57"``.

    The subdivision is matched case-insensitively against what ``holidays``
    supports so that configuration errors surface at start-up with the list
    of valid values, instead of as a ``NotImplementedError`` on first use.
    """
    if not isinstance(spec, str):
        message = f"invalid holiday spec {spec!r}: expected e.g. 'FR' or 'FR-57'"
        raise ValueError(message)
    text = spec.strip()
    if not text:
        return HolidayCalendar("")
    country, _, subdiv_text = text.partition("-")
    country = country.strip().upper()
    subdiv_text = subdiv_text.strip()
    supported = holidays_lib.list_supported_countries()
    if country not in supported:
        raise ValueError(f"unknown holiday country {country!r} in {spec!r}: use an ISO 3166-1 alpha-2 code")
    subdiv: str | None = None
    if subdiv_text:
        by_upper = {s.upper(): s for s in supported[country]}
        subdiv = by_upper.get(subdiv_text.upper(), subdiv_text)
        try:
            holidays_lib.country_holidays(country, subdiv=subdiv)
        except NotImplementedError:
            choices = ", ".join(supported[country]) or "none"
            raise ValueError(
                f"unknown subdivision {subdiv_text!r} of {country} in {spec!r}; supported: {choices}"
            ) from None
    calendar = HolidayCalendar(text, country, subdiv)
    return calendar


# --------------------------------------------------------------------------
# Walking local days
# --------------------------------------------------------------------------


def _wall_clock_range(d: date, opens: time, closes: time, tz: ZoneInfo) -> Interval:
    """``opens``-``closes`` on local date ``d`` in ``tz``, as UTC (each end converted on its own)."""
    return (
        datetime.combine(d, opens, tzinfo=tz).astimezone(UTC),
        datetime.combine(d, closes, tzinfo=tz).astimezone(UTC),
    )


def _local_ranges(
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    hours_on: Callable[[date], Iterable[tuple[time, time]]],
    *,
    clip: bool,
) -> list[Interval]:
    """The UTC ranges ``hours_on(day)`` gives for each local day of ``[start, end)`` that overlap it.

    The one walk over local dates that business hours and agents' working hours share: the day is
    advanced as a *date*, and each range is built from that date's wall clock, so a DST change moves
    the UTC instants, never the promised hours (no "add 24 hours"). With ``clip`` each range is cut
    to ``[start, end)``; in date order, not merged.
    """
    start, end = to_utc(start), to_utc(end)
    result: list[Interval] = []
    if start >= end:
        return result
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    while day <= last:
        for opens, closes in hours_on(day):
            r_start, r_end = _wall_clock_range(day, opens, closes, tz)
            if r_start < end and start < r_end:
                result.append((max(r_start, start), min(r_end, end)) if clip else (r_start, r_end))
        day += timedelta(days=1)
    return result


# --------------------------------------------------------------------------
# The business calendar
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours in one zone, on some weekdays, minus holidays.

    ``opens``/``closes`` are wall-clock times in ``tz``; ``days`` are weekday
    numbers (0 = Monday). Every method accepts aware datetimes in any zone
    and returns UTC.
    """

    tz: ZoneInfo
    opens: time
    closes: time
    days: frozenset[int]
    holidays: HolidayCalendar

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise ValueError("BusinessCalendar: closes must be after opens")
        if not self.days:
            raise ValueError("BusinessCalendar: at least one business day is needed")

    # -- days ---------------------------------------------------------------

    def is_business_day(self, d: date) -> bool:
        """A listed weekday that is not a public holiday (``d`` is a local date)."""
        return d.weekday() in self.days and d not in self.holidays

    def day_opening(self, d: date) -> Interval:
        """The UTC opening of local date ``d`` (whether or not it is a business day).

        Built from the local date so that DST changes move the UTC instant,
        never the wall-clock promise.
        """
        return _wall_clock_range(d, self.opens, self.closes, self.tz)

    def _local_date(self, at: datetime) -> date:
        return to_utc(at).astimezone(self.tz).date()

    def _openings_from(self, d: date) -> Iterator[Interval]:
        """Openings of business days from local date ``d`` onwards (bounded)."""
        for offset in range(_MAX_SCAN_DAYS):
            day = d + timedelta(days=offset)
            if self.is_business_day(day):
                yield self.day_opening(day)
        raise ValueError(f"no business day within {_MAX_SCAN_DAYS} days of {d}: check days and holidays")

    # -- queries ------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Open at ``at``? Opening instant included, closing instant excluded."""
        at = to_utc(at)
        day = at.astimezone(self.tz).date()
        if not self.is_business_day(day):
            return False
        start, end = self.day_opening(day)
        return start <= at < end

    def opening_intervals(self, start: datetime, end: datetime, *, clip: bool = True) -> list[Interval]:
        """UTC openings (one per business day) overlapping ``[start, end)``.

        With ``clip=True`` each is cut to ``[start, end)`` — the open time in
        the range. With ``clip=False`` whole day openings are returned: the
        slot grid is counted from each day's real opening, so it must not be
        shifted by where a query window happens to begin.
        """
        return _local_ranges(start, end, self.tz, self._hours_on, clip=clip)

    def _hours_on(self, d: date) -> tuple[tuple[time, time], ...]:
        return ((self.opens, self.closes),) if self.is_business_day(d) else ()

    def day_openings(self, start: datetime, end: datetime) -> list[Interval]:
        """Unclipped openings overlapping ``[start, end)`` (see opening_intervals)."""
        return self.opening_intervals(start, end, clip=False)

    def next_opening(self, at: datetime) -> datetime:
        """``at`` itself (in UTC) when open, else the start of the next opening.

        Weekends and holidays are skipped because they have no opening.
        """
        at = to_utc(at)
        for o_start, o_end in self._openings_from(self._local_date(at)):
            if at < o_end:
                return max(o_start, at)
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def business_day_length(self) -> timedelta:
        """Wall-clock length of one business day (8 h for 09:00-17:00)."""
        anchor = date(2000, 1, 3)
        return datetime.combine(anchor, self.closes) - datetime.combine(anchor, self.opens)

    def add_business_time(self, at: datetime, delta: timedelta) -> datetime:
        """The instant when ``delta`` of *open* time has elapsed after ``at``.

        Closed time is skipped, so 2 business hours from Friday 16:30 end on
        Monday 10:30. Counting starts at ``next_opening(at)``; when the budget
        runs out exactly at closing time the closing instant is returned
        (15:00 + 2 h = 17:00 the same day, not 09:00 the next). A zero
        ``delta`` therefore gives ``next_opening(at)``. Negative deltas are
        refused: nothing here needs to count backwards.
        """
        if delta < timedelta(0):
            raise ValueError(f"business time delta must not be negative: {delta}")
        at = to_utc(at)
        remaining = delta
        for o_start, o_end in self._openings_from(self._local_date(at)):
            if o_end <= at:
                continue
            begin = max(o_start, at)
            available = o_end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise AssertionError("unreachable")  # pragma: no cover

    def add_business_days(self, at: datetime, n: int) -> datetime:
        """``n`` business days after ``at``: ``n`` full business days of open time.

        Defined as ``add_business_time(next_opening(at), n * business_day_length)``
        so it is the same clock as business hours: Monday 10:00 + 1 business
        day = Tuesday 10:00; Friday 19:00 + 1 = Monday 17:00 (the whole of
        Monday). This matches "1 business day or less" in the SLA better than
        "same time on the next business day", which would grant a customer who
        writes on Friday evening until Tuesday morning.
        """
        if n < 0:
            raise ValueError(f"business days must not be negative: {n}")
        return self.add_business_time(self.next_opening(at), n * self.business_day_length)


def business_calendar(
    tz: str = "Europe/Paris",
    hours: str = "09:00-17:00",
    days: str = "mon-fri",
    holidays: str = "FR",
) -> BusinessCalendar:
    """Build a calendar from configuration strings (the ``BOOKING_*`` settings)."""
    opens, closes = parse_hours(hours)
    return BusinessCalendar(
        tz=ZoneInfo(tz),
        opens=opens,
        closes=closes,
        days=parse_days(days),
        holidays=load_holidays(holidays),
    )


# --------------------------------------------------------------------------
# Agent working hours
# --------------------------------------------------------------------------


def validate_weekly_hours(spec: object) -> dict[str, list[str]]:
    """Check and normalise ``{"mon": ["09:00-12:00", "13:00-17:00"], ...}``.

    Returns keys in weekday order with ranges sorted and reformatted
    (``"9:00-12:00"`` → ``"09:00-12:00"``). A bare string instead of a list is
    refused because iterating it would yield characters. Overlapping ranges on
    one day are refused as a likely typo; touching ranges are allowed.
    A day that is absent (or has an empty list) is a day off.
    """
    if not isinstance(spec, Mapping):
        raise ValueError(f"working hours must be a mapping like {{'mon': ['09:00-17:00']}}, got {type(spec).__name__}")
    parsed: dict[int, list[tuple[time, time]]] = {}
    for key, ranges in spec.items():
        if not isinstance(key, str) or key.strip().lower() not in WEEKDAYS:
            raise ValueError(f"invalid day {key!r} in working hours: use mon, tue, ... sun")
        index = WEEKDAYS.index(key.strip().lower())
        if index in parsed:
            raise ValueError(f"day {key!r} appears twice in working hours")
        if isinstance(ranges, str) or not isinstance(ranges, Sequence):
            raise ValueError(f"working hours for {key!r} must be a list like ['09:00-17:00'], got {ranges!r}")
        try:
            day_ranges = sorted(parse_hours(item) for item in ranges)
        except ValueError as exc:
            raise ValueError(f"working hours for {key!r}: {exc}") from None
        for (_, prev_end), (next_start, _) in itertools.pairwise(day_ranges):
            if next_start < prev_end:
                raise ValueError(f"working hours for {key!r} overlap: {list(ranges)!r}")
        parsed[index] = day_ranges
    return {WEEKDAYS[i]: [f"{a:%H:%M}-{b:%H:%M}" for a, b in parsed[i]] for i in sorted(parsed)}


def weekly_hours_intervals(
    spec: Mapping[str, Sequence[str]] | None,
    tz: ZoneInfo,
    start: datetime,
    end: datetime,
    *,
    clip: bool = False,
) -> list[Interval] | None:
    """Expand weekly working hours in the agent's zone ``tz`` to UTC intervals.

    ``None`` means "no restriction" and is passed through as ``None`` (not
    "never works"), while ``{}`` means the agent works no hours at all.

    Returned intervals are the whole working ranges that overlap
    ``[start, end)``, merged; they are *not* clipped by default because a slot
    starting near the end of a query window may extend past it, and clipping
    would wrongly reject it. ``clip=True`` cuts them to ``[start, end)``.
    """
    if spec is None:
        return None
    normalised = validate_weekly_hours(spec)
    weekly: dict[int, list[tuple[time, time]]] = {
        WEEKDAYS.index(day): [parse_hours(r) for r in ranges] for day, ranges in normalised.items()
    }
    return merge(_local_ranges(start, end, tz, lambda d: weekly.get(d.weekday(), ()), clip=clip))


@cache
def _iana_names() -> frozenset[str]:
    # available_timezones() leaves out posix/, right/ and posixrules; "localtime" is the host's own
    # setting, not a zone name, and would make results depend on the machine.
    return frozenset(available_timezones()) - {"localtime", "Factory"}


def iana_zone(name: str) -> ZoneInfo:
    """The zone for an IANA name such as ``Europe/Paris``; ValueError for anything else.

    ``ZoneInfo`` alone also opens files like ``localtime``, ``posixrules`` or ``right/UTC`` (leap
    seconds) from the system database; none of those is a zone a customer or an operator means.
    """
    if name not in _iana_names():
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Paris)")
    return ZoneInfo(name)
