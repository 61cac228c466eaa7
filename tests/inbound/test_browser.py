"""The request page in Debian's Chromium at phone (375 px) and desktop (1280 px) widths: the agent signs
in, opens an e-mail request from the queue, reads the thread (quoted history cut, attachment listed)
and replies; the reply is on the thread and was sent threaded.

Mail comes in through ``ingest_message`` (the SMTP path is tested in test_gateway.py: here the browser
is under test); the outbox is drained by the test, as the scheduler would. SQLite only.
"""

from __future__ import annotations

import os
import shutil
from email.message import EmailMessage

import pytest

from booking import clock
from booking.extensions import db
from booking.inbound.ingest import ingest_message
from booking.models_requests import SupportRequest
from booking.services import outbox
from tests.dashboard.conftest import last_logged_link
from tests.fixtures.browser import BROWSER_TESTS
from tests.inbound.conftest import SUPPORT, mail
from tests.pages.test_browser import SCREENSHOTS, _context, _fits_the_width
from tests.voicemail.conftest import paris

pytestmark = BROWSER_TESTS


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def env_overrides() -> dict[str, str]:
    return {"BOOKING_SUPPORT_EMAIL": SUPPORT, "BOOKING_OUTBOX_INLINE": "false"}


def drain_outbox() -> None:
    db.session.rollback()  # see what the server's threads committed
    outbox.drain(db.session, clock.now())


@pytest.mark.parametrize("width", [375, 1280], ids=["mobile", "desktop"])
def test_the_request_page_in_the_browser(app, browser, live_server, people, frozen, width, tmp_path):
    from playwright.sync_api import expect

    frozen(paris(2026, 12, 1, 10, 0))
    msg: EmailMessage = mail(
        subject="[S2] Invoices are not sent any more",
        text="Since this morning no invoice leaves.\n\nOn Mon, 30 Nov 2026, Support wrote:\n> All fixed\n",
    )
    msg.add_attachment(b"smtp error 451", maintype="text", subtype="plain", filename="mail.log")
    settings = app.extensions["booking.settings"]
    result = ingest_message(db.session, settings, msg.as_bytes(), clock.now(), source="smtp")
    drain_outbox()
    ctx = _context(browser, width, "en-GB", "Europe/Paris")
    page = ctx.new_page()
    try:
        page.goto(f"{live_server.url}/agent/queue")
        page.get_by_label("Your work e-mail address").fill("camille@example.com")
        page.get_by_role("button", name="Send me a sign-in link").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")  # its row is committed
        drain_outbox()
        page.goto(f"{live_server.url}{last_logged_link(app)}")
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{live_server.url}/agent/queue")
        page.get_by_role("link", name="[S2] Invoices are not sent any more").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(f"Request #{result.request_id}")
        thread = page.locator("ol.thread > li")
        expect(thread).to_have_count(1)
        expect(thread.nth(0)).to_contain_text("Since this morning no invoice leaves.")
        expect(thread.nth(0)).not_to_contain_text("All fixed")
        expect(thread.nth(0).get_by_role("link", name="mail.log")).to_be_visible()
        assert _fits_the_width(page)
        page.get_by_label("Your reply").fill("We are on it: the relay refused them. Resent now.")
        page.get_by_role("button", name="Send the reply").click()
        expect(page.get_by_role("status")).to_contain_text("Your reply is on its way")
        expect(thread).to_have_count(2)
        expect(thread.nth(1)).to_contain_text("Resent now.")
        assert _fits_the_width(page)
        shot = tmp_path / f"request-en-{'mobile' if width < 600 else 'desktop'}.png"
        page.screenshot(path=str(shot), full_page=True)
    finally:
        ctx.close()
    drain_outbox()
    request = db.session.get(SupportRequest, result.request_id)
    assert request is not None and request.first_response_at == paris(2026, 12, 1, 10, 0)
    sent = app.extensions["booking.mailer"].sent[-1]
    assert sent["In-Reply-To"] == "<m1@acme.example>" and sent["To"] == "alice@acme.example"
    if os.environ.get("BOOKING_UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SCREENSHOTS / shot.name)
