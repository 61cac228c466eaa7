"""What does asking Radicale live cost, and what does incremental sync save?

Run from the repository root:

    python -m bench.radicale_raw                       # 2,000 and 10,000 events
    python -m bench.radicale_raw --sizes 2000 --repeat 3

For each calendar size it seeds a real Radicale 3.9 (subprocess, 127.0.0.1)
with a deterministic mixture of events (timed in Europe/Paris, UTC, New York;
all-day; ~8 % recurring with EXDATEs and moved occurrences) and prints the
median of:

* a 30-day calendar-query time-range REPORT (``CalDAVClient.fetch_range``),
* a full sync-collection (every object with its data),
* an incremental sync-collection after one edit (requests and bytes too),
* the ETag fallback after one edit (PROPFIND listing + multiget of one),
* ``busy_intervals`` parse + expand over the 30-day result and over all.

Seeding: PUT is measured on a sample and extrapolated; the calendar itself
is seeded by writing ``.ics`` files straight into Radicale's storage folder
while the server is stopped (Radicale re-reads the folder and builds its
item cache on the first request, reported as the "cold" REPORT).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # `python bench/radicale_raw.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from booking.calendar_sync.dav import CalDAVClient, RemoteObject
from booking.calendar_sync.ics import IcsError, busy_intervals
from tests.fixtures.radicale import RadicaleCalendar, RadicaleServer

PARIS = ZoneInfo("Europe/Paris")
T = TypeVar("T")

VTZ_PARIS = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\n"
    "TZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
)
WINDOW = (datetime(2026, 11, 2, tzinfo=PARIS), datetime(2026, 12, 2, tzinfo=PARIS))
SPAN_START = date(2026, 6, 1)  # events spread over a year around the window
SPAN_DAYS = 365


def _wrap(body: str, with_tz: bool = False) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n"
        + (VTZ_PARIS if with_tz else "")
        + body
        + "END:VCALENDAR\r\n"
    )


def make_event(i: int, rng: random.Random, summary: str = "") -> str:
    """One calendar object resource; deterministic for (i, rng state)."""
    uid = f"bench-{i:06d}@bench.example"
    day = SPAN_START + timedelta(days=rng.randrange(SPAN_DAYS))
    hour, minute = rng.randrange(7, 19), rng.choice((0, 15, 30, 45))
    minutes = rng.choice((30, 45, 60, 60, 90, 120))
    summary = summary or f"Meeting {i}"
    head = f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:{summary}\r\n"
    kind = rng.random()
    local = datetime(day.year, day.month, day.day, hour, minute)
    if kind < 0.08:  # weekly/daily series with an EXDATE and a moved occurrence
        freq = rng.choice(("WEEKLY", "WEEKLY", "DAILY"))
        count = rng.randrange(8, 40)
        step = timedelta(weeks=1) if freq == "WEEKLY" else timedelta(days=1)
        fmt = "%Y%m%dT%H%M%S"
        ex = local + 2 * step
        moved_from = local + 3 * step
        moved_to = moved_from + timedelta(hours=2)
        body = (
            head + f"DTSTART;TZID=Europe/Paris:{local:{fmt}}\r\n"
            f"DTEND;TZID=Europe/Paris:{local + timedelta(minutes=minutes):{fmt}}\r\n"
            f"RRULE:FREQ={freq};COUNT={count}\r\nEXDATE;TZID=Europe/Paris:{ex:{fmt}}\r\n"
            "END:VEVENT\r\n"
            f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:{summary} (moved)\r\n"
            f"RECURRENCE-ID;TZID=Europe/Paris:{moved_from:{fmt}}\r\n"
            f"DTSTART;TZID=Europe/Paris:{moved_to:{fmt}}\r\n"
            f"DTEND;TZID=Europe/Paris:{moved_to + timedelta(minutes=minutes):{fmt}}\r\nEND:VEVENT\r\n"
        )
        return _wrap(body, with_tz=True)
    if kind < 0.13:  # all-day, 1-3 days
        end = day + timedelta(days=rng.randrange(1, 4))
        body = head + f"DTSTART;VALUE=DATE:{day:%Y%m%d}\r\nDTEND;VALUE=DATE:{end:%Y%m%d}\r\nEND:VEVENT\r\n"
        return _wrap(body)
    if kind < 0.40:  # UTC
        start = local.replace(tzinfo=PARIS).astimezone(UTC)
        end_utc = start + timedelta(minutes=minutes)
        body = head + f"DTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDTEND:{end_utc:%Y%m%dT%H%M%SZ}\r\nEND:VEVENT\r\n"
        return _wrap(body)
    if kind < 0.45:  # another zone, no VTIMEZONE (resolved by IANA name)
        body = head + f"DTSTART;TZID=America/New_York:{local:%Y%m%dT%H%M%S}\r\nDURATION:PT{minutes}M\r\nEND:VEVENT\r\n"
        return _wrap(body)
    fmt = "%Y%m%dT%H%M%S"
    body = (
        head + f"DTSTART;TZID=Europe/Paris:{local:{fmt}}\r\n"
        f"DTEND;TZID=Europe/Paris:{local + timedelta(minutes=minutes):{fmt}}\r\n"
        + ("TRANSP:TRANSPARENT\r\n" if kind > 0.97 else "")
        + "END:VEVENT\r\n"
    )
    return _wrap(body, with_tz=True)


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def median_of(repeat: int, fn: Callable[[], T]) -> tuple[float, T]:
    times: list[float] = []
    out: T | None = None
    for _ in range(repeat):
        dt, out = timed(fn)
        times.append(dt)
    assert out is not None
    return statistics.median(times), out


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def parse_all(objects: list[RemoteObject]) -> tuple[int, int]:
    """busy_intervals over every object in WINDOW: (busy blocks, errors)."""
    blocks = errors = 0
    for obj in objects:
        try:
            blocks += len(busy_intervals(obj.data, *WINDOW, PARIS))
        except IcsError:
            errors += 1
    return blocks, errors


def measure_put_rate(server: RadicaleServer, sample: int) -> float:
    """Seconds per PUT over HTTP (Radicale validates, writes, fsyncs each)."""
    cal = RadicaleCalendar(server, server.make_calendar("put-sample"))
    rng = random.Random(1)
    try:
        dt, _ = timed(lambda: [cal.put(f"p{i}", make_event(i, rng)) for i in range(sample)])
    finally:
        cal.close()
        server.delete_collection(cal.collection_url)
    return dt / sample


def seed_files(server: RadicaleServer, name: str, n: int) -> float:
    """Write n objects into the (stopped) server's collection folder."""
    folder = server.user_collections_dir / name
    rng = random.Random(n)
    t0 = time.perf_counter()
    for i in range(n):
        (folder / f"bench-{i:06d}.ics").write_text(make_event(i, rng), newline="")
    return time.perf_counter() - t0


