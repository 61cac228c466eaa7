"""The admin console in Debian's Chromium at phone (375 px) and desktop (1280 px) widths (issue 14).

An admin signs in with the e-mailed link, creates an agent and a customer through the forms, opens
the customer's booking page, edits the agent's working hours and sees the page's slots change,
rotates the booking link (the old one answers 404), and reads the audit log. Every page must fit the
width. The outbox is drained by the test, as the scheduler would. SQLite only: the browser is what
is under test. ``BOOKING_UPDATE_SCREENSHOTS=1`` refreshes docs/screenshots/admin-*.png.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import pytest

from booking import clock
from booking.extensions import db
from booking.services import outbox
from tests.dashboard.conftest import last_logged_link
from tests.fixtures.browser import BROWSER_TESTS
from tests.pages.test_browser import SCREENSHOTS, _context, _fits_the_width

pytestmark = BROWSER_TESTS

TUESDAY_10 = "2026-12-01T09:00:00+00:00"  # 10:00 Paris
TUESDAY_9 = "2026-12-01T08:00:00+00:00"  # 09:00 Paris


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def env_overrides() -> dict[str, str]:
    return {"BOOKING_OUTBOX_INLINE": "false"}


def drain_outbox() -> None:
    db.session.rollback()  # see what the server's threads committed
    outbox.drain(db.session, clock.now())


def tuesday_slots(page: Any) -> list[str]:
    values = page.eval_on_selector_all("input[name=start]", "inputs => inputs.map(i => i.value)")
    return [v for v in values if v.startswith("2026-12-01")]


def shoot(page: Any, name: str, width: int) -> None:
    assert _fits_the_width(page), name
    if os.environ.get("BOOKING_UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SCREENSHOTS / f"admin-{name}-{'mobile' if width < 600 else 'desktop'}.png"), full_page=True
        )


@pytest.mark.parametrize("width", [375, 1280], ids=["mobile", "desktop"])
def test_the_admin_console_in_the_browser(app, browser, live_server, make_agent, frozen, width):
    from playwright.sync_api import expect

    make_agent(slug="boss", name="Bea Boss", email="boss@example.com", admin=True)
    ctx = _context(browser, width, "en-GB", "Europe/Paris")
    page = ctx.new_page()
    base = live_server.url
    try:
        page.goto(f"{base}/agent/sign-in")
        page.get_by_label("Your work e-mail address").fill("boss@example.com")
        page.get_by_role("button", name="Send me a sign-in link").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
        drain_outbox()
        page.goto(f"{base}{last_logged_link(app)}")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Admin console").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Agents")

        # A new agent through the form: a typo is refused with the form kept, then fixed.
        page.locator("#slug").fill("camille")
        page.locator("#name").fill("Camille Martin")
        page.locator("#email").fill("camille@example.com")
        page.locator("#phone").fill("0612")
        page.get_by_role("button", name="Add the agent").click()
        expect(page.locator("#form-error")).to_contain_text("international format")
        expect(page.locator("#name")).to_have_value("Camille Martin")
        page.locator("#phone").fill("+33 1 40 00 00 11")
        page.get_by_role("button", name="Add the agent").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Camille Martin")
        expect(page.get_by_role("status")).to_have_text("Created.")

        # A customer of hers.
        page.get_by_role("link", name="Customers").click()
        page.locator("#name").fill("Acme Industries")
        page.locator("#agent").select_option("camille")
        page.locator("#phones").fill("06 12 34 56 99")
        page.locator("#emails").fill("it@acme.example")
        page.get_by_role("button", name="Add the customer").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Acme Industries")
        old_link = page.locator("#booking-url").input_value()
        assert old_link.startswith("http://booking.test/book/")  # BOOKING_PUBLIC_URL of the tests
        old_link = base + urlsplit(old_link).path
        expect(page.get_by_role("button", name="Copy the link")).to_be_visible()  # shown by the script
        shoot(page, "customer", width)

        # The booking page offers the business hours; after the edit, only Tuesday 09:00-10:00.
        booking = ctx.new_page()
        booking.goto(f"{old_link}?day=2026-12-01")  # the month view lists the chosen day's times
        assert TUESDAY_10 in tuesday_slots(booking)
        page.goto(f"{base}/admin/agents/camille")
        page.locator("#business_hours").uncheck()
        page.locator("#hours-tue").fill("09:00-10:00")
        for day in ("mon", "wed", "thu", "fri"):
            page.locator(f"#hours-{day}").fill("09:00-12:00, 13:00-17:00")
        page.get_by_role("button", name="Save the working hours").click()
        expect(page.get_by_role("status")).to_contain_text("Working hours saved")
        expect(page.locator("#hours-tue")).to_have_value("09:00-10:00")
        shoot(page, "agent", width)
        booking.reload()
        assert tuesday_slots(booking) == [TUESDAY_9, "2026-12-01T08:30:00+00:00"]

        # Rotate the link: the old one is dead at once, the new one works.
        page.goto(f"{base}/admin/customers")
        page.get_by_role("link", name="Acme Industries").click()
        page.get_by_role("button", name="Issue a new link (the old one stops working)").click()
        expect(page.get_by_role("status")).to_contain_text("New booking link issued")
        new_link = base + urlsplit(page.locator("#booking-url").input_value()).path
        assert new_link != old_link
        assert booking.goto(old_link).status == 404
        assert booking.goto(new_link).status == 200
        booking.close()

        # The audit log names every step, newest first.
        page.get_by_role("link", name="Audit log").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
        actions = page.locator("ul.audit li strong").all_inner_texts()
        # ... down to the admin's own creation through the API (actor "api").
        assert actions == [
            "rotate_booking_link",
            "update_working_hours",
            "create_customer",
            "create_agent",
            "create_agent",
        ]
        expect(page.locator("ul.audit li").last).to_contain_text("agent:boss · api")
        shoot(page, "audit", width)
    finally:
        ctx.close()
