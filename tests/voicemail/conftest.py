"""Fixtures for the phone-line tests.

Webhook tests run the app with Twilio credentials pointing at the local fake REST server
(``tests.fixtures.twilio_rest``, a plugin of the top-level conftest) and, when a test asks for
``smtp_sink``, SMTP pointing at the local sink, so SMS and e-mail go over real sockets.
``@pytest.mark.env(NAME=value)`` adds or overrides variables for one test (``NAME=None`` removes one).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.fixtures.twilio_rest import TEST_AUTH_TOKEN, signed_post

PUBLIC_URL = "http://booking.test"  # BOOKING_PUBLIC_URL in tests/conftest.py:base_env
PARIS = ZoneInfo("Europe/Paris")
CALLER = "+33612345678"  # the customer's known number
LINE = "+33900000000"  # our Twilio number
AGENT_PHONE = "+33140000001"  # the dedicated agent's phone


def paris(*args: int) -> datetime:
    """A Paris wall-clock instant, e.g. ``paris(2026, 12, 24, 19, 0)``."""
    return datetime(*args, tzinfo=PARIS)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "env(**variables): extra environment for the app of one test")


@pytest.fixture
def env_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    env: dict[str, Any] = dict(request.getfixturevalue("fake_twilio").env())
    if "smtp_sink" in request.fixturenames:
        env["BOOKING_SMTP_URL"] = request.getfixturevalue("smtp_sink").url
    marker = request.node.get_closest_marker("env")
    if marker:
        env.update(marker.kwargs)
    return {k: v for k, v in env.items() if v is not None}


def post_hook(client: Any, path: str, params: dict[str, str], *, token: str = TEST_AUTH_TOKEN) -> tuple[Any, str]:
    """POST a webhook the way Twilio does: form-encoded, signed for BOOKING_PUBLIC_URL + path.

    The response is closed as a WSGI server closes it once sent, which runs the after-response
    outbox drain (SMS, e-mail).
    """
    response = signed_post(client, f"http://localhost{path}", params, token, signed_url=PUBLIC_URL + path)
    body = response.get_data(as_text=True)
    response.close()
    return response, body


def twiml(body: str) -> ET.Element:
    root = ET.fromstring(body.encode("utf-8"))
    assert root.tag == "Response"
    return root


def tags(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


@pytest.fixture
def hook(client: Any) -> Callable[..., tuple[Any, str]]:
    def post(path: str, **params: str) -> tuple[Any, str]:
        return post_hook(client, path, params)

    return post