def run_size(server: RadicaleServer, n: int, repeat: int, put_rate: float) -> None:
    name = f"bench-{n}"
    url = server.make_calendar(name)
    server.stop()
    write_s = seed_files(server, name, n)
    server.start()
    print(f"\n== {n:,} events  (seed by file write {write_s:.2f} s; by PUT ~{put_rate * n:.0f} s est.)")

    client = CalDAVClient(url, server.username, server.password, timeout=300)
    cal = RadicaleCalendar(server, url)
    try:
        # File-seeded storage has no caches yet: the first REPORT makes Radicale
        # parse every item (item cache), the first sync records every item's
        # history (sync-token state). PUT-seeded storage pays this per PUT.
        cold, objs = timed(lambda: client.fetch_range(*WINDOW))
        print(f"  cold: first REPORT (item cache build)     {ms(cold)}")
        cold, _ = timed(lambda: client.sync(None, {"/": ""}))
        print(f"  cold: first sync (sync history build)     {ms(cold)}")

        client.stats.reset()
        t_report, objs = median_of(repeat, lambda: client.fetch_range(*WINDOW))
        per = client.stats.bytes_received // repeat
        print(f"  30-day time-range REPORT          median {ms(t_report)}  {len(objs)} objects, {per:,} B")

        t_parse, (blocks, errors) = median_of(repeat, lambda: parse_all(objs))
        print(
            f"  busy_intervals on that result     median {ms(t_parse)}  {blocks} busy blocks, "
            f"{errors} errors, {t_parse / max(1, len(objs)) * 1000:.2f} ms/object"
        )
        print(f"  live REPORT + parse + expand             {ms(t_report + t_parse)}")

        client.stats.reset()
        t_full, full = median_of(repeat, lambda: client.sync(None))
        per, wire = client.stats.bytes_received // repeat, client.stats.wire_bytes_received // repeat
        reqs = client.stats.requests // repeat
        print(
            f"  full sync-collection              median {ms(t_full)}  {len(full.changed)} objects, "
            f"{reqs} request(s), {per:,} B ({wire:,} B gzip on the wire)"
        )
        if reqs > 1:
            print("    (Radicale refuses one REPORT with > 10,000 VEVENTs: ETag listing + multiget used)")

        t_all, (all_blocks, _) = timed(lambda: parse_all(full.changed))
        print(
            f"  busy_intervals on all objects            {ms(t_all)}  "
            f"({t_all / n * 1000:.2f} ms/object, {all_blocks} blocks in window)"
        )

        known = {o.href: o.etag or "" for o in full.changed}
        token = full.token
        times: list[float] = []
        reqs: list[int] = []
        sizes: list[int] = []
        rng = random.Random(7)
        for k in range(repeat):
            idx = rng.randrange(n)
            cal.put(f"bench-{idx:06d}", make_event(idx, random.Random(idx), summary=f"edited {k}"))
            client.stats.reset()
            dt, inc = timed(lambda tok=token: client.sync(tok, known))
            assert len(inc.changed) == 1 and not inc.full, inc
            times.append(dt)
            reqs.append(client.stats.requests)
            sizes.append(client.stats.bytes_received)
            known.update({o.href: o.etag or "" for o in inc.changed})
            token = inc.token
        print(
            f"  incremental sync after 1 edit     median {ms(statistics.median(times))}  "
            f"{max(reqs)} request, {int(statistics.median(sizes)):,} B"
        )

        etag_client = CalDAVClient(url, server.username, server.password, timeout=300, sync_mode="etag")
        times, sizes = [], []
        for k in range(repeat):
            idx = rng.randrange(n)
            cal.put(f"bench-{idx:06d}", make_event(idx, random.Random(idx), summary=f"etag edit {k}"))
            etag_client.stats.reset()
            dt, res = timed(lambda: etag_client.sync(None, known))
            assert len(res.changed) == 1, res
            times.append(dt)
            sizes.append(etag_client.stats.bytes_received)
            known.update({o.href: o.etag or "" for o in res.changed})
        print(
            f"  ETag fallback after 1 edit        median {ms(statistics.median(times))}  "
            f"2 requests, {int(statistics.median(sizes)):,} B"
        )
        etag_client.close()
    finally:
        client.close()
        cal.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--repeat", type=int, default=5, help="runs per median (default 5)")
    parser.add_argument("--put-sample", type=int, default=200, help="PUTs timed to estimate seeding")
    parser.add_argument(
        "--disk",
        action="store_true",
        help="keep Radicale's storage on disk instead of /dev/shm: every cache write is then "
        "fsynced and the cold first requests take minutes at 10,000 events",
    )
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    shm = Path("/dev/shm")
    base = None if args.disk or not shm.is_dir() else str(shm)
    with tempfile.TemporaryDirectory(prefix="bench-radicale-", dir=base) as tmp:
        server = RadicaleServer(Path(tmp))
        server.start()
        try:
            put_rate = measure_put_rate(server, args.put_sample)
            where = "tmpfs" if base else "disk"
            print(f"Radicale 3.9 on 127.0.0.1, storage on {where} ({tmp})")
            print(f"PUT one object: {put_rate * 1000:.1f} ms (mean of {args.put_sample})")
            print(f"window: {WINDOW[0]:%Y-%m-%d} .. {WINDOW[1]:%Y-%m-%d} Europe/Paris")
            for n in args.sizes:
                run_size(server, n, args.repeat, put_rate)
        finally:
            server.stop()
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
