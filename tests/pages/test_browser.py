"""End to end in Debian's Chromium (Playwright, sync API) against the app served by waitress.

Book a slot through the month calendar, add it to the calendar, move it and cancel it, at 320, 375 and
1280 px, in French and English, with JavaScript (the browser's own time zone detected by the page's
script, days switched without a reload) and without (plain links and forms). SQLite only: the database
behaviour is covered by the other tests on both databases; here the browser is what is under test.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from booking.extensions import db
from booking.models import Booking
from tests.fixtures.browser import BROWSER_TESTS

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = BROWSER_TESTS

TEXT = {
    "fr": {
        "title": "Réserver un appel avec Camille Martin",
        "next_month": "Mois suivant",
        "day_1": "mardi 1 décembre, horaires libres : 16",
        "day_2": "mercredi 2 décembre, horaires libres : 16",
        "first_slot": "mardi 1 décembre, 10:00",
        "summary": "mardi 1 décembre, 10:00 – 10:30 (Paris)",
        "topic": "Une formation sur une fonctionnalité",
        "name": "Votre nom",
        "email": "Votre adresse e-mail",
        "book": "Réserver cet appel",
        "booked": "Votre appel est réservé",
        "add": "Ajouter à l’agenda",
        "manage": "Modifier ou annuler",
        "move_slot": "mercredi 2 décembre, 14:00",
        "move": "Déplacer mon appel",
        "moved": "Votre appel a été déplacé.",
        "cancel_open": "Je veux annuler cet appel",
        "cancel": "Oui, annuler mon appel",
        "cancelled": "Votre appel est annulé.",
    },
    "en": {
        "title": "Book a call with Camille Martin",
        "next_month": "Next month",
        "day_1": "Tuesday, December 1, free times: 16",
        "day_2": "Wednesday, December 2, free times: 16",
        "first_slot": "Tuesday, December 1, 4:00\u202fAM",  # 10:00 Paris seen from New York
        "summary": "Tuesday, December 1, 4:00\u202fAM – 4:30\u202fAM (New York)",
        "topic": "Training on a feature",
        "name": "Your name",
        "email": "Your e-mail address",
        "book": "Book this call",
        "booked": "Your call is booked",
        "add": "Add to calendar",
        "manage": "Change or cancel",
        "move_slot": "Wednesday, December 2, 8:00\u202fAM",  # 14:00 Paris
        "move": "Move my call",
        "moved": "Your call has moved.",
        "cancel_open": "I want to cancel this call",
        "cancel": "Yes, cancel my call",
        "cancelled": "Your call is cancelled.",
    },
}


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Browser tests run on SQLite only (see the module docstring)."""
    return sqlite_url


def _context(browser: Any, width: int, locale: str, timezone: str, *, js: bool = True) -> Any:
    height = 900 if width > 600 else 812
    return browser.new_context(
        viewport={"width": width, "height": height},
        locale=locale,
        timezone_id=timezone,
        is_mobile=width < 600,
        has_touch=width < 600,
        accept_downloads=True,
        java_script_enabled=js,
    )


