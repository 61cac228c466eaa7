"""Median time of one availability query: 30-day window, an agent with N busy blocks (default 2,000).

Prints three figures measured in one run on the same data:
  * core      — the pure slot pass on busy intervals already in memory;
  * service   — in-process: indexed database fetch + slot pass (``free_slots_for``);
  * http      — GET /api/agents/<slug>/availability against waitress on loopback.

Usage: python bench/availability.py [--blocks 2000] [--runs 200] [--database-url URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import requests
import time_machine

from booking import create_app
from booking.core.availability import SlotRules, free_slots
from booking.extensions import db
from booking.models import Agent, BusyBlock
from booking.services.availability import busy_intervals, free_slots_for, window_for

NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
START, END = date(2026, 12, 1), date(2026, 12, 31)


def median_ms(fn, runs: int) -> float:
    fn()  # warm caches and connections
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def seed(blocks: int) -> str:
    agent = Agent(slug="bench", name="Bench", email="b@example.com", phone="+33140000000", timezone="Europe/Paris")
    db.session.add(agent)
    db.session.flush()
    rng = random.Random(42)
    first = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    rows = []
    for _ in range(blocks):
        start = first + timedelta(minutes=15 * rng.randrange(0, 30 * 24 * 4))
        rows.append(
            BusyBlock(agent_id=agent.id, start_at=start, end_at=start + timedelta(minutes=rng.choice((15, 30, 60))))
        )
    db.session.add_all(rows)
    db.session.commit()
    return agent.slug


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blocks", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="booking-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    env = {
        "BOOKING_DATABASE_URL": url,
        "BOOKING_SECRET_KEY": "bench-secret-key-0123456789",
        "BOOKING_INSTANCE_PATH": str(folder),
        "BOOKING_OUTBOX_INLINE": "false",
    }
    app = create_app(env=env)
    with time_machine.travel(NOW, tick=False), app.app_context():
        from flask_migrate import upgrade

        upgrade()
        slug = seed(args.blocks)
        settings = app.extensions["booking.settings"]
        agent = db.session.query(Agent).filter_by(slug=slug).one()
        window = window_for(START, END, settings.timezone)
        duration = timedelta(minutes=30)
        busy = busy_intervals(db.session, agent.id, window[0] - timedelta(days=1), window[1] + duration)
        rules = SlotRules(duration, settings.slot_step, settings.min_notice, settings.horizon)
        slots = free_slots_for(db.session, settings, agent, window, duration, NOW)

        core = median_ms(lambda: free_slots(settings.calendar, window, rules, NOW, busy), args.runs)
        service = median_ms(lambda: free_slots_for(db.session, settings, agent, window, duration, NOW), args.runs)

        from waitress.server import create_server

        server = create_server(app, host="127.0.0.1", port=0, threads=4)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.effective_port}"
        session = requests.Session()
        query = f"{base}/api/agents/{slug}/availability?start={START}&end={END}"
        assert session.get(query, timeout=10).status_code == 200
        http = median_ms(lambda: session.get(query, timeout=10), args.runs)

    print(f"database: {url.split(':', 1)[0]}; busy blocks in window: {len(busy)}; slots offered: {len(slots)}")
    print(f"core slot pass (in memory):        {core:8.3f} ms median of {args.runs}")
    print(f"in-process (DB fetch + slot pass): {service:8.3f} ms median of {args.runs}")
    print(f"over HTTP (waitress, loopback):    {http:8.3f} ms median of {args.runs}")
    print(f"ratio in-process / core: {service / core:.1f}x; http / in-process: {http / service:.1f}x")


if __name__ == "__main__":
    main()
