"""Issue 18 items 2, 4 and 6 without a browser: the month calendar, the day's times, the chosen-time
summary, the "first available" shortcut, the canonical zone list and the home page.

The clock starts on Monday 30 November 2026, 08:00 Paris (``frozen``): 30 November is the only day
left in November, December is the next month, and the 60-day horizon ends on 29 January.
"""

from __future__ import annotations

import re
from typing import Any

from booking.routes import month_picker
from booking.services import coverage
from tests.pages.forms import hidden, slot_values

SLOT = "2026-12-01T09:00:00+00:00"  # Tuesday 10:00 Paris


def _get(client, token: str, **query: str) -> str:
    response = client.get(f"/book/{token}", query_string={"lang": "en", **query})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _visible_days(html: str) -> list[str]:
    """The days whose times are shown (the others are rendered ``hidden`` for the script)."""
    return re.findall(r'<div class="day" role="group" [^>]*data-day="([0-9-]+)">', html)


def test_the_month_shows_which_days_have_free_times(client, customer):
    html = _get(client, customer["booking_token"], month="2026-12")
    assert '<h3 class="month-title" id="month-title">December 2026</h3>' in html
    # Weeks start on Monday (Babel's week data for "en" and "fr"): 1 December 2026 is a Tuesday.
    first_row = re.search(r"<tbody>\s*<tr>(.*?)</tr>", html, re.S).group(1)
    assert first_row.count("<td></td>") == 1 and '<abbr title="Monday">Mon</abbr></th>' in html
    assert 'aria-label="Tuesday, December 1, free times: 16"' in html
    assert '<span class="day-off">5</span>' in html  # a Saturday: not a link
    assert 'href="?tz=Europe%2FParis&amp;duration=30&amp;month=2026-12&amp;day=2026-12-08#day-slots"' in html
    # The first free day is selected by default, and only its times are visible.
    assert _visible_days(html) == ["2026-12-01"]
    assert 'aria-current="true">1</a>' in html
    french = client.get(f"/book/{customer['booking_token']}?lang=fr&month=2026-12").get_data(as_text=True)
    assert "décembre 2026</h3>" in french and '<abbr title="lundi">lun.</abbr>' in french
    assert re.search(r"<tbody>\s*<tr>\s*<td></td><td><a", french)  # Monday first: 1 December is cell 2


def test_a_day_link_selects_that_day_without_javascript(client, customer):
    html = _get(client, customer["booking_token"], day="2026-12-08")
    assert _visible_days(html) == ["2026-12-08"]
    assert 'aria-current="true">8</a>' in html
    assert hidden(html, "day") == "2026-12-08" and hidden(html, "month") == "2026-12"
    # Every free day of the month is in the page (hidden), so the script can switch days.
    assert "2026-12-31T15:30:00+00:00" in slot_values(html)
    weekend = _get(client, customer["booking_token"], day="2026-12-05")
    assert "No free time on this day." in weekend and _visible_days(weekend) == []


def test_first_available_picks_the_earliest_time(client, customer):
    html = _get(client, customer["booking_token"])
    link = re.search(r'<p class="first-available"><a href="([^"]+)"[^>]*>([^<]+)</a>', html)
    assert link.group(2) == "First available: Monday, November 30, 9:00\u202fAM – 9:30\u202fAM (Paris)"
    href = link.group(1).replace("&amp;", "&")
    assert "start=2026-11-30T08%3A00%3A00%2B00%3A00" in href
    followed = client.get(f"/book/{customer['booking_token']}{href.split('#')[0]}&lang=en").get_data(as_text=True)
    assert 'value="2026-11-30T08:00:00+00:00" checked' in followed
    summary = re.search(r'<span class="choice-text"[^>]*>([^<]+)</span>', followed).group(1)
    assert summary == "Monday, November 30, 9:00\u202fAM – 9:30\u202fAM (Paris)"
    later = _get(client, customer["booking_token"], month="2027-01")
    assert "Go to the first available time" in later and "First available:" not in later


