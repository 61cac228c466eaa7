"""The measurements behind ``python -m bench`` (see bench/__main__.py): seed, serve, load, compare."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.load import Req, Server, background, wrk

SECRET = "bench-secret-key-0123456789abcdefghij"
ADMIN_TOKEN = "bench-admin-token-0123456789abcdefghij"
TWILIO_TOKEN = "bench-twilio-auth-token-0123456789"
PUBLIC_URL = "http://booking.test"
LINE = "+33900000000"
BOOKING_AGENTS = 48
OVERLAP_AGENTS = 16
OVERLAP_GROUP = 8
WARM = 400  # distinct bookings sent before the measured run (warm-up)


@dataclass(frozen=True)
class Row:
    section: str
    case: str
    ours: str
    reference: str = ""
    target: str = ""
    met: bool | None = None


def _ms(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def base_env(url: str, instance: Path, **extra: str) -> dict[str, str]:
    env = {
        "BOOKING_DATABASE_URL": url,
        "BOOKING_SECRET_KEY": SECRET,
        "BOOKING_ADMIN_TOKEN": ADMIN_TOKEN,
        "BOOKING_INSTANCE_PATH": str(instance),
        "BOOKING_TIMEZONE": "Europe/Paris",
        "BOOKING_HOLIDAYS": "FR",
        "BOOKING_PUBLIC_URL": PUBLIC_URL,
        "BOOKING_OUTBOX_INLINE": "0",
        "BOOKING_SCHEDULER": "0",
        "BOOKING_RATE_LIMIT_BOOKING": "10000000 per hour",
        "BOOKING_RATE_LIMIT_FORMS": "10000000 per hour",
        "BOOKING_MAX_OPEN_BOOKINGS": "10000",
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": LINE,
        "BOOKING_LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


class Databases:
    """A fresh SQLite file and (when given a server) a fresh ``<db>_bench`` PostgreSQL database."""

    def __init__(self, folder: Path, pg_url: str | None) -> None:
        self.folder = folder
        self.pg_url = pg_url
        self._pg: str | None = None

    def __enter__(self) -> Databases:
        if self.pg_url:
            base = make_url(self.pg_url)
            name = f"{base.database}_bench"
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            self._pg = base.set(database=name).render_as_string(hide_password=False)
        return self

    def url(self, name: str) -> str:
        if name == "sqlite":
            return f"sqlite:///{self.folder / 'bench.sqlite3'}"
        assert self._pg is not None
        return self._pg

    def __exit__(self, *_: object) -> None:
        if self._pg and self.pg_url:
            base = make_url(self.pg_url)
            admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(self._pg).database}" WITH (FORCE)'))
            admin.dispose()


@contextmanager
def app_for(url: str, folder: Path) -> Iterator[Any]:
    from flask_migrate import upgrade

    from booking import create_app
    from booking.extensions import db

    app = create_app(env=base_env(url, folder))
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def _admin(app: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = app.test_client().post(path, json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    if response.status_code not in (200, 201):
        raise RuntimeError(f"{path}: {response.status_code} {response.get_data(as_text=True)}")
    return response.get_json()  # type: ignore[no-any-return]


def _agent(app: Any, slug: str, n: int) -> dict[str, Any]:
    existing = app.test_client().get(f"/api/agents/{slug}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    if existing.status_code == 200:
        raise RuntimeError(f"agent {slug} already seeded")
    return _admin(
        app, "/api/agents", {"slug": slug, "name": slug, "email": f"{slug}@example.com", "phone": f"+3314{n:07d}"}
    )


def _customer(app: Any, slug: str, n: int) -> dict[str, Any]:
    body = {
        "name": f"Customer {n}",
        "plan": "all-inclusive",
        "dedicated_support": True,
        "agent": slug,
        "phones": [f"+3361{n:07d}"],
        "emails": [f"c{n}@customer.example"],
    }
    return _admin(app, "/api/customers", body)


def _window() -> tuple[date, date]:
    start = (datetime.now(UTC) + timedelta(days=2)).date()
    return start, start + timedelta(days=30)


def _seed_blocks(app: Any, slug: str, blocks: int) -> None:
    from booking.extensions import db
    from booking.models import Agent, BusyBlock

    agent = db.session.query(Agent).filter_by(slug=slug).one()
    start, _ = _window()
    first = datetime(start.year, start.month, start.day, tzinfo=UTC)
    rng = random.Random(blocks)
    rows = []
    for i in range(blocks):
        s = first + timedelta(minutes=rng.randrange(0, 29 * 24 * 60))
        rows.append(
            BusyBlock(
                agent_id=agent.id,
                start_at=s,
                end_at=s + timedelta(minutes=rng.randrange(15, 121)),
                source="caldav",
                source_href=f"/cal/{i}.ics",
                external_uid=f"uid-{i}",
            )
        )
    db.session.add_all(rows)
    db.session.commit()


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def _server_kind(db_name: str) -> str:
    return "waitress" if db_name == "sqlite" else "gunicorn"


# --------------------------------------------------------------------------------------------------
# Availability
# --------------------------------------------------------------------------------------------------


def availability(db_name: str, url: str, folder: Path, sizes: list[int], seconds: float) -> list[Row]:
    from booking.extensions import db
    from booking.models import Agent
    from booking.services import busy_cache
    from booking.services.availability import free_slots_for, window_for

    start, end = _window()
    in_process: dict[int, float] = {}
    uncached: dict[int, float] = {}
    direct: dict[int, float] = {}
    with app_for(url, folder) as app:
        settings = app.extensions["booking.settings"]
        for n, size in enumerate(sizes):
            slug = f"avail-{size}"
            _agent(app, slug, 9000 + n)
            _seed_blocks(app, slug, size)
            agent = db.session.query(Agent).filter_by(slug=slug).one()
            window = window_for(start, end, settings.timezone)

            def query(agent: Agent = agent, window: Any = window) -> object:
                return free_slots_for(db.session, settings, agent, window, settings.slot_step, datetime.now(UTC))

            def after_change(agent: Agent = agent, window: Any = window) -> object:
                busy_cache.clear()  # what the first answer after a change to the agent's busy time costs
                return query(agent, window)

            def no_cache(agent: Agent = agent, window: Any = window) -> object:
                version_for = busy_cache.version_for
                busy_cache.version_for = lambda *_: None  # type: ignore[assignment]  # the old path
                try:
                    return query(agent, window)
                finally:
                    busy_cache.version_for = version_for

            in_process[size] = _median_ms(query, 50)
            uncached[size] = _median_ms(after_change, 30)
            direct[size] = _median_ms(no_cache, 30)
            db.session.rollback()
    kind = _server_kind(db_name)
    env = base_env(url, folder, BENCH_DATABASE_URL=url)
    results: dict[tuple[str, int, int], Any] = {}
    # Both servers run side by side and each case alternates between them (twice, the better run of
    # each kept), so a burst of other work on the machine hits both rather than one.
    with (
        Server(kind, "booking:create_app()", env, folder) as ours,
        Server(kind, "bench.minimal_app:app", env, folder) as floor,
    ):
        ours.wait("/healthz")
        floor.wait("/healthz")
        for size in sizes:
            query = urlencode({"start": start.isoformat(), "end": end.isoformat()})
            req = [Req("GET", f"/api/agents/avail-{size}/availability?{query}")]
            for clients in (1, 32):
                for _ in range(2):
                    for app_name, server in (("booking", ours), ("minimal", floor)):
                        res = wrk(server.url, req, clients, seconds)
                        best = results.get((app_name, size, clients))
                        if best is None or res.p50_ms < best.p50_ms:
                            results[(app_name, size, clients)] = res
    rows = []
    for size in sizes:
        for clients in (1, 32):
            ours, floor = results[("booking", size, clients)], results[("minimal", size, clients)]
            ratio = ours.p50_ms / floor.p50_ms
            ok = ours.ok() and floor.ok()
            rows.append(
                Row(
                    "availability",
                    f"{db_name} {kind}, {size} blocks, {clients} client{'s' * (clients > 1)}",
                    f"p50 {_ms(ours.p50_ms)} / p99 {_ms(ours.p99_ms)} ms" + ("" if ok else f" ERR {ours.codes}"),
                    f"minimal app p50 {_ms(floor.p50_ms)} / p99 {_ms(floor.p99_ms)} ms (×{ratio:.2f})",
                    "≤ 2× the minimal app",
                    ok and ratio <= 2.0,
                )
            )
        rows.append(
            Row(
                "availability",
                f"{db_name} in-process free_slots_for, {size} blocks",
                f"{_ms(in_process[size])} ms cached; {_ms(uncached[size])} ms first after a change",
                f"without the cache (read + parse every time) {_ms(direct[size])} ms",
                "≤ 2 ms at 5,000" if size == 5000 else "",
                in_process[size] <= 2.0 if size == 5000 else None,
            )
        )
    return rows


# --------------------------------------------------------------------------------------------------
# Bookings
# --------------------------------------------------------------------------------------------------


def _booking_body(token: str, start: datetime, duration: int, n: int) -> str:
    import json

    return json.dumps(
        {
            "token": token,
            "start": start.isoformat(),
            "duration": duration,
            "topic": "help",
            "name": f"Caller {n}",
            "email": f"caller{n}@example.com",
        }
    )


def bookings(db_name: str, url: str, folder: Path, seconds: float) -> list[Row]:
    from booking.extensions import db
    from booking.models import Agent
    from booking.services.availability import free_slots_for, window_for

    horizon_start = datetime.now(UTC).date() + timedelta(days=1)
    distinct: list[list[Req]] = []
    overlap: list[Req] = []
    json_headers = (("Content-Type", "application/json"),)
    with app_for(url, folder) as app:
        settings = app.extensions["booking.settings"]
        window = window_for(horizon_start, horizon_start + timedelta(days=55), settings.timezone)
        n = 0
        for i in range(BOOKING_AGENTS + OVERLAP_AGENTS):
            slug = f"book-{i}"
            _agent(app, slug, 8000 + i)
            token = _customer(app, slug, 8000 + i)["booking_token"]
            agent = db.session.query(Agent).filter_by(slug=slug).one()
            if i < BOOKING_AGENTS:
                slots = free_slots_for(db.session, settings, agent, window, timedelta(minutes=30), datetime.now(UTC))
                distinct.append(
                    [
                        Req("POST", "/api/bookings", _booking_body(token, s, 30, n + k), json_headers)
                        for k, (s, _) in enumerate(slots)
                    ]
                )
                n += len(slots)
            else:
                slots = free_slots_for(db.session, settings, agent, window, timedelta(minutes=90), datetime.now(UTC))
                starts = [s for s, _ in slots]
                chosen: list[datetime] = []
                for s in starts:
                    if not chosen or s >= chosen[-1] + timedelta(hours=2):
                        chosen.append(s)
                for s in chosen:
                    for k in range(OVERLAP_GROUP):  # each contains [s+30, s+60)
                        offset, duration = [(0, 60), (30, 30), (30, 60)][k % 3]
                        overlap.append(
                            Req(
                                "POST",
                                "/api/bookings",
                                _booking_body(token, s + timedelta(minutes=offset), duration, n),
                                json_headers,
                            )
                        )
                        n += 1
            db.session.rollback()
    # Interleave agents so that consecutive requests (in flight together) book different agents.
    flat = [r for group in zip(*distinct, strict=False) for r in group]
    # Interleave the overlap groups of different agents, keeping each group's attempts adjacent.
    kind = _server_kind(db_name)
    env = base_env(url, folder)
    with Server(kind, "booking:create_app()", env, folder) as server:
        server.wait("/healthz")
        dist = wrk(server.url, flat[WARM:], 32, seconds, timeout_s=30, warmup=flat[:WARM])
        over = wrk(server.url, overlap, 32, seconds, timeout_s=30, warmup=[])
    overlaps = _overlapping_pairs(url)
    target_rate = 200 if db_name == "postgresql" else 100
    rows = []
    for label, res, codes in (("distinct slots", dist, (201,)), ("overlapping slots", over, (201, 409))):
        sent = len(flat) - WARM if res is dist else len(overlap)
        wrapped = res.requests > sent
        rows.append(
            Row(
                "bookings",
                f"{db_name} {kind}{' -w 4' if kind == 'gunicorn' else ' 8 threads'}, 32 clients, {label}",
                f"{res.rps:.0f}/s, p50 {_ms(res.p50_ms)} / p99 {_ms(res.p99_ms)} ms, {res.codes}"
                + (f", {res.errors} socket errors" if res.errors else "")
                + (" (list wrapped)" if wrapped else ""),
                f"overlapping confirmed pairs in the DB: {overlaps}",
                f"≥ {target_rate}/s, p99 < 250 ms, 0 overlaps",
                res.ok(*codes) and res.rps >= target_rate and res.p99_ms < 250 and overlaps == 0,
            )
        )
    return rows


def _overlapping_pairs(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(
            text(
                "SELECT count(*) FROM bookings a JOIN bookings b ON a.agent_id = b.agent_id AND a.id < b.id "
                "WHERE a.status = 'confirmed' AND b.status = 'confirmed' "
                "AND a.start_at < b.end_at AND b.start_at < a.end_at"
            )
        ).scalar_one()
    engine.dispose()
    return int(count)


# --------------------------------------------------------------------------------------------------
# Webhooks
# --------------------------------------------------------------------------------------------------


def _signed(path: str, params: dict[str, str]) -> Req:
    from twilio.request_validator import RequestValidator

    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + path, params)
    headers = (("Content-Type", "application/x-www-form-urlencoded"), ("X-Twilio-Signature", signature))
    return Req("POST", path, urlencode(params), headers)


WEBHOOK_UNIT = Path(__file__).resolve().parents[1] / "deploy" / "booking-webhooks.service"


def webhook_pool_env(unit: Path = WEBHOOK_UNIT) -> dict[str, str]:
    """The ``BOOKING_WEB_*`` / ``BOOKING_OUTBOX_*`` ``Environment=`` lines of the webhook pool's unit:
    the bench serves the webhooks exactly as deployed (workers, worker class, drain thread), so the
    two cannot drift apart. The bind address is the bench's own."""
    env = {}
    for line in unit.read_text().splitlines():
        key, _, value = line.removeprefix("Environment=").partition("=")
        if line.startswith("Environment=") and key.startswith(("BOOKING_WEB_", "BOOKING_OUTBOX_")):
            env[key] = value
    return env


