"""The queue page in Debian's Chromium at phone (375 px) and desktop (1280 px) widths: sign in with the
e-mailed link, see two voicemails' requests soonest due first with their countdowns, answer one and
escalate the other.

The outbox is drained by the test, as the scheduler would (``BOOKING_OUTBOX_INLINE=false``), so the
sign-in mail is there when the test reads it, without polling or sleeping. SQLite only: the browser is
what is under test.
"""

from __future__ import annotations

import os
import shutil

import pytest

from booking import clock
from booking.extensions import db
from booking.models_requests import SupportRequest
from booking.services import outbox
from tests.dashboard.conftest import last_logged_link
from tests.fixtures.browser import BROWSER_TESTS
from tests.pages.test_browser import SCREENSHOTS, _context, _fits_the_width
from tests.voicemail.conftest import paris

pytestmark = BROWSER_TESTS


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def env_overrides(fake_twilio) -> dict[str, str]:
    return {**fake_twilio.env(), "BOOKING_OUTBOX_INLINE": "false"}


def drain_outbox() -> None:
    db.session.rollback()  # see what the server's threads committed
    outbox.drain(db.session, clock.now())


@pytest.mark.parametrize("width", [375, 1280], ids=["mobile", "desktop"])
def test_the_queue_in_the_browser(app, browser, live_server, line, voicemail, api, frozen, width, tmp_path):
    from playwright.sync_api import expect

    voicemail(paris(2026, 11, 30, 10, 0), "CA1")  # due 12:00
    voicemail(paris(2026, 11, 30, 10, 40), "CA2")  # due 12:40
    first, second = (r["id"] for r in api("GET", "/api/requests")["requests"])
    frozen(paris(2026, 11, 30, 11, 50))
    drain_outbox()
    ctx = _context(browser, width, "en-GB", "Europe/Paris")
    page = ctx.new_page()
    try:
        page.goto(f"{live_server.url}/agent/queue")
        page.get_by_label("Your work e-mail address").fill("camille@example.com")
        page.get_by_role("button", name="Send me a sign-in link").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
        drain_outbox()
        page.goto(f"{live_server.url}{last_logged_link(app)}")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="Your queue").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your queue")

        items = page.locator("ul.queue > li")
        expect(items).to_have_count(2)
        expect(items.nth(0)).to_have_id(f"request-{first}")  # soonest due first
        expect(page.locator(f"#request-{first} .badge.clock")).to_have_text("Due soon")
        expect(page.locator(f"#request-{first} .countdown")).to_have_text("· 10 min left")
        expect(page.locator(f"#request-{second} .badge.clock")).to_have_text("On time")
        expect(page.locator(f"#request-{second} .countdown")).to_have_text("· 50 min left")
        assert _fits_the_width(page)
        shot = tmp_path / f"queue-en-{'mobile' if width < 600 else 'desktop'}.png"
        page.screenshot(path=str(shot), full_page=True)

        page.locator(f"#request-{first}").get_by_role("button", name="I have answered").click()
        expect(page.get_by_role("status")).to_have_text("First response recorded.")
        expect(page.locator(f"#request-{first}")).to_have_count(0)

        card = page.locator(f"#request-{second}")
        card.get_by_text("Escalate to a senior agent").click()
        card.get_by_label("What the senior agent should know").fill("Replication lag on their side")
        card.get_by_role("button", name="Escalate", exact=False).last.click()
        expect(page.get_by_role("status")).to_contain_text("Handed to the senior team")
        expect(page.locator("ul.queue > li")).to_have_count(0)
        assert _fits_the_width(page)
    finally:
        ctx.close()

    db.session.rollback()
    answered, escalated = db.session.get(SupportRequest, first), db.session.get(SupportRequest, second)
    assert answered.status == "responded" and answered.first_response_at == paris(2026, 11, 30, 11, 50)
    assert (escalated.team, escalated.agent_id) == ("senior", None)
    assert "Replication lag on their side" in escalated.notes
    if os.environ.get("BOOKING_UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SCREENSHOTS / shot.name)


@pytest.mark.parametrize("width", [375, 1280], ids=["mobile", "desktop"])
def test_the_sla_report_in_the_browser(app, browser, live_server, line, voicemail, api, make_agent, frozen, width):
    """An admin signs in, opens the report from the queue: the chart and both tables fit the width."""
    from playwright.sync_api import expect

    from booking.models import Agent

    make_agent(slug="ada", name="Ada Admin", phone="+33140000009", email="ada@example.com")
    db.session.query(Agent).filter_by(slug="ada").update({"admin": True})
    db.session.commit()
    voicemail(paris(2026, 11, 30, 10, 0), "CA1")
    voicemail(paris(2026, 11, 30, 16, 50), "CA2")
    first = api("GET", "/api/requests")["requests"][0]["id"]
    frozen(paris(2026, 11, 30, 11, 0))
    api("POST", f"/api/requests/{first}/respond")
    frozen(paris(2026, 12, 1, 11, 0))  # the second one is late by now
    drain_outbox()
    ctx = _context(browser, width, "en-GB", "Europe/Paris")
    page = ctx.new_page()
    try:
        page.goto(f"{live_server.url}/agent/sign-in")
        page.get_by_label("Your work e-mail address").fill("ada@example.com")
        page.get_by_role("button", name="Send me a sign-in link").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
        drain_outbox()
        page.goto(f"{live_server.url}{last_logged_link(app)}")
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{live_server.url}/agent/queue?scope=all")
        page.get_by_role("link", name="SLA report").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("SLA report")
        page.get_by_label("Month", exact=True).fill("2026-11")  # the page opens on the current month, December
        page.get_by_role("button", name="Show").click()
        expect(page.locator("figure.chart svg")).to_have_count(1)
        expect(page.locator("#report-customers tbody tr")).to_have_count(1)
        expect(page.locator("#report-customers tbody th")).to_have_text("Acme SA")
        assert _fits_the_width(page)
        if os.environ.get("BOOKING_UPDATE_SCREENSHOTS"):  # the README's picture
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            name = f"report-en-{'mobile' if width < 600 else 'desktop'}.png"
            page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
    finally:
        ctx.close()
