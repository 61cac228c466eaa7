"""The zone picker's list: canonical IANA zones only, grouped by region, with offsets and major cities.

``zoneinfo.available_timezones()`` holds ~600 names, a third of them backward-compatible links
(Asia/Calcutta → Asia/Kolkata, Europe/Kiev → Europe/Kyiv, US/Eastern → America/New_York): listing
them all showed the same clock twice under two spellings (issue 18 item 4). tzdata's ``zone.tab``
lists each zone a country uses once, under its current name, with the country: that is the list
shown. Aliases stay accepted in ``?tz=`` (``booking.i18n.listed_zone`` maps them onto this list).

Pure data and formatting (no Flask): the caller passes the locale and the instant the offsets are for.
"""

from __future__ import annotations

import importlib.resources
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale

#: Regions in the order the ``<select>`` shows them (the first part of an ``Area/City`` name).
REGIONS = (
    "Europe",
    "America",
    "Africa",
    "Asia",
    "Australia",
    "Pacific",
    "Atlantic",
    "Indian",
    "Antarctica",
    "Arctic",
    "UTC",
)

#: A few more major cities for the busiest zones, so "Washington" or "Mumbai" finds its zone.
MAJOR_CITIES: dict[str, tuple[str, ...]] = {
    "America/New_York": ("Washington", "Boston", "Miami", "Atlanta"),
    "America/Chicago": ("Dallas", "Houston", "Minneapolis"),
    "America/Denver": ("Salt Lake City", "Albuquerque"),
    "America/Phoenix": ("Tucson",),
    "America/Los_Angeles": ("San Francisco", "Seattle", "San Diego"),
    "America/Toronto": ("Montréal", "Ottawa", "Québec"),
    "America/Vancouver": ("Victoria",),
    "America/Mexico_City": ("Guadalajara", "Monterrey"),
    "America/Sao_Paulo": ("Rio de Janeiro", "Brasília"),
    "America/Argentina/Buenos_Aires": ("Córdoba", "Rosario"),
    "America/Bogota": ("Medellín", "Cali"),
    "Europe/London": ("Manchester", "Edinburgh", "Birmingham"),
    "Europe/Paris": ("Lyon", "Marseille", "Toulouse"),
    "Europe/Berlin": ("Munich", "Hamburg", "Frankfurt"),
    "Europe/Brussels": ("Antwerp", "Liège"),
    "Europe/Zurich": ("Geneva", "Basel", "Bern"),
    "Europe/Madrid": ("Barcelona", "Valencia", "Seville"),
    "Europe/Rome": ("Milan", "Naples", "Turin"),
    "Europe/Amsterdam": ("Rotterdam", "The Hague"),
    "Europe/Luxembourg": (),
    "Europe/Kyiv": ("Kharkiv", "Odesa", "Lviv"),
    "Europe/Moscow": ("Saint Petersburg", "Kazan"),
    "Europe/Istanbul": ("Ankara", "Izmir"),
    "Africa/Casablanca": ("Rabat", "Marrakesh"),
    "Africa/Algiers": ("Oran", "Constantine"),
    "Africa/Tunis": ("Sfax",),
    "Africa/Lagos": ("Abuja", "Kinshasa"),
    "Africa/Johannesburg": ("Cape Town", "Durban", "Pretoria"),
    "Africa/Abidjan": ("Dakar", "Accra", "Bamako"),
    "Africa/Cairo": ("Alexandria", "Giza"),
    "Africa/Nairobi": ("Addis Ababa", "Dar es Salaam", "Kampala"),
    "Asia/Kolkata": ("Mumbai", "New Delhi", "Bengaluru", "Chennai"),
    "Asia/Shanghai": ("Beijing", "Shenzhen", "Guangzhou"),
    "Asia/Tokyo": ("Osaka", "Yokohama", "Kyoto"),
    "Asia/Seoul": ("Busan", "Incheon"),
    "Asia/Dubai": ("Abu Dhabi", "Muscat"),
    "Asia/Singapore": (),
    "Asia/Hong_Kong": (),
    "Asia/Jakarta": ("Surabaya", "Bandung"),
    "Asia/Bangkok": ("Hanoi", "Phnom Penh"),
    "Asia/Karachi": ("Lahore", "Islamabad"),
    "Asia/Riyadh": ("Jeddah", "Kuwait City"),
    "Australia/Sydney": ("Canberra", "Newcastle"),
    "Australia/Melbourne": ("Geelong",),
    "Pacific/Auckland": ("Wellington", "Christchurch"),
    "Pacific/Noumea": (),
    "Indian/Reunion": ("Saint-Denis",),
}