def _pool_label(env: dict[str, str]) -> str:
    kind = env.get("BOOKING_WEB_WORKER_CLASS", "gthread")
    threads = f" x {env.get('BOOKING_WEB_THREADS', '64')} threads" if kind == "gthread" else ""
    return f"gunicorn webhook pool -w {env.get('BOOKING_WEB_WORKERS', '4')} {kind}{threads}"


def webhooks(db_name: str, url: str, folder: Path, seconds: float) -> list[Row]:
    """On PostgreSQL the deployment's model: the webhooks on their own gunicorn, started with the
    ``Environment=`` of deploy/booking-webhooks.service; also a voice call while 32 clients load the
    main pool, sent to the main pool itself and to the webhook pool, and the main pool's model (4
    gthread workers) at 16 clients."""
    with app_for(url, folder) as app:
        _agent(app, "phone-agent", 7000)
        phone = _customer(app, "phone-agent", 7000)["phones"][0]
        _agent(app, "busy-agent", 7001)
        _seed_blocks(app, "busy-agent", 5000)
    tag = db_name[:2]

    def voice_req(i: int) -> Req:
        params = {"CallSid": f"CA{tag}{i:08d}", "From": phone, "To": LINE, "AccountSid": "ACbench"}
        return _signed("/twilio/voice", {**params, "CallStatus": "ringing"})

    def record_req(i: int) -> Req:
        sid = f"RE{tag}{i:08d}"
        return _signed(
            "/twilio/voicemail",
            {
                "CallSid": f"CA{tag}{i:08d}",
                "From": phone,
                "RecordingSid": sid,
                "RecordingStatus": "completed",
                "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/ACbench/Recordings/{sid}",
                "RecordingDuration": "12",
                "AccountSid": "ACbench",
            },
        )

    voice = [voice_req(i) for i in range(40000)]
    record = [record_req(i) for i in range(40000)]
    kind = _server_kind(db_name)
    env = base_env(url, folder)
    rows = []

    def row(case: str, res: Any, limit: float | None, reference: str = "") -> Row:
        return Row(
            "webhooks",
            case,
            f"p50 {_ms(res.p50_ms)} / p99 {_ms(res.p99_ms)} ms, {res.rps:.0f}/s"
            + ("" if res.ok() else f" {res.codes} {res.errors} errors"),
            reference,
            "" if limit is None else f"p99 < {limit:.0f} ms",
            None if limit is None else res.ok() and res.p99_ms < limit,
        )

    hook_env = {**env, **webhook_pool_env()} if kind == "gunicorn" else env
    pool = _pool_label(hook_env) if kind == "gunicorn" else "waitress 8 threads"
    with Server(kind, "booking:create_app()", hook_env, folder) as server:
        server.wait("/healthz")
        for label, reqs in (("voice", voice), ("voicemail", record)):
            for clients in (1, 16):
                part = reqs[1000:10000] if clients == 1 else reqs[10000:20000]
                res = wrk(server.url, part, clients, seconds, warmup=reqs[:1000] if clients == 1 else [])
                plural = "s" * (clients > 1)
                rows.append(
                    row(
                        f"{db_name} {pool}, /twilio/{label}, {clients} client{plural}", res, 20 if clients == 1 else 100
                    )
                )
        if kind != "gunicorn":
            return rows
        start, end = _window()
        query = urlencode({"start": start.isoformat(), "end": end.isoformat()})
        heavy = [Req("GET", f"/api/agents/busy-agent/availability?{query}")]
        with Server(kind, "booking:create_app()", env, folder) as main:
            main.wait("/healthz")
            wrk(main.url, heavy, 8, 1, warmup=[])
            for target, name in ((main, "the same (main) pool"), (server, "the webhook pool")):
                with background(main.url, heavy, 32, seconds + 2):
                    time.sleep(0.5)
                    res = wrk(target.url, voice[20000 + 5000 * (target is server) :], 1, seconds, warmup=[])
                rows.append(
                    row(
                        f"postgresql /twilio/voice, 1 client, while 32 clients load availability "
                        f"(5k blocks) on the main pool; sent to {name}",
                        res,
                        None,
                    )
                )
    # The webhook pool's model before issue 19 (2 gthread workers of 64 threads), on requests of its
    # own: the old "sync (before)" row replayed CallSids the pool had already stored (cheaper).
    before = {**env, "BOOKING_WEB_WORKERS": "2", "BOOKING_WEB_WORKER_CLASS": "gthread", "BOOKING_WEB_THREADS": "64"}
    with Server(kind, "booking:create_app()", before, folder) as old:
        old.wait("/healthz")
        for label, reqs in (("voice", voice[30000:]), ("voicemail", record[30000:])):
            res = wrk(old.url, reqs[300:], 16, seconds, warmup=reqs[:300])
            rows.append(
                row(f"postgresql webhook pool before (-w 2 gthread x 64), /twilio/{label}, 16 clients", res, None)
            )
    return rows


