"""Every writer takes the write lock up front: admin writes during a booking load never 500 (issue 11.5).

On SQLite (WAL) a deferred transaction that has read and then tries to write cannot wait for the
lock: if another writer committed since its snapshot, SQLite answers "database is locked" at once,
whatever the busy timeout. Before every writer went through ``write_transaction`` (BEGIN IMMEDIATE),
time off and customers created during bookings failed that way (159/231 in the fault campaign).
Real server, real threads, a file database; bounded by the number of operations and a deadline.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DEADLINE = 30.0  # seconds for the whole load (no new request after it)
TIMEOUT = 10.0  # seconds per request: a request waiting on the lock longer than this is a failure too
ROUNDS = 30  # per thread: 4 booking threads x 30 + 2 time-off threads x 30 x 2 + 2 directory threads x 30


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: PostgreSQL's row locks never answer "database is locked"."""
    return sqlite_url


@pytest.fixture
def env_overrides():
    # A load test of the database, not of the rate limits: the customers here book far more often
    # than a real one may (see tests/test_rate_limits.py for those).
    return {"BOOKING_RATE_LIMIT_BOOKING": "10000 per hour", "BOOKING_MAX_OPEN_BOOKINGS": "10000"}


@pytest.mark.slow
def test_admin_writes_during_a_booking_load_never_fail(app, make_agent, make_customer, frozen, live_server):
    agents = [make_agent() for _ in range(2)]
    customers = [make_customer(a["slug"]) for a in agents for _ in range(2)]
    started = time.monotonic()
    # Far-away days keep the time off away from the slots being booked: every request must succeed
    # on its merits (201/409 for bookings), so any other status is a locking failure.
    far = datetime(2027, 1, 11, 8, 0, tzinfo=UTC)

    def post(path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> requests.Response:
        return requests.post(f"{live_server.url}{path}", json=body, headers=headers, timeout=TIMEOUT)

    def booker(n: int) -> list[int]:
        customer = customers[n]
        statuses = []
        for i in range(ROUNDS):
            if time.monotonic() - started > DEADLINE:
                break
            day, slot = divmod(i, 8)
            start = datetime(2026, 12, 1 + day, 8 + slot, 0, tzinfo=UTC) + timedelta(minutes=15 * (n % 2))
            response = post(
                "/api/bookings",
                {
                    "token": customer["booking_token"],
                    "start": start.isoformat(),
                    "duration": 15,
                    "topic": "help",
                    "name": f"Load {n}",
                    "email": f"load{n}@example.com",
                },
            )
            statuses.append(response.status_code)
        return statuses

    def time_off(n: int) -> list[int]:
        slug = agents[n]["slug"]
        statuses = []
        for i in range(ROUNDS):
            if time.monotonic() - started > DEADLINE:
                break
            start = far + timedelta(days=i)
            created = post(
                f"/api/agents/{slug}/time-off",
                {"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat(), "reason": "load"},
                ADMIN,
            )
            statuses.append(created.status_code)
            if created.status_code == 201:
                entry = created.json()["id"]
                deleted = requests.delete(
                    f"{live_server.url}/api/agents/{slug}/time-off/{entry}", headers=ADMIN, timeout=TIMEOUT
                )
                statuses.append(deleted.status_code)
        return statuses

    def directory(n: int) -> list[int]:
        statuses = []
        for i in range(ROUNDS):
            if time.monotonic() - started > DEADLINE:
                break
            if i % 2:
                body = {"slug": f"load-{n}-{i}", "name": "Load", "email": "load@example.com", "phone": "+33140009999"}
                statuses.append(post("/api/agents", body, ADMIN).status_code)
            else:
                body = {
                    "name": f"Load {n} {i}",
                    "plan": "all-inclusive",
                    "dedicated_support": True,
                    "agent": agents[n]["slug"],
                    "phones": [f"+3369{n}{i:06d}"],
                }
                statuses.append(post("/api/customers", body, ADMIN).status_code)
        return statuses

    with ThreadPoolExecutor(max_workers=8) as pool:
        jobs = [pool.submit(booker, n) for n in range(4)]
        jobs += [pool.submit(time_off, n) for n in range(2)]
        jobs += [pool.submit(directory, n) for n in range(2)]
        results = [job.result() for job in jobs]

    elapsed = time.monotonic() - started
    counts = Counter(status for statuses in results for status in statuses)
    bookings = Counter(status for statuses in results[:4] for status in statuses)
    admin = Counter(status for statuses in results[4:] for status in statuses)
    assert sum(counts.values()) >= 200, (counts, elapsed)  # enough load to mean something
    assert set(bookings) <= {201, 409}, bookings
    assert set(admin) <= {200, 201}, admin
