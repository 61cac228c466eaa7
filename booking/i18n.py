"""Languages and locale-aware formatting for the customer pages and e-mails.

Most customers speak French, so French is the fallback; the visitor's choice (``?lang=fr|en``) is
remembered in a cookie and otherwise ``Accept-Language`` decides. Dates are formatted with Babel in an
explicit zone (never the server's): the visitor's on pages, the business or agent zone in e-mails.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from flask import Flask, Response, request, url_for
from flask_babel import Babel, get_locale, refresh
from flask_babel import lazy_gettext as _l

from booking.vocabulary import Topic
from booking.zones import canonical_zones, compiled_zone

LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"
LANG_COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

babel = Babel()
DAY_PATTERNS = {"en": "EEEE, MMMM d", "fr": "EEEE d MMMM"}

# The three purposes of a call (product brief: help, feature training, setup changes), as shown to people.
TOPIC_LABELS: dict[str, Any] = {
    Topic.HELP: _l("Help with a problem or a question"),
    Topic.TRAINING: _l("Training on a feature"),
    Topic.SETUP_CHANGES: _l("Changes to your setup"),
}


def select_locale() -> str:
    """``?lang=`` first (an explicit switch), then the remembered cookie, then Accept-Language."""
    asked = request.args.get("lang")
    if asked in LOCALES:
        return asked
    remembered = request.cookies.get(LANG_COOKIE)
    if remembered in LOCALES:
        return remembered
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE


def current_locale() -> str:
    """The active language code (``fr``/``en``), also outside a request (``force_locale`` in mails)."""
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LOCALE


def remember_locale(response: Response) -> Response:
    """Persist an explicit ``?lang=`` so the next page (and the next visit) keeps the language."""
    asked = request.args.get("lang")
    if asked in LOCALES and request.cookies.get(LANG_COOKIE) != asked:
        response.set_cookie(LANG_COOKIE, asked, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True)
    return response


def switch_url(lang: str) -> str:
    """The current page in another language: same path and query, ``lang`` replaced.

    Pages answer their POSTs at the same path as their GET, so this link works on every page. The
    path is rebuilt from the matched route, never echoed: a crafted ``/\\evil.example/x`` (read by
    browsers as ``//evil.example/x``) on a 404 page must not become a link to another site, so a page
    without a route gets a query-only link.
    """
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    args.append(("lang", lang))
    path = url_for(request.endpoint, **(request.view_args or {})) if request.endpoint else ""
    return f"{path}?{urlencode(args)}"


def format_day(value: date, *, with_year: bool = False) -> str:
    """A day heading such as « mardi 1 décembre » / "Tuesday, December 1"."""
    locale = current_locale()
    if with_year:
        return babel_dates.format_date(value, "full", locale=locale)
    # Babel's skeleton matching abbreviates month and weekday; spell the full pattern out per language.
    return babel_dates.format_date(value, DAY_PATTERNS.get(locale, DAY_PATTERNS["en"]), locale=locale)


def format_time(value: datetime, tz: ZoneInfo) -> str:
    """Wall-clock time of an instant in ``tz``: « 10:00 » / "10:00 AM"."""
    return babel_dates.format_time(value, "short", tzinfo=tz, locale=current_locale())


def format_when(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """« mardi 1 décembre 2026, 10:00 – 10:30 » in ``tz`` (the day of the start)."""
    local = start.astimezone(tz)
    return f"{format_day(local.date(), with_year=True)}, {format_time(start, tz)} – {format_time(end, tz)}"


def zone_label(tz: ZoneInfo, at: datetime) -> str:
    """« New York, UTC-05:00 »: the zone's city in the current language and its offset at ``at``.

    Said beside every time a person reads outside the pages' zone picker (e-mails, reminders, the
    confirmation and manage pages, the .ics description), so a New York contact never mistakes a
    Paris time for their own (issue 18 item 1).
    """
    offset = utc_offset(tz, at)
    if tz.key in {"UTC", "Etc/UTC"}:
        return offset
    city = babel_dates.get_timezone_location(tz, locale=current_locale(), return_city=True)
    return f"{city}, {offset}"


def format_when_zoned(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """:func:`format_when` followed by the zone: « mardi 1 décembre 2026, 06:00 – 06:30 (New York, UTC-05:00) »."""
    return f"{format_when(start, end, tz)} ({zone_label(tz, start)})"


def booking_zone(name: str | None, default: ZoneInfo) -> ZoneInfo:
    """A stored zone name (``bookings.contact_timezone``), or ``default`` for rows without one."""
    if name:
        try:
            return ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return default


def utc_offset(tz: ZoneInfo, at: datetime) -> str:
    """``UTC+01:00`` for ``tz`` at ``at``: shown beside zone names so a visitor can check them."""
    offset = at.astimezone(tz).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


@cache
def zone_groups() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Canonical zones (tzdata's ``zone.tab``, no backward links) grouped by region (cached: tzdata is static)."""
    groups: dict[str, list[str]] = {}
    for entry in canonical_zones():
        groups.setdefault(entry.region, []).append(entry.name)
    return tuple((region, tuple(names)) for region, names in groups.items())