def _fits_the_width(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def _language_switch_fits(page: Any, width: int) -> bool:
    """Issue 18 item 6: at 320 px the language switch was cut off at the right edge."""
    boxes = [page.locator(".langs .lang").nth(i).bounding_box() for i in range(2)]
    return all(box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width for box in boxes)


def _pick_a_day(page: Any, t: dict[str, str], day: str, *, js: bool) -> None:
    """Click a day in the month calendar: with JavaScript its times appear without a reload."""
    from playwright.sync_api import expect

    if js:
        page.evaluate("window.__samePage = true")
    page.get_by_role("link", name=t[day], exact=True).click()
    expect(page.get_by_role("link", name=t[day], exact=True)).to_have_attribute("aria-current", "true")
    if js:
        assert page.evaluate("window.__samePage === true"), "changing the day reloaded the page"
        assert "day=2026-12-0" in page.url  # the address follows, for the back button and reloads


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("width", [320, 375, 1280])
def test_book_move_and_cancel_in_the_browser(browser, live_server, customer, width, lang, js, tmp_path):
    from playwright.sync_api import expect

    t = TEXT[lang]
    # French visitors in Paris; English ones start on a French browser in New York and switch language,
    # so the switch and the zone detection (or, without JavaScript, the zone list) are both exercised.
    ctx = _context(browser, width, "fr-FR", "Europe/Paris" if lang == "fr" else "America/New_York", js=js)
    page = ctx.new_page()
    try:
        page.goto(f"{live_server.url}/book/{customer['booking_token']}")
        assert _language_switch_fits(page, width)
        if lang == "en":
            page.get_by_role("link", name="English").click()
            if not js:
                page.get_by_label("Your time zone").select_option("America/New_York")
                page.get_by_role("button", name="Show the times").click()
            expect(page.locator("#zone-hint")).to_contain_text("America/New York (UTC-05:00)")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.get_by_role("heading", level=1)).to_have_text(t["title"])
        assert _fits_the_width(page) and _language_switch_fits(page, width)

        page.get_by_role("link", name=t["next_month"]).click()
        if js:  # the page reloaded for the next month: the focus is back on the link that was used
            expect(page.get_by_role("link", name=t["next_month"])).to_be_focused()
        _pick_a_day(page, t, "day_2", js=js)
        _pick_a_day(page, t, "day_1", js=js)
        # The keyboard moves between slots like any radio group.
        first = page.get_by_label(t["first_slot"])
        first.check()
        first.press("ArrowRight")
        first.focus()
        page.keyboard.press("Space")
        expect(first).to_be_checked()
        if js:
            expect(page.locator("#choice-summary")).to_contain_text(t["summary"])
        page.get_by_label(t["topic"]).check()
        page.get_by_label(t["name"]).fill("Alice Dupont")
        page.get_by_label(t["email"]).fill("alice@customer.example")
        page.get_by_role("button", name=t["book"]).click()

        expect(page.get_by_role("heading", level=1)).to_have_text(t["booked"])
        assert _fits_the_width(page)
        with page.expect_download() as download_info:
            page.get_by_role("link", name=t["add"]).click()
        ics = Path(download_info.value.path()).read_bytes()
        assert b"METHOD:REQUEST" in ics and b"DTSTART:20261201T090000Z" in ics

        page.get_by_role("link", name=t["manage"]).first.click()
        page.get_by_role("link", name=t["next_month"]).click()
        _pick_a_day(page, t, "day_2", js=js)
        page.get_by_label(t["move_slot"]).check()
        page.get_by_role("button", name=t["move"]).click()
        expect(page.get_by_role("status")).to_contain_text(t["moved"])
        assert _fits_the_width(page)

        page.get_by_text(t["cancel_open"]).click()
        page.get_by_role("button", name=t["cancel"]).click()
        expect(page.get_by_role("status")).to_contain_text(t["cancelled"])
    finally:
        ctx.close()

    db.session.rollback()  # end this thread's read snapshot; the server wrote in its own threads
    booking = db.session.query(Booking).one()
    assert (booking.status, booking.sequence, booking.locale) == ("cancelled", 2, lang)


