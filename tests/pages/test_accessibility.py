"""axe-core in Debian's Chromium on every page: no violation (issue 18: "keep it that way, and test it").

axe-core is vendored (tests/vendor/axe.min.js, MPL-2.0, see tests/vendor/README.md): no CDN, no
network. The pages forbid inline script (CSP), so the contexts bypass CSP to inject it; CSP itself is
covered by test_browser_csp.py. Every page is checked in French and English, the booking page also at
phone width and in its states (month view, a day picked, form errors). The last test plants a missing
``alt`` to prove the check reports violations at all.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import last_logged_link, leave_voicemail, team  # noqa: F401 (fixtures)
from tests.fixtures.browser import BROWSER_TESTS
from tests.pages.test_browser import TEXT

pytestmark = BROWSER_TESTS

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe.min.js"

RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map(v => v.id + ": " + v.help + " — " + v.nodes.map(n => n.target.join(" ")).join(", "));
}"""


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def violations(page: Any) -> list[str]:
    page.wait_for_load_state("load")  # after a click that navigates: the whole page, not a parsed half
    page.add_script_tag(path=str(AXE))
    return list(page.evaluate(RUN_AXE))


def _context(browser: Any, width: int, locale: str) -> Any:
    return browser.new_context(
        viewport={"width": width, "height": 900},
        locale=locale,
        timezone_id="Europe/Paris",
        bypass_csp=True,
        is_mobile=width < 600,
        has_touch=width < 600,
    )


@pytest.mark.parametrize(("width", "lang"), [(1280, "fr"), (1280, "en"), (375, "fr"), (320, "en")])
def test_customer_pages_have_no_axe_violations(browser, live_server, customer, width, lang):
    from playwright.sync_api import expect

    t = TEXT[lang]
    ctx = _context(browser, width, lang)
    page = ctx.new_page()
    found: dict[str, list[str]] = {}
    try:
        page.goto(f"{live_server.url}/?lang={lang}")
        found["home"] = violations(page)
        page.goto(f"{live_server.url}/book/{customer['booking_token']}?month=2026-12")
        found["month view"] = violations(page)
        page.get_by_role("link", name=t["day_2"], exact=True).click()
        page.locator(".day:not([hidden]) input[name=start]").first.check()
        found["day selected"] = violations(page)
        page.get_by_role("button", name=t["book"]).click()  # no name, no e-mail: the errors page
        expect(page.locator(".notice.error")).to_be_visible()
        found["form errors"] = violations(page)
        page.get_by_label(t["name"]).fill("Alice Dupont")
        page.get_by_label(t["email"]).fill("alice@customer.example")
        page.get_by_role("button", name=t["book"]).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(t["booked"])
        found["confirmation"] = violations(page)
        page.get_by_role("link", name=t["manage"]).first.click()
        found["manage"] = violations(page)
        page.get_by_text(t["cancel_open"]).click()
        page.get_by_role("button", name=t["cancel"]).click()
        expect(page.get_by_role("status")).to_contain_text(t["cancelled"])
        found["manage, cancelled"] = violations(page)
        page.goto(f"{live_server.url}/book/not-a-token")
        found["error page"] = violations(page)
    finally:
        ctx.close()
    assert {name: v for name, v in found.items() if v} == {}
    assert len(found) == 8


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_agent_pages_have_no_axe_violations(app, browser, live_server, team, leave_voicemail, lang):  # noqa: F811
    from playwright.sync_api import expect

    leave_voicemail(team["acme"], "CA1")
    ctx = _context(browser, 1280, lang)
    page = ctx.new_page()
    found: dict[str, list[str]] = {}
    try:
        page.goto(f"{live_server.url}/agent/sign-in?lang={lang}")
        found["sign-in"] = violations(page)
        page.locator("input[type=email]").fill("camille@vendor.example")
        page.locator("form button[type=submit]").click()
        expect(page.locator("h1")).not_to_have_text(re.compile("^$"))
        found["link sent"] = violations(page)
        page.goto(f"{live_server.url}{last_logged_link(app)}")
        found["confirm sign-in"] = violations(page)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(re.compile(r"/agent(\?.*)?$"))
        found["dashboard"] = violations(page)
        page.goto(f"{live_server.url}/agent/queue")
        expect(page.locator(".item")).not_to_have_count(0)
        found["queue"] = violations(page)
    finally:
        ctx.close()
    assert {name: v for name, v in found.items() if v} == {}


def test_the_check_reports_a_planted_violation(browser, live_server):
    ctx = _context(browser, 1280, "en")
    page = ctx.new_page()
    try:
        page.goto(f"{live_server.url}/")
        page.evaluate("""() => { const img = document.createElement("img"); img.src = "/static/x.png";
                          document.querySelector("main").appendChild(img); }""")
        found = violations(page)
    finally:
        ctx.close()
    assert any(v.startswith("image-alt:") for v in found), found