# --------------------------------------------------------------------------------------------------
# Sync
# --------------------------------------------------------------------------------------------------


def sync(folder: Path, sizes: list[int]) -> list[Row]:
    import icalendar

    from bench.sync import bench_size, calendar, event
    from tests.fixtures.radicale import RadicaleServer

    shm = Path("/dev/shm")
    storage = Path(tempfile_dir(shm)) if shm.is_dir() else None
    rows = []
    per_thousand = _median_ms(lambda: icalendar.Calendar.from_ical(calendar([event(i) for i in range(1000)])), 3)
    with RadicaleServer(folder / "radicale", storage_dir=storage) as server:
        for size in sizes:
            r = bench_size(server, size, folder)
            rows.append(
                Row(
                    "sync",
                    f"SQLite, {size} events, full sync",
                    f"{r['full']:.0f} ms ({r['full'] / size:.2f} ms/event)",
                    f"icalendar bare parse {per_thousand:.0f} ms per 1,000 events"
                    f" (×{r['full'] / (per_thousand * size / 1000):.1f})",
                    "≤ 5 s at 10,000" if size == 10000 else "",
                    r["full"] <= 5000 if size == 10000 else None,
                )
            )
            rows.append(
                Row(
                    "sync",
                    f"SQLite, {size} events, incremental (1 change)",
                    f"{r['incr']:.0f} ms",
                    f"Radicale's own 30-day REPORT {r['radicale']:.0f} ms",
                    "",
                    None,
                )
            )
    return rows


