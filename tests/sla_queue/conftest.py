"""Fixtures for the SLA-queue tests: the phone line's (fake Twilio REST, signed webhooks, SMTP sink).

Requests are created the way production creates them, by Twilio's webhooks, and read and acted on
through the JSON API; the clock is moved with time-machine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from booking.extensions import db

# The dashboard's client (a fresh ``g`` per request, as in production) and its real sign-in flow.
from tests.dashboard.conftest import client, sign_in  # noqa: F401
from tests.voicemail.conftest import AGENT_PHONE, CALLER, LINE, env_overrides, hook, twiml  # noqa: F401

SENIOR_PHONE = "+33140000002"
OTHER_CALLER = "+33698765432"
UNKNOWN_CALLER = "+33611111111"


def fresh() -> Session:
    """End the test's read transaction so it sees what requests (and their after-response drains) committed."""
    db.session.rollback()
    return db.session  # type: ignore[return-value]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "env(**variables): extra environment for the app of one test")


@pytest.fixture
def line(make_agent: Callable[..., dict[str, Any]], make_customer: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """A dedicated agent, an on-call senior and two customers with the add-on."""
    agent = make_agent(slug="camille", name="Camille Martin", phone=AGENT_PHONE, email="camille@example.com")
    senior = make_agent(
        slug="sam", name="Sam Senior", phone=SENIOR_PHONE, email="sam@example.com", tier="senior", on_call=True
    )
    acme = make_customer(agent["slug"], name="Acme SA", phones=[CALLER])
    beta = make_customer(agent["slug"], name="Beta SARL", phones=[OTHER_CALLER])
    return {"agent": agent, "senior": senior, "acme": acme, "beta": beta}


@pytest.fixture
def voicemail(hook: Callable[..., tuple[Any, str]], frozen: Callable[[datetime], None]) -> Callable[..., None]:  # noqa: F811
    """``voicemail(at, sid, caller=..., press_1=...)``: one whole call ending in a recorded message."""

    def leave(at: datetime, sid: str, *, caller: str = CALLER, press_1: bool = False) -> None:
        frozen(at)
        root = twiml(hook("/twilio/voice", CallSid=sid, From=caller, To=LINE)[1])
        if root.find("Dial") is not None:
            hook("/twilio/voice/dial-status", CallSid=sid, DialCallStatus="no-answer", From=caller)
        if press_1:
            hook("/twilio/voice/menu", CallSid=sid, Digits="1", From=caller)
        response, _ = hook(
            "/twilio/voicemail",
            CallSid=sid,
            RecordingSid=f"RE{sid}",
            RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE{sid}",
            RecordingDuration="30",
            RecordingStatus="completed",
        )
        assert response.status_code == 200

    return leave


@pytest.fixture
def api(client: Any, admin: dict[str, str]) -> Callable[..., Any]:  # noqa: F811
    """``api("GET", path, json=..., status=200)`` as the admin; returns the JSON body."""

    def call(method: str, path: str, *, status: int = 200, **kwargs: Any) -> Any:
        response = client.open(path, method=method, headers=admin, **kwargs)
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json()

    return call
