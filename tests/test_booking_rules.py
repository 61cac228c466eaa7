"""Issue 18 item 7 over HTTP: buffer, calls per agent per day, open calls per customer.

The API's availability, the booking page and the booking transaction ask the same core function, so
each rule is checked on all three, and the caps under real concurrency (a running server, threads).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from booking.config import ConfigError, load_settings
from booking.extensions import db
from booking.models import Booking
from tests.pages.forms import hidden, slot_values

TUE_10 = "2026-12-01T10:00:00+01:00"


@pytest.fixture
def env_overrides():
    return {
        "BOOKING_BUFFER_MINUTES": "15",
        "BOOKING_MAX_CALLS_PER_DAY": "3",
        "BOOKING_MAX_OPEN_BOOKINGS_PER_CUSTOMER": "2",
    }


@pytest.fixture
def agent(make_agent, frozen):
    return make_agent(slug="camille", name="Camille Martin")


def _book(client, customer, start=TUE_10, duration=30):
    body = {
        "token": customer["booking_token"],
        "start": start,
        "duration": duration,
        "topic": "help",
        "name": "Alice",
        "email": "alice@example.com",
    }
    return client.post("/api/bookings", json=body)


def _starts(client, day: str, next_day: str) -> list[str]:
    response = client.get(f"/api/agents/camille/availability?start={day}&end={next_day}")
    assert response.status_code == 200
    return [s["start"] for s in response.get_json()["slots"]]


def _page_slots(client, customer, day: str = "2026-12-01") -> list[str]:
    """The times the booking page lists for ``day`` (the month view lists the chosen day's)."""
    html = client.get(f"/book/{customer['booking_token']}?lang=en&tz=Europe/Paris&day={day}").get_data(as_text=True)
    return slot_values(html)


def _code(response) -> str:
    return response.get_json()["error"]["code"]


def test_buffer_around_calls_on_api_page_and_booking(client, admin, agent, make_customer):
    customer = make_customer("camille")
    assert _book(client, customer).status_code == 201
    starts = _starts(client, "2026-12-01", "2026-12-02")
    assert "2026-12-01T10:30:00+01:00" not in starts and "2026-12-01T09:30:00+01:00" not in starts
    assert "2026-12-01T09:00:00+01:00" in starts and "2026-12-01T11:00:00+01:00" in starts
    page = _page_slots(client, customer)
    assert "2026-12-01T09:30:00+00:00" not in page and "2026-12-01T08:00:00+00:00" in page  # UTC values

    refused = _book(client, customer, start="2026-12-01T10:30:00+01:00")
    assert refused.status_code == 409 and _code(refused) == "slot_unavailable"

    # The agent's own buffer wins over BOOKING_BUFFER_MINUTES: 0 gives back the slot next door.
    assert client.patch("/api/agents/camille", json={"buffer_minutes": 0}, headers=admin).status_code == 200
    assert "2026-12-01T10:30:00+01:00" in _starts(client, "2026-12-01", "2026-12-02")
    assert _book(client, customer, start="2026-12-01T10:30:00+01:00").status_code == 201


def test_calls_per_agent_per_day(client, admin, agent, make_customer):
    patched = client.patch("/api/agents/camille", json={"max_calls_per_day": 1}, headers=admin)
    assert patched.status_code == 200 and patched.get_json()["max_calls_per_day"] == 1
    first, second = make_customer("camille"), make_customer("camille")
    assert _book(client, first).status_code == 201
    assert _starts(client, "2026-12-01", "2026-12-02") == []  # the day is full
    assert _starts(client, "2026-12-02", "2026-12-03")  # the next one is not
    assert not [s for s in _page_slots(client, second) if s.startswith("2026-12-01")]
    refused = _book(client, second, start="2026-12-01T15:00:00+01:00")
    assert refused.status_code == 409 and _code(refused) == "slot_unavailable"
    assert _book(client, second, start="2026-12-02T15:00:00+01:00").status_code == 201

    # null: BOOKING_MAX_CALLS_PER_DAY (3) again.
    assert client.patch("/api/agents/camille", json={"max_calls_per_day": None}, headers=admin).status_code == 200
    assert _book(client, second, start="2026-12-01T15:00:00+01:00").status_code == 201
    assert _book(client, make_customer("camille"), start="2026-12-01T16:00:00+01:00").status_code == 201
    assert _starts(client, "2026-12-01", "2026-12-02") == []  # three calls: full again
    assert _book(client, make_customer("camille"), start="2026-12-01T11:00:00+01:00").status_code == 409


def test_a_moved_call_does_not_count_against_its_own_day(client, admin, agent, make_customer):
    client.patch("/api/agents/camille", json={"max_calls_per_day": 1}, headers=admin)
    made = _book(client, make_customer("camille")).get_json()
    moved = client.post(
        f"/api/bookings/{made['id']}/reschedule", json={"token": made["manage_token"], "start": "2026-12-01T14:00:00Z"}
    )
    assert moved.status_code == 200, moved.get_json()


def test_open_calls_per_customer(client, agent, make_customer):
    customer, other = make_customer("camille"), make_customer("camille")
    assert _book(client, customer).status_code == 201
    second = _book(client, customer, start="2026-12-02T10:00:00+01:00").get_json()
    third = _book(client, customer, start="2026-12-03T10:00:00+01:00")
    assert third.status_code == 409 and _code(third) == "booking_limit_reached"
    assert "2 upcoming calls" in third.get_json()["error"]["message"]
    assert _page_slots(client, customer) == []
    page = client.get(f"/book/{customer['booking_token']}?lang=en").get_data(as_text=True)
    assert "You have as many upcoming calls as you can book" in page
    assert _page_slots(client, other)  # the cap is the customer's, not the agent's
    assert _book(client, other, start="2026-12-03T10:00:00+01:00").status_code == 201

    cancelled = client.post(f"/api/bookings/{second['id']}/cancel", json={"token": second["manage_token"]})
    assert cancelled.status_code == 200
    assert _book(client, customer, start="2026-12-03T11:00:00+01:00").status_code == 201


def test_a_call_in_progress_is_upcoming_for_both_caps(client, agent, make_customer, frozen):
    """Issue 19 review: one definition of an upcoming call, ``end_at > now`` (it has not yet taken
    place). The abuse cap (BOOKING_MAX_OPEN_BOOKINGS) counted calls not yet ended, the business cap
    (BOOKING_MAX_OPEN_BOOKINGS_PER_CUSTOMER) calls not yet started: during a call the customer held 2
    calls for the one and 1 for the other. Now one count answers both, the page and the API alike."""
    customer = make_customer("camille")
    assert _book(client, customer).status_code == 201  # Tuesday 10:00-10:30
    assert _book(client, customer, start="2026-12-02T10:00:00+01:00").status_code == 201
    frozen(datetime(2026, 12, 1, 9, 15, tzinfo=UTC))  # Tuesday 10:15 Paris: the first call is under way
    during = _book(client, customer, start="2026-12-03T10:00:00+01:00")
    assert during.status_code == 409 and _code(during) == "booking_limit_reached", during.get_json()
    assert _page_slots(client, customer, "2026-12-03") == []
    page = client.get(f"/book/{customer['booking_token']}?lang=en&day=2026-12-03").get_data(as_text=True)
    assert "You have as many upcoming calls as you can book" in page
    frozen(datetime(2026, 12, 1, 9, 30, tzinfo=UTC))  # 10:30: it has taken place, the cap frees a call
    assert _page_slots(client, customer, "2026-12-03")
    assert _book(client, customer, start="2026-12-03T10:00:00+01:00").status_code == 201


def test_the_page_answers_a_capped_booking_with_its_notice(client, agent, make_customer):
    customer = make_customer("camille")
    url = f"/book/{customer['booking_token']}?lang=en&tz=Europe/Paris"
    html = client.get(url).get_data(as_text=True)
    form = {
        "csrf_token": hidden(html, "csrf_token"),
        "tz": "Europe/Paris",
        "duration": "30",
        "topic": "help",
        "name": "Alice",
        "email": "alice@example.com",
    }
    assert _book(client, customer).status_code == 201
    assert _book(client, customer, start="2026-12-02T10:00:00+01:00").status_code == 201
    response = client.post(url, data={**form, "idempotency_key": "k3", "start": "2026-12-03T09:00:00+00:00"})
    assert response.status_code == 409
    assert "You have as many upcoming calls as you can book" in response.get_data(as_text=True)
    assert db.session.query(Booking).count() == 2


def test_video_is_refused_where_no_template_is_set(client, agent, make_customer):
    customer = make_customer("camille")
    response = client.post(
        "/api/bookings",
        json={
            "token": customer["booking_token"],
            "start": TUE_10,
            "topic": "help",
            "name": "Alice",
            "email": "alice@example.com",
            "call_method": "video",
        },
    )
    assert response.status_code == 400 and _code(response) == "video_unavailable"
    html = client.get(f"/book/{customer['booking_token']}").get_data(as_text=True)
    assert 'id="call_method-phone"' in html and 'id="call_method-video"' not in html


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("BOOKING_BUFFER_MINUTES", "-5", "between 0 and 240"),
        ("BOOKING_MAX_CALLS_PER_DAY", "many", "whole number"),
        ("BOOKING_VIDEO_URL_TEMPLATE", "https://meet.example/room", "{uid}"),
        ("BOOKING_VIDEO_URL_TEMPLATE", "meet.example/{uid}", "http(s)"),
    ],
)
def test_bad_rule_settings_stop_the_start(tmp_path: Path, name, value, words):
    env = {"BOOKING_SECRET_KEY": "x" * 32, name: value}
    with pytest.raises(ConfigError) as error:
        load_settings(env, instance_path=tmp_path)
    assert name in str(error.value) and words in str(error.value)