def tempfile_dir(parent: Path) -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="radicale-bench-", dir=parent)


# --------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------


def render(rows: list[Row]) -> str:
    lines = ["| section | case | ours | reference (same run) | target | met |", "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(f"| {r.section} | {r.case} | {r.ours} | {r.reference} | {r.target} | {met} |")
    return "\n".join(lines)


README_HEAD = """# Benchmarks

`python -m bench` (from the repository root, with the test extra installed and `wrk` on PATH) measures
every figure of issue 19 in one run and rewrites the table below; `--quick` for a shorter run,
`--only availability bookings webhooks sync` for a subset, `--db sqlite postgresql`, `--pg-url` for
PostgreSQL (the bench creates and drops `<database>_bench`). The machine is shared: read the ratios to
the references measured in the same run, not the absolute times. The older single-purpose benches
(`bench/availability.py`, `bench/core_availability.py`, `bench/sync.py`, `bench/radicale_raw.py`,
`bench/sla_queue.py`) still run on their own.

What each case is:

* **availability**: `GET /api/agents/<slug>/availability` for a 30-day window holding all N busy
  blocks, against `bench/minimal_app.py` (a bare WSGI app: the same indexed UNION ALL on the driver
  and the same core slot pass, no framework) served by the same server, the two alternated case by
  case; the in-process row is `free_slots_for` from the per-agent busy-time cache, the first answer
  after a change (cache empty), and the old path (read + parse every time).
* **bookings**: `POST /api/bookings` from 32 connections, each request a distinct free slot (48
  agents interleaved) or groups of 8 overlapping attempts; afterwards the database is checked for
  overlapping confirmed bookings (must be 0).
* **webhooks**: every request distinct (CallSid / RecordingSid) and signed with
  `twilio.request_validator`; on PostgreSQL served as deployed (their own gunicorn, with
  the `Environment=` lines of `deploy/booking-webhooks.service`: 4 sync workers), plus a voice call while
  32 clients load the main pool, and the pool's model before issue 19 (2 gthread workers x 64 threads).
* **sync**: a real Radicale on tmpfs; full pass and an incremental pass after one change, next to
  Radicale's own 30-day calendar-query REPORT and icalendar's bare parse of 1,000 of the same events.

"""


def write_readme(path: Path, table: str, load: str, command: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    path.write_text(f"{README_HEAD}Last run: `{command}` at {stamp}; {load}.\n\n{table}\n")
