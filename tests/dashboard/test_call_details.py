"""Issue 18 item 3: the agent's dashboard says how each call happens: the number to ring, or the video link."""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import paris
from tests.dashboard.test_dashboard import book


@pytest.fixture
def env_overrides():
    return {"BOOKING_VIDEO_URL_TEMPLATE": "https://meet.example/{uid}"}


def test_the_dashboard_shows_the_contacts_number_and_the_video_link(client, team, sign_in):
    book(client, team["acme"], paris(2026, 12, 1, 10, 0), phone="+1 (212) 555-0100", timezone="America/New_York")
    video = book(client, team["acme"], paris(2026, 12, 2, 10, 0), call_method="video")
    sign_in(client, "camille@vendor.example")
    page = client.get("/agent?lang=en").get_data(as_text=True)
    assert 'Phone: <a href="tel:+12125550100">+12125550100</a>' in page
    assert f'Video call: <a href="{video["video_url"]}">{video["video_url"]}</a>' in page
    # The agent's copy stays in the agent's zone, whatever the contact's.
    assert "Tuesday, December 1, 2026, 10:00\u202fAM" in page
