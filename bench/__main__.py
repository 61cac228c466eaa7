"""``python -m bench``: every performance figure of issue 19 in ONE table, each beside its reference.

Measured in one run on the same machine and data, so the ratios hold even when other work slows
the machine (the load average during the run is printed with the table):

* availability (30-day window, all busy blocks inside it) at 1 and 32 clients for 2k/5k/10k blocks,
  on SQLite (waitress, as ``booking serve``) and PostgreSQL (gunicorn with deploy/gunicorn.conf.py),
  vs ``bench/minimal_app.py`` — a bare WSGI app doing the same indexed fetch + slot pass, served by
  the same server; plus the in-process service call (``free_slots_for``);
* bookings/s at 32 clients, distinct free slots and overlapping attempts (one winner per overlap is
  checked in the database afterwards): gunicorn on PostgreSQL, waitress on SQLite;
* ``/twilio/voice`` and ``/twilio/voicemail`` (recording callback) p50/p99 at 1 and 16 clients, each
  request distinct and signed with ``twilio.request_validator``;
* calendar sync against a real Radicale, full and incremental (one change) at 2k/10k events, vs
  Radicale's own 30-day REPORT and icalendar's bare parse of the same events (per 1,000 events).

Usage: python -m bench [--quick] [--only availability bookings webhooks sync] [--pg-url URL] [--db sqlite postgresql]
       [--sizes 2000 5000 10000] [--seconds 5] [--no-readme]
PostgreSQL: ``--pg-url`` (default $BOOKING_BENCH_POSTGRES_URL or $BOOKING_TEST_POSTGRES_URL) names a
server/database to connect to; the bench creates ``<that database>_bench`` and drops it at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import scenarios
from bench.load import ROOT

SECTIONS = ("availability", "bookings", "webhooks", "sync")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, 2k/10k only, sync at 2k (a few minutes)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--sizes", type=int, nargs="+", help="busy blocks per agent (default 2000 5000 10000)")
    parser.add_argument("--sync-sizes", type=int, nargs="+", help="events per calendar (default 2000 10000)")
    parser.add_argument("--seconds", type=float, help="length of each load run (default 5, --quick 2)")
    parser.add_argument(
        "--pg-url", default=os.environ.get("BOOKING_BENCH_POSTGRES_URL") or os.environ.get("BOOKING_TEST_POSTGRES_URL")
    )
    parser.add_argument("--db", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    parser.add_argument("--no-readme", action="store_true", help="print the table, leave bench/README.md alone")
    args = parser.parse_args(argv)
    sizes = args.sizes or ([2000, 10000] if args.quick else [2000, 5000, 10000])
    sync_sizes = args.sync_sizes or ([2000] if args.quick else [2000, 10000])
    seconds = args.seconds or (2.0 if args.quick else 5.0)
    folder = Path(tempfile.mkdtemp(prefix="booking-bench-"))
    loads: list[float] = [os.getloadavg()[0]]
    rows: list[scenarios.Row] = []
    started = time.monotonic()
    databases = [name for name in args.db if name == "sqlite" or args.pg_url]
    with scenarios.Databases(folder, args.pg_url if "postgresql" in databases else None) as dbs:
        for name in databases:
            url = dbs.url(name)
            if "availability" in args.only:
                rows += scenarios.availability(name, url, folder, sizes, seconds)
                loads.append(os.getloadavg()[0])
            if "bookings" in args.only:
                rows += scenarios.bookings(name, url, folder, seconds)
                loads.append(os.getloadavg()[0])
            if "webhooks" in args.only:
                rows += scenarios.webhooks(name, url, folder, seconds)
                loads.append(os.getloadavg()[0])
    if "sync" in args.only:
        rows += scenarios.sync(folder, sync_sizes)
        loads.append(os.getloadavg()[0])
    loads.append(os.getloadavg()[0])
    load = (
        f"load average (1 min) during the run: min {min(loads):.1f}, median {statistics.median(loads):.1f}, "
        f"max {max(loads):.1f} on {os.cpu_count()} cores; run took {time.monotonic() - started:.0f} s"
    )
    table = scenarios.render(rows)
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    print(table)
    print(load)
    if not args.no_readme:
        scenarios.write_readme(ROOT / "bench" / "README.md", table, load, command.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
