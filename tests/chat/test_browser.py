"""Issue 17, done when: the widget on a plain page served from another port, and the agent's panel,
side by side in Debian's chromium; messages live both ways; presence follows sign-out and a booked
call (the clock moved by time-machine); out of hours it offers booking and a message that becomes a
request."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from booking.extensions import db
from booking.models_requests import SupportRequest
from tests.chat.conftest import paris
from tests.dashboard.conftest import last_logged_link
from tests.fixtures.browser import BROWSER_TESTS
from tests.pages.test_browser import _context

pytestmark = BROWSER_TESTS

OPEN = paris(2026, 11, 30, 10, 0)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def env_overrides() -> dict[str, str]:
    # Streams re-check presence every second; the agent stays active for the whole (moved) morning.
    return {"BOOKING_CHAT_HEARTBEAT_SECONDS": "1", "BOOKING_CHAT_ACTIVE_MINUTES": "180"}


class Intranet:
    """The customer's own page, on another loopback port: nothing but the snippet."""

    def __init__(self, snippet: str) -> None:
        body = f"<!doctype html><html lang='en'><title>Acme intranet</title><h1>Acme intranet</h1>{snippet}"

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _sign_in(page, app, base: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/agent/sign-in")
    page.get_by_label("Your work e-mail address").fill("camille@vendor.example")
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    page.goto(f"{base}{last_logged_link(app)}")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")


def test_widget_and_agent_panel_side_by_side(app, browser, live, line, client, admin, frozen):
    from playwright.sync_api import expect

    frozen(OPEN)
    acme = line["acme"]
    # A call booked at 11:00 (made now, with the hour's notice); the intranet's origin is allowed.
    booked = client.post(
        "/api/bookings",
        json={
            "token": acme["booking_token"],
            "start": paris(2026, 11, 30, 11, 0).isoformat(),
            "duration": 30,
            "topic": "help",
            "name": "Jo Visitor",
            "email": "jo@acme.example",
        },
    )
    assert booked.status_code == 201, booked.get_json()
    snippet = client.get(f"/api/customers/{acme['id']}", headers=admin).get_json()["chat_snippet"]
    snippet = snippet.replace("http://booking.test", live.url)
    intranet = Intranet(snippet)
    assert (
        client.patch(f"/api/customers/{acme['id']}", json={"chat_origins": [intranet.url]}, headers=admin).status_code
        == 200
    )
    agent_ctx = _context(browser, 1280, "en-GB", "Europe/Paris")
    visitor_ctx = _context(browser, 1280, "en-GB", "Europe/Paris")
    try:
        agent = agent_ctx.new_page()
        _sign_in(agent, app, live.url)
        agent.goto(f"{live.url}/agent/chat")
        expect(agent.get_by_role("heading", level=1)).to_have_text("Chat")

        page = visitor_ctx.new_page()
        page.goto(intranet.url)
        button = page.locator(".chat-button")
        expect(button).to_have_text("Camille Martin is available")
        button.click()
        page.get_by_label("Name shown to your agent").fill("Jo Visitor")
        page.get_by_label("Message to your agent").fill("Hello from the <b>intranet</b>")
        page.get_by_role("button", name="Send message").click()
        expect(page.locator(".message.from-visitor .text")).to_have_text("Hello from the <b>intranet</b>")

        # Visitor -> agent, live: the conversation appears in the panel without a reload.
        opener = agent.locator(".chat-open", has_text="Jo Visitor")
        expect(opener).to_be_visible()
        opener.click()
        expect(agent.locator(".chat-message.from-visitor .chat-text")).to_have_text("Hello from the <b>intranet</b>")
        page.get_by_label("Message to your agent").fill("Second message")
        page.get_by_role("button", name="Send message").click()
        expect(agent.locator(".chat-message.from-visitor .chat-text").last).to_have_text("Second message")

        # Agent -> visitor, live; the visitor's messages show as read once the agent has seen them.
        agent.get_by_label("Your answer").fill("Hi Jo, looking into it")
        agent.get_by_role("button", name="Send").click()
        expect(page.locator(".message.from-agent .text")).to_have_text("Hi Jo, looking into it")
        expect(page.locator(".message.from-visitor .receipt").last).to_have_text("Read")

        # The booked call starts: in a call, back at its end.
        frozen(paris(2026, 11, 30, 11, 0))
        expect(button).to_have_text("Camille Martin is on a call, back at 11:30")
        expect(page.get_by_role("link", name="Book a call")).to_be_visible()
        frozen(paris(2026, 11, 30, 11, 30))
        expect(button).to_have_text("Camille Martin is available")

        # Signing out: away at once, whatever tab stays open.
        agent.goto(f"{live.url}/agent")
        agent.get_by_role("button", name="Sign out").click()
        expect(button).to_have_text("Camille Martin is away right now")

        # Out of hours: closed, back tomorrow 09:00; booking and a message are offered.
        frozen(paris(2026, 11, 30, 18, 0))
        expect(button).to_have_text("Chat is closed, back Tuesday 09:00")
        expect(page.get_by_role("link", name="Book a call")).to_have_attribute(
            "href",
            f"http://booking.test/book/{acme['booking_token']}",  # BOOKING_PUBLIC_URL
        )
        page.get_by_role("button", name="Leave a message").click()
        page.get_by_label("Message to your agent").fill("The export failed again tonight")
        page.get_by_role("button", name="Send message").click()
        expect(page.locator(".message.from-system .text").last).to_contain_text("We are closed right now")
    finally:
        visitor_ctx.close()
        agent_ctx.close()
        intranet.close()

    db.session.rollback()
    request = db.session.scalars(db.select(SupportRequest)).one()
    assert (request.channel, request.customer_id) == ("chat", acme["id"])
    assert request.received_at == paris(2026, 11, 30, 18, 0)  # the answered morning did not count


def test_the_booking_page_shows_the_same_button(app, browser, live, line, frozen):
    """Our own page (same origin, no chat_origins needed): out of hours, a message becomes a request."""
    from playwright.sync_api import expect

    ctx = _context(browser, 375, "en-GB", "Europe/Paris")
    try:
        page = ctx.new_page()
        page.goto(f"{live.url}/book/{line['acme']['booking_token']}")
        button = page.locator(".chat-button")
        expect(button).to_have_text("Chat is closed, back Monday 09:00")  # Monday 08:00 now
        button.click()
        page.get_by_label("Name shown to your agent").fill("Jo Visitor")
        page.get_by_label("Message to your agent").fill("Can we talk about the invoice?")
        page.get_by_role("button", name="Send message").click()
        expect(page.locator(".message.from-system .text")).to_contain_text("We are closed right now")
    finally:
        ctx.close()
    db.session.rollback()
    assert db.session.scalars(db.select(SupportRequest)).one().channel == "chat"
