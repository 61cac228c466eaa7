"""Benchmark ``booking.core.availability.free_slots``.

Run from the repository root:  python bench/core_availability.py

Prints the median wall time (ms) over RUNS calls for a 30-day window with
2,000 and 5,000 random busy blocks (UTC, unsorted, 15-120 min long, spread
over the window day and night), 30-minute slots on a 30-minute grid; also
with agent working hours, and with the busy list already sorted by start.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from booking.core.availability import SlotRules, free_slots
from booking.core.business_time import business_calendar, weekly_hours_intervals

RUNS = 200


def random_busy(n: int, start: datetime, days: int, rng: random.Random) -> list[tuple[datetime, datetime]]:
    blocks = []
    for _ in range(n):
        s = start + timedelta(minutes=rng.randrange(0, days * 24 * 60))
        blocks.append((s, s + timedelta(minutes=rng.randrange(15, 121))))
    return blocks


def median_ms(fn: Callable[[], object], runs: int = RUNS) -> float:
    fn()  # warm-up (holiday years, caches)
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main() -> None:
    cal = business_calendar("Europe/Paris", "09:00-17:00", "mon-fri", "FR")
    rules = SlotRules(
        duration=timedelta(minutes=30),
        step=timedelta(minutes=30),
        min_notice=timedelta(hours=2),
        horizon=timedelta(days=60),
    )
    now = datetime(2026, 10, 30, 10, 0, tzinfo=UTC)
    window = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    working = weekly_hours_intervals(
        {d: ["09:00-12:30", "13:30-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        cal.tz,
        *window,
    )
    rng = random.Random(42)
    print(f"free_slots, 30-day window, median of {RUNS} runs (python {sys.version.split()[0]})")
    for n in (0, 2000, 5000):
        busy = random_busy(n, window[0], 30, rng)
        slots = free_slots(cal, window, rules, now, busy)
        plain = median_ms(lambda busy=busy: free_slots(cal, window, rules, now, busy))
        with_wh = median_ms(lambda busy=busy: free_slots(cal, window, rules, now, busy, working))
        ordered = sorted(busy)  # as an indexed query (ORDER BY start) returns them
        presorted = median_ms(lambda ordered=ordered: free_slots(cal, window, rules, now, ordered))
        print(
            f"  busy={n:5d}: {plain:6.3f} ms   with working hours: {with_wh:6.3f} ms"
            f"   pre-sorted: {presorted:6.3f} ms   ({len(slots)} slots offered)"
        )
    # A realistic calendar: fewer, mostly non-overlapping meetings leave many slots.
    sparse = random_busy(60, window[0], 30, rng)
    print(
        f"  busy=   60: {median_ms(lambda: free_slots(cal, window, rules, now, sparse)):6.3f} ms"
        f"   ({len(free_slots(cal, window, rules, now, sparse))} slots offered)"
    )


if __name__ == "__main__":
    main()
