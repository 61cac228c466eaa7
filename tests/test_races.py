"""Real races: 40 concurrent booking attempts at overlapping slots against a running server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from booking.extensions import db
from booking.models import Booking

# Every attempt contains 10:30-11:00 Paris, so any two of them overlap: exactly one may win.
ATTEMPTS = [("2026-12-01T10:00:00+01:00", 60), ("2026-12-01T10:30:00+01:00", 30), ("2026-12-01T10:30:00+01:00", 60)]


@pytest.mark.slow
def test_forty_concurrent_overlapping_bookings_one_wins(app, make_agent, make_customer, frozen, live_server):
    agent = make_agent()
    customers = [make_customer(agent["slug"]) for _ in range(4)]

    def attempt(i: int) -> int:
        start, duration = ATTEMPTS[i % len(ATTEMPTS)]
        customer = customers[i % len(customers)]
        response = requests.post(
            f"{live_server.url}/api/bookings",
            json={
                "token": customer["booking_token"],
                "start": start,
                "duration": duration,
                "topic": "help",
                "name": f"Caller {i}",
                "email": f"caller{i}@example.com",
            },
            timeout=60,
        )
        assert response.headers["Content-Type"].startswith("application/json")
        return response.status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(attempt, range(40)))

    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == 39, statuses
    assert not [s for s in statuses if s >= 500]
    db.session.rollback()  # end the test thread's read snapshot before counting
    assert db.session.query(Booking).filter_by(status="confirmed").count() == 1


@pytest.mark.slow
def test_same_idempotency_key_raced_books_once(app, make_agent, make_customer, frozen, live_server):
    agent = make_agent()
    customer = make_customer(agent["slug"])

    def attempt(_: int) -> tuple[int, int]:
        response = requests.post(
            f"{live_server.url}/api/bookings",
            json={
                "token": customer["booking_token"],
                "start": "2026-12-02T11:00:00+01:00",
                "topic": "training",
                "name": "Retry",
                "email": "retry@example.com",
            },
            headers={"Idempotency-Key": "double-click"},
            timeout=60,
        )
        return response.status_code, response.json().get("id", -1)

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(attempt, range(10)))
    assert {status for status, _ in results} == {201}, results
    assert len({booking_id for _, booking_id in results}) == 1
