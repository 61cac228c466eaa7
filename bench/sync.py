"""Calendar sync against a real Radicale: how long our sync takes, next to what Radicale itself costs.

For calendars of 2,000 and 10,000 events (5 % of them weekly series in Europe/Paris), one run prints:
  * full       - the first sync pass (sync-collection REPORT + parse/expand + store), once;
  * incr       - a sync pass after the agent changed one event (median of 5 passes, one change each);
  * avail      - the availability query after the sync, in-process (median of 50; 30-day window);
  * radicale   - Radicale's own answer to a 30-day time-range calendar-query REPORT (median of 5);
  * expand     - the same 30-day window expanded by the server (<C:expand>) vs fetched raw and
                 expanded here with recurring-ical-events (median of 3 each), and whether the server's
                 expansion matches ours on the real DST / all-day / floating / zone fixtures.

Radicale keeps its storage on tmpfs when /dev/shm exists (fsync is free there, as in the tests).
Usage: python bench/sync.py [--sizes 2000 10000]     (about 2-3 minutes on a 2-core machine)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from booking import create_app
from booking.calendar_sync.connection import connect_calendar
from booking.calendar_sync.dav import CalDAVClient
from booking.calendar_sync.dav.multistatus import parse_multistatus
from booking.calendar_sync.ics import busy_intervals
from booking.calendar_sync.sync import sync_agent
from booking.extensions import db
from booking.models import Agent
from booking.services.availability import free_slots_for, window_for
from tests.fixtures.radicale import RadicaleServer

NOW = datetime(2026, 10, 19, 7, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
ICS_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "ics"
VTIMEZONE = (
    (ICS_DIR / "weekly_exdate_moved_dst_paris.ics")
    .read_text()
    .split("BEGIN:VEVENT")[0]
    .split("CALSCALE:GREGORIAN\n")[-1]
)


def event(i: int, *, hour: int | None = None) -> str:
    """Events spread over the 60-day horizon; every 20th is a weekly series in Paris time."""
    day = NOW.date() + timedelta(days=i % 60)
    stamp = day.strftime("%Y%m%d")
    h = hour if hour is not None else 8 + i % 9
    if i % 20 == 0:
        return (
            f"BEGIN:VEVENT\nUID:series-{i}@bench\nDTSTAMP:20261001T000000Z\nSUMMARY:Weekly {i}\n"
            f"DTSTART;TZID=Europe/Paris:{stamp}T{h:02d}0000\nDTEND;TZID=Europe/Paris:{stamp}T{h:02d}3000\n"
            "RRULE:FREQ=WEEKLY;COUNT=12\nEND:VEVENT\n"
        )
    return (
        f"BEGIN:VEVENT\nUID:ev-{i}@bench\nDTSTAMP:20261001T000000Z\nSUMMARY:Meeting {i}\n"
        f"DTSTART:{stamp}T{h:02d}{(i * 7) % 4 * 15:02d}00Z\nDTEND:{stamp}T{h:02d}{(i * 7) % 4 * 15 + 10:02d}00Z\n"
        "END:VEVENT\n"
    )


def calendar(events: list[str]) -> bytes:
    text = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//bench//EN\n" + VTIMEZONE + "".join(events) + "END:VCALENDAR\n"
    return text.replace("\n", "\r\n").encode()


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


def median_ms(fn: Callable[[], object], runs: int) -> float:
    return statistics.median(timed(fn)[0] for _ in range(runs))


def expand_report(session: requests.Session, url: str, start: datetime, end: datetime) -> list[bytes]:
    """calendar-query with <C:expand>: the server expands recurrences (RFC 4791 9.6.5)."""
    s, e = (v.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") for v in (start, end))
    body = (
        '<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" '
        'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data>'
        f'<C:expand start="{s}" end="{e}"/></C:calendar-data></D:prop><C:filter>'
        '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f'<C:time-range start="{s}" end="{e}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>'
    )
    r = session.request(
        "REPORT", url, data=body.encode(), headers={"Depth": "1", "Content-Type": "application/xml"}, timeout=120
    )
    r.raise_for_status()
    responses, _ = parse_multistatus(r.content)
    return [x.data for x in responses if x.data]


def server_busy(datas: list[bytes], tz: ZoneInfo) -> set[tuple[datetime, datetime]]:
    """Busy spans from server-expanded data, with the same TRANSP/STATUS/all-day/floating rules as ours."""
    out: set[tuple[datetime, datetime]] = set()

    def utc(v: date | datetime) -> datetime:
        if not isinstance(v, datetime):
            return datetime(v.year, v.month, v.day, tzinfo=tz).astimezone(UTC)
        return (v if v.tzinfo else v.replace(tzinfo=tz)).astimezone(UTC)

    for data in datas:
        for ev in icalendar.Calendar.from_ical(data).walk("VEVENT"):
            if str(ev.get("TRANSP", "")).upper() == "TRANSPARENT" or str(ev.get("STATUS", "")).upper() == "CANCELLED":
                continue
            if "X-BOOKING-ID" in ev:
                continue
            start = ev["DTSTART"].dt
            if "DTEND" in ev:
                end = ev["DTEND"].dt
            elif "DURATION" in ev:
                end = start + ev["DURATION"].dt
            else:
                end = start + timedelta(days=1) if not isinstance(start, datetime) else start
            if utc(end) > utc(start):
                out.add((utc(start), utc(end)))
    return out


def expansion_correctness(server: RadicaleServer) -> list[str]:
    """Put the real fixtures in a calendar; compare the server's expansion with ours, event by event."""
    url = server.make_calendar()
    names = [
        "weekly_exdate_moved_dst_paris",
        "allday_absence_dst_autumn",
        "floating_event",
        "new_york_event",
        "tokyo_event",
        "utc_event",
        "transparent_event",
        "cancelled_event",
        "duration_event",
    ]
    window = (datetime(2026, 10, 1, tzinfo=PARIS), datetime(2026, 12, 1, tzinfo=PARIS))
    report = []
    with server.session() as s:
        for name in names:
            r = s.put(f"{url}{name}.ics", data=(ICS_DIR / f"{name}.ics").read_bytes(), timeout=30)
            r.raise_for_status()
        for name in names:
            ours = {(b.start, b.end) for b in busy_intervals((ICS_DIR / f"{name}.ics").read_bytes(), *window, PARIS)}
            try:
                theirs = server_busy(
                    [d for d in expand_report(s, url, *window) if f"UID:{uid_of(name)}".encode() in d], PARIS
                )
            except (requests.RequestException, ValueError) as exc:
                report.append(f"{name}: server expansion failed ({exc})")
                continue
            if ours == theirs:
                report.append(f"{name}: same ({len(ours)} busy spans)")
            else:
                missing = sorted(ours - theirs)
                extra = sorted(theirs - ours)
                report.append(f"{name}: DIFFERENT - server misses {fmt(missing)}, adds {fmt(extra)}")
    server.delete_collection(url)
    return report


