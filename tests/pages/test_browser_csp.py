"""Issue 12 item 5 in Chromium: the booking page works under its Content-Security-Policy.

The policy forbids inline script and style, so the page's behaviour (zone detection, auto-submitting
filters, the booking itself) must come from ``static/booking.js`` alone. Every CSP violation the
browser reports is collected (the ``securitypolicyviolation`` event and the console); a deliberately
injected inline script at the end proves the collector sees violations at all.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.browser import BROWSER_TESTS

pytestmark = BROWSER_TESTS

COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def test_booking_page_runs_under_its_csp_without_violations(browser, live_server, customer):
    from playwright.sync_api import expect

    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="America/New_York")
    ctx.add_init_script(COLLECT_VIOLATIONS)
    console: list[str] = []
    page: Any = ctx.new_page()
    page.on("console", lambda msg: console.append(msg.text))
    try:
        response = page.goto(f"{live_server.url}/book/{customer['booking_token']}?lang=en")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        # booking.js ran: it marks the page and re-renders in the browser's zone (?tz=...).
        expect(page.locator("html")).to_have_class("js")
        page.wait_for_url("**tz=America%2FNew_York**")
        expect(page.locator("#zone-hint")).to_contain_text("America/New York")
        page.get_by_label("60 minutes").check()  # auto-submits the filter form (script)
        page.wait_for_url("**duration=60**")
        page.get_by_role("link", name="Next month").click()
        page.get_by_role("link", name="Tuesday, December 1, free times: 15").click()  # the script: no reload
        page.get_by_label("Tuesday, December 1, 4:00\u202fAM").check()
        page.get_by_label("Your name").fill("Alice Dupont")
        page.get_by_label("Your e-mail address").fill("alice@customer.example")
        page.get_by_role("button", name="Book this call").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your call is booked")

        assert page.evaluate("window.__cspViolations") == []
        assert [m for m in console if "Content Security Policy" in m] == []

        # The control: an inline script is blocked and reported, so the empty lists above mean something.
        page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "document.title = 'inline ran'";
                document.body.appendChild(script);
            }"""
        )
        page.wait_for_function("window.__cspViolations.length > 0")
        assert page.title() != "inline ran"
    finally:
        ctx.close()
