"""Chat fixtures: a dedicated agent with a customer, a signed-in agent client, a visitor helper."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.dashboard.conftest import client, csrf, paris, sign_in  # noqa: F401


@pytest.fixture
def line(make_agent, make_customer, frozen) -> dict[str, Any]:
    """Camille and her customer Acme; the clock starts Monday 30 Nov 2026, 08:00 Paris (closed)."""
    camille = make_agent(slug="camille", name="Camille Martin", email="camille@vendor.example")
    acme = make_customer("camille", name="Acme Industries", phones=["+33612345678"])
    return {"camille": camille, "acme": acme, "token": acme["chat_token"]}


@pytest.fixture
def visitor(client) -> Callable[..., Any]:  # noqa: F811
    """``visitor(token, text, key=None, **fields)`` posts a message as the widget does."""

    def post(token: str, text: str, key: str | None = None, status: int = 201, **fields: Any) -> dict[str, Any]:
        headers = {"Accept-Language": "en", **({"X-Chat-Visitor": key} if key else {})}
        body = {"name": "Jo Visitor", "text": text, **fields}
        response = client.post(f"/api/chat/{token}/messages", json=body, headers=headers)
        assert response.status_code == status, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]

    return post


@pytest.fixture
def live(app, live_server):
    """The live server; at teardown, waits until every SSE stream has noticed its client is gone.

    A stream notices at its next write (heartbeat); closing the server under a stream that is about to
    write makes waitress log EBADF from that thread.
    """
    import time

    from booking.chat.bus import bus_for

    yield live_server
    hub = getattr(bus_for(app), "hub", None)
    deadline = time.monotonic() + 15
    while hub is not None and hub.open_streams and time.monotonic() < deadline:
        time.sleep(0.05)  # real threads finishing, not business time