@dataclass(frozen=True)
class ZoneEntry:
    """One canonical zone: its IANA name, region, city (as tzdata spells it) and country code."""

    name: str
    region: str
    city: str
    country: str  # ISO 3166 alpha-2, "" for UTC


def _read_zone_tab() -> str:
    """tzdata's ``zone.tab``: the system's copy first (what zoneinfo reads), else the tzdata package's."""
    for root in zoneinfo.TZPATH:
        path = Path(root, "zone.tab")
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return importlib.resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")


@cache
def canonical_zones() -> tuple[ZoneEntry, ...]:
    """Every zone ``zone.tab`` names (once, even if two countries share it) that zoneinfo can load, plus UTC."""
    available = zoneinfo.available_timezones()
    entries: dict[str, ZoneEntry] = {}
    for line in _read_zone_tab().splitlines():
        if not line or line.startswith("#"):
            continue
        country, _coords, name, *_comment = line.split("\t")
        region = name.split("/", 1)[0]
        if name in available and region in REGIONS and name not in entries:
            city = name.rsplit("/", 1)[-1].replace("_", " ")
            entries[name] = ZoneEntry(name, region, city, country)
    entries["UTC"] = ZoneEntry("UTC", "UTC", "UTC", "")
    return tuple(sorted(entries.values(), key=lambda e: (REGIONS.index(e.region), e.city)))


@cache
def canonical_names() -> frozenset[str]:
    return frozenset(entry.name for entry in canonical_zones())


def compiled_zone(name: str, *, system: bool = True) -> bytes | None:
    """The compiled zone file behind ``name``: the system's (where zoneinfo looks first), or tzdata's.

    Two names with the same compiled file are the same zone (a backward link): both the alias list here
    and ``i18n``'s canonicalisation of ``?tz=`` compare zones this way."""
    for root in zoneinfo.TZPATH if system else ():
        path = Path(root, *name.split("/"))
        if path.is_file():
            return path.read_bytes()
    try:
        return importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/")).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return None


@cache
def aliases() -> dict[str, tuple[str, ...]]:
    """Canonical zone → the backward links with the same compiled rules (Asia/Kolkata → Asia/Calcutta).

    Chromium's ``Intl`` still reports some old names (ICU keeps Asia/Calcutta, Europe/Kiev): the page's
    script finds the detected zone in the list through these, and the filter finds « Calcutta »."""
    by_content: dict[bytes, str] = {}
    for entry in canonical_zones():
        data = compiled_zone(entry.name)
        if data is not None:
            by_content.setdefault(data, entry.name)
    found: dict[str, list[str]] = {}
    listed = canonical_names()
    for name in sorted(zoneinfo.available_timezones() - listed):
        data = compiled_zone(name)
        if data is not None and data in by_content:
            found.setdefault(by_content[data], []).append(name)
    return {name: tuple(names) for name, names in found.items()}


def offset_label(tz: ZoneInfo, at: datetime) -> str:
    """``UTC+01:00`` for ``tz`` at ``at``."""
    offset = at.astimezone(tz).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


@dataclass(frozen=True)
class ZoneOption:
    value: str
    label: str  # "New York, Washington, Boston — United States (UTC-05:00)"
    search: str  # lower-case words the filter matches besides the label: name, aliases, English country


@lru_cache(maxsize=64)
def _options(locale: str, hour: datetime) -> tuple[tuple[str, tuple[ZoneOption, ...]], ...]:
    territories = Locale.parse(locale).territories
    english = Locale.parse("en").territories
    groups: dict[str, list[ZoneOption]] = {}
    links = aliases()
    for entry in canonical_zones():
        cities = ", ".join((entry.city, *MAJOR_CITIES.get(entry.name, ())))
        country = territories.get(entry.country, entry.country)
        offset = offset_label(ZoneInfo(entry.name), hour)
        label = f"{cities} — {country} ({offset})" if country else f"{cities} ({offset})"
        # The label is searched too: only what it lacks (the names, the old names, the English country).
        in_english = english.get(entry.country, "")
        words = (entry.name, *links.get(entry.name, ()), in_english if in_english != country else "")
        search = " ".join(w for w in words if w).lower()
        groups.setdefault(entry.region, []).append(ZoneOption(entry.name, label, search))
    return tuple((region, tuple(options)) for region, options in groups.items())


def zone_options(locale: str, at: datetime) -> tuple[tuple[str, tuple[ZoneOption, ...]], ...]:
    """(region, options) for the ``<select>``, labels in ``locale``, offsets as of ``at`` (to the hour:
    offsets change on the hour, and the list is then reused by every request in that hour)."""
    return _options(locale, at.astimezone(UTC).replace(minute=0, second=0, microsecond=0))
