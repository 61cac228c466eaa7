"""End to end in Debian's Chromium: ask for a link, sign in with it, move one callback and mark another
done, at phone (375 px) and desktop widths.

The outbox is not drained inline here (``BOOKING_OUTBOX_INLINE=false``): the test drains it itself, as
the scheduler would, so the mail is there when the test looks for it, without polling or sleeping.
SQLite only, like tests/pages/test_browser.py: the browser is what is under test.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import UTC, datetime

import pytest

from booking import clock
from booking.extensions import db
from booking.models import Callback
from booking.services import outbox
from tests.dashboard.conftest import last_logged_link, paris
from tests.dashboard.test_dashboard import book
from tests.fixtures.browser import BROWSER_TESTS
from tests.pages.test_browser import SCREENSHOTS, _context, _fits_the_width

pytestmark = BROWSER_TESTS


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def env_overrides() -> dict[str, str]:
    return {"BOOKING_OUTBOX_INLINE": "false"}


def drain_outbox() -> None:
    db.session.rollback()  # see what the server's threads committed
    outbox.drain(db.session, clock.now())


@pytest.mark.parametrize("width", [375, 1280], ids=["mobile", "desktop"])
def test_sign_in_with_the_link_then_move_and_complete_callbacks(
    app, client, browser, live_server, team, leave_voicemail, width, tmp_path
):
    from playwright.sync_api import expect

    book(client, team["acme"], paris(2026, 12, 1, 10, 0))
    first = leave_voicemail(team["acme"], "CA1")
    second = leave_voicemail(team["acme"], "CA3", severity=4, duration=95)
    drain_outbox()  # the voicemail notifications (logged: no SMTP or Twilio configured here)
    ctx = _context(browser, width, "fr-FR", "Europe/Paris")
    page = ctx.new_page()
    try:
        page.goto(f"{live_server.url}/agent")
        expect(page.get_by_role("heading", level=1)).to_have_text("Connexion agent")  # sent to sign in
        page.get_by_label("Votre adresse e-mail professionnelle").fill("camille@vendor.example")
        page.get_by_role("button", name="M’envoyer un lien de connexion").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Consultez votre boîte mail")
        assert _fits_the_width(page)

        drain_outbox()
        path = last_logged_link(app)
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter en tant que Camille Martin")
        page.get_by_role("button", name="Se connecter").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Camille Martin")
        expect(page.locator(f"#callback-{first.id} .due")).to_have_text("lundi 30 novembre, 09:00")
        expect(page.locator("#calls .item-title")).to_have_text("mardi 1 décembre 2026, 10:00 – 10:30")
        assert _fits_the_width(page)
        shot = tmp_path / f"dashboard-fr-{'mobile' if width < 600 else 'desktop'}.png"
        page.screenshot(path=str(shot), full_page=True)

        card = page.locator(f"#callback-{second.id}")
        card.get_by_text("Déplacer l’échéance").click()
        card.get_by_label("Nouvelle échéance (Europe/Paris)").fill("2026-12-02T14:00")
        card.get_by_role("button", name=re.compile(r"^Déplacer\b")).click()
        expect(page.get_by_role("status")).to_have_text("Rappel déplacé. Le créneau réservé dans votre agenda a suivi.")
        expect(page.locator(f"#callback-{second.id} .due")).to_contain_text("mercredi 2 décembre, 14:00")

        page.locator(f"#callback-{first.id}").get_by_role("button", name="Marquer comme fait").click()
        expect(page.get_by_role("status")).to_have_text("Rappel marqué comme fait.")
        expect(page.locator(f"#callback-{first.id}")).to_have_count(0)
        assert _fits_the_width(page)
    finally:
        ctx.close()

    db.session.rollback()
    assert db.session.get(Callback, first.id).status == "done"
    assert db.session.get(Callback, second.id).due_at == datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    if os.environ.get("BOOKING_UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SCREENSHOTS / shot.name)
