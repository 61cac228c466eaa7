"""Median time of the SLA queue's two periodic reads, with N requests in one month (default 10,000).

  * scan    — ``scan_breaches`` on a minute when nothing is due (what the worker does most minutes):
              the indexed (status, first_response_due_at) range read;
  * report  — ``sla_report.build`` for the whole month (every request and its events are read);
  * list    — ``list_requests`` (the admin's queue, open requests ordered by due time).

Usage: python bench/sla_queue.py [--requests 10000] [--runs 20] [--database-url URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from booking import create_app
from booking.extensions import db
from booking.models import Agent, Customer
from booking.models_requests import RequestEvent, SupportRequest
from booking.services import sla_report
from booking.services.requests import list_requests, scan_breaches

START = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def seed(n: int) -> None:
    rng = random.Random(13)
    agent = Agent(slug="camille", name="Camille", email="c@example.com", phone="+33140000001", timezone="Europe/Paris")
    db.session.add(agent)
    db.session.flush()
    customers = [
        Customer(name=f"C{i}", plan="all-inclusive", dedicated_support=True, agent_id=agent.id) for i in range(50)
    ]
    db.session.add_all(customers)
    db.session.flush()
    for i in range(n):
        received = START + timedelta(minutes=rng.randrange(31 * 24 * 60))
        due = received + timedelta(hours=rng.choice([1, 2, 24]))
        answered = received + timedelta(minutes=rng.randrange(1, 600)) if rng.random() < 0.8 else None
        req = SupportRequest(
            channel=rng.choice(["phone", "email", "chat"]),
            customer_id=rng.choice(customers).id,
            team="dedicated",
            agent_id=agent.id,
            severity=rng.randrange(1, 6),
            subject=f"request {i}",
            received_at=received,
            first_response_due_at=due,
            first_response_at=answered,
            follow_up_due_at=due + timedelta(hours=4),
            status="responded" if answered else "open",
            created_at=received,
            updated_at=received,
        )
        db.session.add(req)
        db.session.flush()
        db.session.add(RequestEvent(request_id=req.id, kind="created", actor="bench", at=received, details={}))
        if answered:
            db.session.add(RequestEvent(request_id=req.id, kind="responded", actor="bench", at=answered, details={}))
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    url = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    app = create_app({"TESTING": True}, env={"BOOKING_DATABASE_URL": url, "BOOKING_INSTANCE_PATH": str(folder)})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        seed(args.requests)
        quiet = START - timedelta(days=1)  # nothing due within 15 minutes
        tz = app.extensions["booking.settings"].timezone
        now = START + timedelta(days=40)
        scan = median_ms(lambda: scan_breaches(db.session, quiet), args.runs)
        report = median_ms(
            lambda: sla_report.build(db.session, tz, date(2027, 3, 1), date(2027, 4, 1), now), max(3, args.runs // 4)
        )
        listing = median_ms(lambda: list_requests(db.session), max(3, args.runs // 4))
        print(
            f"{args.requests} requests on {db.engine.dialect.name}: scan {scan:.2f} ms, "
            f"month report {report:.0f} ms, open list {listing:.0f} ms"
        )


if __name__ == "__main__":
    main()