def test_the_chosen_time_is_summarised_beside_the_button_in_the_visitors_zone(client, customer):
    html = _get(client, customer["booking_token"], day="2026-12-01")
    assert "none yet — pick a day, then a time" in html
    response = client.post(
        f"/book/{customer['booking_token']}?lang=en",
        data={
            "csrf_token": hidden(html, "csrf_token"),
            "idempotency_key": hidden(html, "idempotency_key"),
            "tz": "America/New_York",
            "duration": "60",
            "day": "2026-12-01",
            "start": SLOT,
            "name": "",
            "email": "alice@customer.example",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400  # the name is missing: the choice is kept
    assert f'value="{SLOT}" checked' in page and _visible_days(page) == ["2026-12-01"]
    summary = re.search(r'<span class="choice-text"[^>]*>([^<]+)</span>', page).group(1)
    assert summary == "Tuesday, December 1, 4:00\u202fAM – 5:00\u202fAM (New York)"
    french = client.get(
        f"/book/{customer['booking_token']}", query_string={"lang": "fr", "tz": "America/New_York", "start": SLOT}
    ).get_data(as_text=True)
    assert "mardi 1 décembre, 04:00 – 04:30 (New York)" in french


def test_odd_month_day_and_start_values_get_the_page_not_an_error(client, customer):
    token = customer["booking_token"]
    for query in (
        {"start": "9999-12-31T23:59:59-23:59"},
        {"start": "0001-01-01T00:00:00+23:59"},
        {"month": "9999-12", "day": "0001-01-01"},
        {"month": "2026-00", "day": "2026-02-30", "start": "yesterday"},
        {"month": "२०२६-१२"},
    ):
        response = client.get(f"/book/{token}", query_string=query)
        assert response.status_code == 200, query
        assert "2026-11-30T08:00:00+00:00" in slot_values(response.get_data(as_text=True)) or query.get("month")


def test_one_availability_call_per_page_not_one_per_day(client, customer, monkeypatch):
    calls: list[Any] = []
    real = month_picker.free_slots_for

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[3])  # the window
        return real(*args, **kwargs)

    monkeypatch.setattr(month_picker, "free_slots_for", counted)  # moving a booked call
    monkeypatch.setattr(coverage, "free_slots_for", counted)  # booking: the dedicated agent's (or backup's)
    html = _get(client, customer["booking_token"], month="2026-12")
    assert len(slot_values(html)) > 300 and len(calls) == 1
    start, end = calls[0]
    assert (start.isoformat(), end.isoformat()) == ("2026-11-30T23:00:00+00:00", "2026-12-31T23:00:00+00:00")


def test_the_zone_list_is_canonical_grouped_with_offsets_and_cities(client, customer):
    html = _get(client, customer["booking_token"])
    values = re.findall(r'<option [^>]*value="([^"]+)"', html)
    assert len(values) == len(set(values)) and 380 < len(values) < 450
    for alias in ("Asia/Calcutta", "Europe/Kiev", "US/Eastern", "America/Montreal", "Etc/GMT+5", "EST5EDT"):
        assert alias not in values
    groups = re.findall(r'<optgroup label="([^"]+)">', html)
    assert groups[:2] == ["Europe", "Americas"] and "Indian Ocean" in groups
    assert re.search(
        r'value="Asia/Kolkata">Kolkata, Mumbai, New Delhi, Bengaluru, Chennai — India \(UTC\+05:30\)<', html
    )
    assert re.search(r'value="America/New_York">New York, Washington[^<]* — United States \(UTC-05:00\)<', html)
    assert re.search(r'value="Europe/Paris" selected>Paris, Lyon[^<]* — France \(UTC\+01:00\)<', html)
    # The search words include the country's English name, whatever the page's language.
    french = client.get(f"/book/{customer['booking_token']}?lang=fr").get_data(as_text=True)
    assert re.search(r'<option data-search="america/new_york [^"]*united states" value="America/New_York">', french)
    assert '<optgroup label="Amériques">' in french
    # Old names (Chromium's Intl still says Asia/Calcutta) are search words of their zone, for the script.
    assert re.search(r'<option data-search="asia/kolkata asia/calcutta" value="Asia/Kolkata">', html)
    # An alias in the address selects its zone.
    kolkata = _get(client, customer["booking_token"], tz="Asia/Calcutta")
    assert re.search(r'value="Asia/Kolkata" selected>', kolkata) and "Asia/Kolkata (UTC+05:30)" in kolkata


def test_offsets_in_the_zone_list_follow_the_date(client, customer, frozen):
    from datetime import UTC, datetime

    frozen(datetime(2027, 7, 1, 8, 0, tzinfo=UTC))
    html = _get(client, customer["booking_token"])
    assert re.search(r'value="Europe/Paris" selected>Paris[^<]*\(UTC\+02:00\)<', html)
    assert re.search(r'value="America/New_York">New York[^<]*\(UTC-04:00\)<', html)


def test_manage_page_puts_the_actions_first_and_uses_the_month_picker(client, customer):
    from tests.pages.test_manage_page import _book, _manage_url

    booking = _book(client, customer)
    html = client.get(_manage_url(booking) + "&lang=en&day=2026-12-02").get_data(as_text=True)
    assert html.index('id="cancel-title"') < html.index('id="move-title"') < html.index('class="agent-card"')
    assert html.index('href="#move-title"') < html.index('id="cancel-title"')
    assert _visible_days(html) == ["2026-12-02"] and 'data-form="reschedule-form"' in html
    assert "token=" in re.search(r'id="next-month" href="([^"]+)"', html).group(1)


def test_home_page_says_what_the_service_is_and_links_to_docs_and_sign_in(client):
    response = client.get("/", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Dedicated support booking</h1>" in html
    assert 'href="/api/openapi.json"' in html and 'href="/readme"' in html and 'href="/agent/sign-in"' in html
    readme = client.get("/readme")
    assert readme.status_code == 200 and readme.mimetype == "text/plain"
    assert "BOOKING_DATABASE_URL" in readme.get_data(as_text=True)