@pytest.mark.parametrize(("width", "name"), [(1280, "booking-fr-desktop.png"), (375, "booking-fr-mobile.png")])
def test_booking_page_screenshots_in_french(browser, live_server, customer, width, name, tmp_path):
    """Screenshots for the README; ``BOOKING_UPDATE_SCREENSHOTS=1`` refreshes the committed copies."""
    ctx = _context(browser, width, "fr-FR", "Europe/Paris")
    page = ctx.new_page()
    try:
        page.goto(f"{live_server.url}/book/{customer['booking_token']}?month=2026-12")
        page.get_by_role("link", name="mardi 8 décembre, horaires libres : 16").click()
        page.get_by_label("mardi 8 décembre, 10:30").check()
        page.get_by_label("Votre nom").fill("Alice Dupont")
        page.get_by_label("Votre adresse e-mail").fill("alice@customer.example")
        page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
        shot = tmp_path / name
        # The whole page: the month view keeps it short (it was 3,778 px tall on desktop, 7,206 on a phone).
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height < (2400 if width > 600 else 3100), height  # with the phone and call-method fields
        page.screenshot(path=str(shot), full_page=True)
    finally:
        ctx.close()
    assert shot.stat().st_size > 10_000
    if os.environ.get("BOOKING_UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SCREENSHOTS / name)


def test_zone_and_length_change_the_times_at_once(browser, live_server, customer):
    from playwright.sync_api import expect

    ctx = _context(browser, 1280, "en-GB", "Europe/Paris")
    page = ctx.new_page()
    try:
        page.goto(f"{live_server.url}/book/{customer['booking_token']}?day=2026-12-02")
        page.get_by_label("Your time zone").select_option("Asia/Tokyo")
        expect(page.locator("#zone-hint")).to_contain_text("Asia/Tokyo (UTC+09:00)")
        expect(page.locator("#tz")).to_be_focused()  # issue 18 item 6: focus stays on the control used
        # A day picked without a reload is kept when the length changes (the filters' hidden day follows).
        page.get_by_role("link", name="Thursday, December 3, free times: 16").click()
        page.get_by_label("60 minutes").check()
        expect(page.get_by_label("60 minutes")).to_be_checked()
        expect(page.get_by_label("60 minutes")).to_be_focused()
        assert "duration=60" in page.url and "day=2026-12-03" in page.url
        page.get_by_role("link", name="Wednesday, December 2, free times: 15").click()
        # 16:00-17:00 Paris is the day's last hour-long call: 00:00 the next day in Tokyo.
        expect(page.get_by_label("Wednesday, December 2, 12:00\u202fAM")).to_have_count(1)
        expect(page.get_by_label("Wednesday, December 2, 12:30\u202fAM")).to_have_count(0)
    finally:
        ctx.close()


def test_booking_works_with_javascript_disabled(browser, live_server, customer):
    from playwright.sync_api import expect

    ctx = browser.new_context(viewport={"width": 375, "height": 812}, locale="fr-FR", java_script_enabled=False)
    page = ctx.new_page()
    try:
        page.goto(f"{live_server.url}/book/{customer['booking_token']}")
        page.get_by_label("60 minutes").check()
        page.get_by_role("button", name="Afficher les horaires").click()
        page.get_by_role("link", name="Mois suivant").click()
        page.get_by_role("link", name="jeudi 3 décembre, horaires libres : 15").click()
        expect(page.locator("#choice-summary")).to_contain_text("aucun pour l’instant")
        page.get_by_label("jeudi 3 décembre, 15:00").check()
        page.get_by_label("Votre nom").fill("Alice Dupont")
        page.get_by_label("Votre adresse e-mail").fill("alice@customer.example")
        page.get_by_role("button", name="Réserver cet appel").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Votre appel est réservé")
        expect(page.locator(".when")).to_have_text("jeudi 3 décembre 2026, 15:00 – 16:00 (Paris, UTC+01:00)")
    finally:
        ctx.close()


def test_the_zone_list_is_searchable_and_lists_the_detected_zone_first(browser, live_server, customer):
    from playwright.sync_api import expect

    ctx = _context(browser, 1280, "en-GB", "Asia/Kolkata")
    page = ctx.new_page()
    try:
        page.goto(f"{live_server.url}/book/{customer['booking_token']}?lang=en&tz=Europe/Paris")
        first = page.locator("#tz optgroup").first
        expect(first).to_have_attribute("label", "Detected on this device")
        expect(first.locator("option")).to_have_attribute("value", "Asia/Kolkata")
        search = page.get_by_label("Search for a city, country or zone")
        search.fill("mumbai")
        expect(page.locator("#tz-filter-count")).to_have_text("Zones found: 1")
        visible = page.eval_on_selector_all(
            "#tz optgroup:not([data-detected]) option", "els => els.filter(e => !e.hidden).map(e => e.value)"
        )
        assert visible == ["Asia/Kolkata"]
        search.fill("united states")
        count = int(re.sub(r"\D", "", page.locator("#tz-filter-count").inner_text()))
        assert 20 < count < 40
        search.fill("mumbai")
        search.press("Enter")  # picks the first match and shows its times; the focus comes back here
        page.wait_for_url("**tz=Asia%2FKolkata**")
        expect(page.locator("#zone-hint")).to_contain_text("Asia/Kolkata (UTC+05:30)")
        expect(page.get_by_label("Search for a city, country or zone")).to_be_focused()
    finally:
        ctx.close()


def test_first_available_picks_the_time_without_a_reload(browser, live_server, customer):
    from playwright.sync_api import expect

    ctx = _context(browser, 375, "en-GB", "Europe/Paris")
    page = ctx.new_page()
    try:
        page.goto(f"{live_server.url}/book/{customer['booking_token']}?lang=en")
        page.evaluate("window.__samePage = true")
        page.get_by_role("link", name=re.compile("^First available")).click()
        expect(page.get_by_label("Monday, November 30, 9:00\u202fAM")).to_be_checked()
        expect(page.get_by_label("Monday, November 30, 9:00\u202fAM")).to_be_focused()
        expect(page.locator("#choice-summary")).to_contain_text(
            "Monday, November 30, 9:00\u202fAM – 9:30\u202fAM (Paris)"
        )
        assert page.evaluate("window.__samePage === true")
    finally:
        ctx.close()