def uid_of(name: str) -> str:
    for line in (ICS_DIR / f"{name}.ics").read_text().splitlines():
        if line.startswith("UID:"):
            return line[4:].strip()
    raise ValueError(name)


def fmt(spans: list[tuple[datetime, datetime]]) -> str:
    return "[" + ", ".join(f"{s:%m-%d %H:%M}-{e:%H:%M}Z" for s, e in spans) + "]" if spans else "nothing"


def bench_size(server: RadicaleServer, size: int, folder: Path) -> dict[str, float]:
    url = server.make_calendar()
    events = [event(i) for i in range(size)]
    with server.session() as s:
        seed_ms, r = timed(
            lambda: s.put(url, data=calendar(events), headers={"Content-Type": "text/calendar"}, timeout=600)
        )
    assert r.status_code in (201, 204), r  # type: ignore[attr-defined]
    db_path = folder / f"sync-{size}.sqlite3"
    app = create_app(
        env={
            "BOOKING_DATABASE_URL": f"sqlite:///{db_path}",
            "BOOKING_SECRET_KEY": "bench-secret-key-0123456789",
            "BOOKING_INSTANCE_PATH": str(folder),
            "BOOKING_OUTBOX_INLINE": "false",
        }
    )
    out: dict[str, float] = {"seed": seed_ms}
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        settings = app.extensions["booking.settings"]
        agent = Agent(slug="bench", name="Bench", email="b@example.com", phone="+33140000000", timezone="Europe/Paris")
        db.session.add(agent)
        db.session.commit()
        connect_calendar(db.session, settings, agent, url, server.username, server.password, NOW)

        out["full"], counts = timed(lambda: sync_agent(db.session, settings, agent, NOW))
        out["blocks"] = counts.busy_blocks  # type: ignore[attr-defined]
        out["full_bytes"] = counts.bytes_received  # type: ignore[attr-defined]
        incr, incr_bytes = [], []
        with server.session() as s:
            for n in range(5):
                i = 1 + n * 20 + 1  # a single (non-recurring) event
                s.put(f"{url}ev-{i}@bench.ics", data=calendar([event(i, hour=16)]), timeout=30).raise_for_status()
                when = NOW + timedelta(minutes=5 * (n + 1))
                ms, c = timed(lambda when=when: sync_agent(db.session, settings, agent, when))
                assert c.changed == 1 and c.mode == "incremental", c  # type: ignore[attr-defined]
                incr.append(ms)
                incr_bytes.append(c.bytes_received)  # type: ignore[attr-defined]
        out["incr"] = statistics.median(incr)
        out["incr_bytes"] = statistics.median(incr_bytes)

        window = window_for(date(2026, 10, 26), date(2026, 11, 25), settings.timezone)
        duration = timedelta(minutes=30)
        free_slots_for(db.session, settings, agent, window, duration, NOW)
        out["avail"] = median_ms(lambda: free_slots_for(db.session, settings, agent, window, duration, NOW), 50)
        db.session.remove()
        db.engine.dispose()

    start, end = datetime(2026, 10, 26, tzinfo=PARIS), datetime(2026, 11, 25, tzinfo=PARIS)
    with CalDAVClient(url, server.username, server.password) as client:
        client.fetch_range(start, end)  # warm
        out["radicale"] = median_ms(lambda: client.fetch_range(start, end), 5)

        def ours() -> int:
            objs = client.fetch_range(start, end)
            return sum(len(busy_intervals(o.data, start, end, PARIS)) for o in objs)

        out["expand_ours"] = median_ms(ours, 3)
    with server.session() as s:
        try:
            out["expand_server"] = median_ms(lambda: server_busy(expand_report(s, url, start, end), PARIS), 3)
        except requests.HTTPError as exc:
            # Radicale 3.9 caps an expanded REPORT at [reporting] max_expand_occurrence (10,000
            # occurrences in total, not per event) and answers 400 beyond it.
            out["expand_server"] = float("nan")
            out["expand_refused"] = float(exc.response.status_code if exc.response is not None else 0)
    server.delete_collection(url)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="booking-bench-sync-"))
    shm = Path("/dev/shm")
    storage = Path(tempfile.mkdtemp(prefix="radicale-bench-", dir=shm)) if shm.is_dir() else None
    with RadicaleServer(folder / "radicale", storage_dir=storage) as server:
        results = {size: bench_size(server, size, folder) for size in args.sizes}
        correctness = expansion_correctness(server)

    print("Calendar sync vs Radicale (SQLite, Radicale 3 on tmpfs; ms)")
    head = f"{'events':>7} {'full sync':>10} {'incr (1 chg)':>13} {'incr bytes':>11} {'availability':>13}"
    print(head + f" {'Radicale 30d REPORT':>20} {'30d server expand':>18} {'30d raw+our expand':>19}")
    for size, r in results.items():
        print(
            f"{size:>7} {r['full']:>10.0f} {r['incr']:>13.1f} {r['incr_bytes']:>11.0f} {r['avail']:>13.2f}"
            f" {r['radicale']:>20.0f} {r['expand_server']:>18.0f} {r['expand_ours']:>19.0f}"
        )
    for size, r in results.items():
        print(
            f"  {size} events: {int(r['blocks'])} busy blocks stored; full sync received {r['full_bytes'] / 1e6:.1f} MB"
            f" in one REPORT; seeding Radicale took {r['seed'] / 1000:.1f} s"
        )
    for size, r in results.items():
        if "expand_refused" in r:
            print(
                f"  {size} events: Radicale refused the 30-day <C:expand> REPORT with {int(r['expand_refused'])}"
                " (its max_expand_occurrence limit, 10,000 occurrences per REPORT)"
            )
    print("Server expansion (<C:expand>) vs recurring-ical-events on the real fixtures:")
    for line in correctness:
        print("  " + line)


if __name__ == "__main__":
    main()
