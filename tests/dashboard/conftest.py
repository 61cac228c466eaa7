"""Fixtures for the agent pages: agents with customers, voicemails and callbacks, and signing in.

Voicemails are stored through ``booking.services.callbacks.store_voicemail`` (the webhook's own service,
with a ``Call`` row giving the severity) so the callbacks carry real SLA due times and reservations; the
Twilio webhooks themselves are covered in tests/voicemail. Signing in goes through the real pages and
the real outbox: the link is read from the mail the app sent (the logging mailer keeps it, or the SMTP
sink when a test asks for ``smtp_sink``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from flask import g
from flask.testing import FlaskClient

from booking import clock
from booking.extensions import db
from booking.models import Call, Callback
from booking.services.callbacks import RecordingIn, store_voicemail
from tests.pages.forms import hidden

LINK = re.compile(r"http://booking\.test(/agent/sign-in/[A-Za-z0-9_.\-]+)")


@pytest.fixture
def client(app: Any) -> FlaskClient:
    """The test client, on an app that starts every request with an empty ``g`` as in production.

    The test keeps one app context open, and Flask reuses it for each request, so ``g`` would carry
    Flask-WTF's cached CSRF token from one client's session into the next request (another client, or
    the same client after signing in replaced its session), which no real browser ever sees.
    """

    @app.before_request
    def clear_g() -> None:
        for name in list(g):
            g.pop(name)

    return app.test_client()


@pytest.fixture
def env_overrides(request: pytest.FixtureRequest) -> dict[str, str]:
    if "smtp_sink" in request.fixturenames:
        return {"BOOKING_SMTP_URL": request.getfixturevalue("smtp_sink").url}
    return {}


@pytest.fixture
def team(make_agent, make_customer, frozen) -> dict[str, Any]:
    """Two dedicated agents, each with one customer (the clock starts Monday 30 Nov 2026, 08:00 Paris)."""
    camille = make_agent(slug="camille", name="Camille Martin", email="camille@vendor.example")
    dana = make_agent(slug="dana", name="Dana Roux", email="dana@vendor.example", timezone="America/New_York")
    acme = make_customer("camille", name="Acme Industries", phones=["+33612345678"])
    globex = make_customer("dana", name="Globex", phones=["+33698765432"])
    return {"camille": camille, "dana": dana, "acme": acme, "globex": globex}


@pytest.fixture
def leave_voicemail(app: Any) -> Callable[..., Callback]:
    """Store a voicemail (and its callback) as the recording webhook would, at the frozen ``now``."""

    def leave(customer: dict[str, Any], sid: str, *, severity: int = 3, duration: int = 42) -> Callback:
        now = clock.now()
        db.session.add(
            Call(
                call_sid=sid,
                from_number=customer["phones"][0],
                customer_id=customer["id"],
                severity=severity,
                status="voicemail",
                received_at=now,
            )
        )
        db.session.commit()
        recording = RecordingIn(
            recording_sid=f"RE{sid}",
            recording_url=f"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE{sid}",
            duration=duration,
            call_sid=sid,
        )
        return store_voicemail(db.session, app.extensions["booking.settings"], recording, now).callback

    return leave


def csrf(client: FlaskClient, path: str = "/agent/sign-in") -> str:
    """A CSRF token for ``client``'s session, read from a rendered form as a browser would."""
    response = client.get(path)
    return hidden(response.get_data(as_text=True), "csrf_token")


def ask_for_link(client: FlaskClient, email: str) -> Any:
    """Submit the sign-in form; closing the response runs the after-response outbox drain (the mail)."""
    response = client.post("/agent/sign-in", data={"email": email, "csrf_token": csrf(client)})
    response.get_data()
    response.close()
    return response


def links_in(text: str) -> list[str]:
    return LINK.findall(text)


def last_logged_link(app: Any) -> str:
    """The sign-in link in the last mail the logging mailer kept (no SMTP configured)."""
    message = app.extensions["booking.mailer"].sent[-1]
    text = message.get_body(preferencelist=("plain",)).get_content()
    return links_in(text)[0]


def use_link(client: FlaskClient, path: str) -> Any:
    """Open the link (confirmation page) and press its button, as the agent does."""
    page = client.get(path)
    if page.status_code != 200:
        return page
    return client.post(path, data={"csrf_token": hidden(page.get_data(as_text=True), "csrf_token")})


@pytest.fixture
def sign_in(app: Any) -> Callable[[FlaskClient, str], None]:
    """Sign ``client`` in as the agent with ``email`` through the real link flow."""

    def run(client: FlaskClient, email: str) -> None:
        before = len(app.extensions["booking.mailer"].sent)
        ask_for_link(client, email)
        assert len(app.extensions["booking.mailer"].sent) == before + 1
        response = use_link(client, last_logged_link(app))
        assert response.status_code == 303 and response.headers["Location"].endswith("/agent")

    return run


def paris(*args: int) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo("Europe/Paris"))