@cache
def _listed_by_content(system: bool) -> dict[bytes, str]:
    by_content: dict[bytes, str] = {}
    for _, names in zone_groups():
        for name in names:
            data = compiled_zone(name, system=system)
            if data is not None:
                by_content.setdefault(data, name)  # first in sorted order
    return by_content


#: Fixed-offset aliases (``Etc/GMT+5``) are matched on these instants: weekly, 2020-2040.
_SAMPLES = tuple(datetime(2020, 1, 1, tzinfo=UTC) + timedelta(weeks=w) for w in range(0, 20 * 53))


@cache
def _listed_name(name: str) -> str:
    listed = {n for _, names in zone_groups() for n in names}
    if name in listed:
        return name
    # A tzdata link (US/Eastern -> America/New_York) has the same compiled file: the system's copy
    # first (what zoneinfo reads), then the bundled tzdata package, which may be newer.
    for system in (True, False):
        data = compiled_zone(name, system=system)
        if data is not None and data in _listed_by_content(system):
            return _listed_by_content(system)[data]
    zone = ZoneInfo(name)
    offsets = [zone.utcoffset(at) for at in _SAMPLES]
    for candidate in ["UTC", *sorted(listed - {"UTC"})]:
        other = ZoneInfo(candidate)
        if all(other.utcoffset(at) == off for at, off in zip(_SAMPLES, offsets, strict=True)):
            return candidate  # the same clock for two decades: Etc/GMT+5 -> America/Atikokan (UTC-5)
    return name


def listed_zone(tz: ZoneInfo) -> ZoneInfo:
    """``tz`` under the name the page's zone ``<select>`` holds (issue 10 item 13).

    The API accepts every IANA name, but the list shows canonical ``Area/City`` zones only: with
    ``US/Eastern``, ``EST5EDT`` or ``Etc/GMT+5`` nothing was selected and the next auto-submit sent
    the first option, Africa/Abidjan. An alias becomes the listed zone with the same compiled rules
    (a tzdata link), or failing that the first listed zone with the same UTC offsets 2020-2040; a
    zone with no equivalent keeps its name.
    """
    name = _listed_name(tz.key)
    return tz if name == tz.key else ZoneInfo(name)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    babel.init_app(app, locale_selector=select_locale)
    # Flask-Babel caches the locale on the app context, which a request reuses when one is already
    # pushed (tests, CLI); start every request from its own headers and cookie.
    app.before_request(refresh)
    app.after_request(remember_locale)
    app.jinja_env.globals.update(
        current_locale=current_locale,
        switch_url=switch_url,
        LOCALES=LOCALES,
    )