# -- under real concurrency ------------------------------------------------------------------------


def _post(live_server, customer, start: str) -> int:
    response = requests.post(
        f"{live_server.url}/api/bookings",
        json={
            "token": customer["booking_token"],
            "start": start,
            "topic": "help",
            "name": "Racer",
            "email": "racer@example.com",
        },
        timeout=60,
    )
    assert response.headers["Content-Type"].startswith("application/json")
    return response.status_code


@pytest.mark.slow
def test_racing_bookings_never_exceed_the_daily_cap(app, client, admin, agent, make_customer, live_server):
    client.patch("/api/agents/camille", json={"max_calls_per_day": 2, "buffer_minutes": 0}, headers=admin)
    customers = [make_customer("camille") for _ in range(8)]
    # 16 different, non-overlapping slots on the same day: only the cap can refuse them.
    starts = [f"2026-12-01T{9 + i // 2:02d}:{30 * (i % 2):02d}:00+01:00" for i in range(16)]

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda i: _post(live_server, customers[i % 8], starts[i]), range(16)))
    assert statuses.count(201) == 2, statuses
    assert statuses.count(409) == 14, statuses
    db.session.rollback()
    assert db.session.query(Booking).filter_by(status="confirmed").count() == 2


@pytest.mark.slow
def test_racing_bookings_never_exceed_the_customer_cap(app, agent, make_customer, live_server):
    customer = make_customer("camille")
    starts = [f"2026-12-{day:02d}T10:00:00+01:00" for day in (1, 2, 3, 4, 7, 8, 9, 10, 11, 14)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda start: _post(live_server, customer, start), starts))
    assert statuses.count(201) == 2, statuses
    assert statuses.count(409) == 8, statuses
    db.session.rollback()
    assert db.session.query(Booking).filter_by(status="confirmed").count() == 2


def test_the_manage_page_offers_no_time_the_reschedule_would_refuse(app, client, agent, make_customer):
    """Over the cap (an admin lowered it after two calls were booked), moving one call is refused; the
    manage page's picker asks the same question with the customer, so it offers no time either."""
    from dataclasses import replace

    customer = make_customer("camille")
    first = _book(client, customer).get_json()
    assert _book(client, customer, start="2026-12-02T10:00:00+01:00").status_code == 201
    app.extensions["booking.settings"] = replace(app.extensions["booking.settings"], max_open_bookings_per_customer=1)
    moved = client.post(
        f"/api/bookings/{first['id']}/reschedule",
        json={"token": first["manage_token"], "start": "2026-12-03T09:00:00Z"},
    )
    assert moved.status_code == 409
    page = client.get(
        f"/bookings/{first['id']}/manage",
        query_string={"token": first["manage_token"], "lang": "en", "day": "2026-12-03"},
    )
    assert page.status_code == 200
    assert slot_values(page.get_data(as_text=True)) == []
