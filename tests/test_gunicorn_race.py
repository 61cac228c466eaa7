"""Production shape race (issue 11): ``gunicorn -w 4`` and two ``booking worker``s on one PostgreSQL.

tests/test_races.py races 40 bookings inside one process (waitress threads, one connection pool);
this is the deployment the README describes: four gunicorn worker processes, each with its own pool,
and two worker processes running the jobs on the same database. 200 concurrent POST /api/bookings in
20 groups of 10 overlapping attempts (5 agents, 2 customers each) must give exactly one 201 per group,
409 ``slot_unavailable`` for the rest and never a 5xx; the database must hold exactly one confirmed
booking per group. Each confirmation mail's Message-ID must reach the SMTP sink exactly once, whether
the two workers send them all or the gunicorn processes do right after each response.

The clock is the real one (a subprocess cannot be time-travelled): the slots come from the running
server's own availability endpoint, at least three hours ahead, so they stay bookable during the test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from booking.extensions import db
from booking.models import Booking, OutboxMessage
from tests.conftest import base_env

ROOT = Path(__file__).resolve().parents[1]
AGENTS = 5
GROUPS_PER_AGENT = 4
ATTEMPTS_PER_GROUP = 10
CONCURRENCY = 50
REQUEST_TIMEOUT = 30
#: (offset from the group's start in minutes, duration): every one contains [S+30, S+60), so any two overlap
ATTEMPTS = [(0, 60), (30, 30), (30, 60)]
#: (start offset, end offset) in minutes of the window a group's attempts cover: S .. S+90
GROUP_SPAN = (0, 90)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Output goes to a file, never a pipe nobody reads (a full pipe would block the process)."""
    with open(log, "wb") as handle:
        return subprocess.Popen(args, env={**os.environ, **env}, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (graceful for gunicorn and the worker), then SIGKILL if it has not gone within 10 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def _wait_healthy(url: str, gunicorn: subprocess.Popen[bytes], log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert gunicorn.poll() is None, f"gunicorn exited with {gunicorn.returncode}:\n{_tail(log)}"
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # bound by the master, workers still booting
            pass
        time.sleep(0.1)
    raise AssertionError(f"gunicorn did not answer /healthz within {seconds} s:\n{_tail(log)}")


def _group_starts(url: str, slug: str, now: datetime) -> list[datetime]:
    """GROUPS_PER_AGENT starts S with [S, S+90) free, at least 3 h ahead, two hours apart (no cross-group overlap)."""
    response = requests.get(
        f"{url}/api/agents/{slug}/availability",
        params={"start": now.date().isoformat(), "end": (now + timedelta(days=21)).date().isoformat(), "duration": 60},
        timeout=REQUEST_TIMEOUT,
    )
    assert response.status_code == 200, response.text
    starts = {datetime.fromisoformat(slot["start"]) for slot in response.json()["slots"]}
    chosen: list[datetime] = []
    for start in sorted(starts):
        if start < now + timedelta(hours=3) or start + timedelta(minutes=30) not in starts:
            continue
        if chosen and start < chosen[-1] + timedelta(minutes=120):
            continue
        chosen.append(start)
        if len(chosen) == GROUPS_PER_AGENT:
            return chosen
    raise AssertionError(f"only {len(chosen)} free 90-minute windows for {slug} in three weeks")


@pytest.mark.slow
@pytest.mark.parametrize(
    "inline",
    [pytest.param("0", id="workers-send"), pytest.param("1", id="inline-send")],
)
def test_gunicorn_four_workers_two_booking_workers_two_hundred_overlapping_bookings(
    app, database_url, tmp_path, make_agent, make_customer, smtp_sink, inline
):
    """``inline`` 0: the two workers are the only senders (their duplicates are what is counted); 1: the
    production default, each gunicorn process tries its request's rows after the response, the
    workers stand by for retries - either way every mail goes out exactly once."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several processes on one database: the PostgreSQL deployment (SQLite has its own tests)")
    started = time.monotonic()
    agents = [make_agent()["slug"] for _ in range(AGENTS)]
    customers = {slug: [make_customer(slug)["booking_token"] for _ in range(2)] for slug in agents}
    db.session.commit()

    env = base_env(
        database_url,
        tmp_path,
        BOOKING_SMTP_URL=smtp_sink.url,
        BOOKING_OUTBOX_INLINE=inline,
        BOOKING_RATE_LIMIT_BOOKING="100000 per hour",  # a database race test, not a rate-limit test
        BOOKING_MAX_OPEN_BOOKINGS="10000",  # the configuration's maximum
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    gunicorn_log = tmp_path / "gunicorn.log"
    worker_logs = [tmp_path / f"worker-{n}.log" for n in range(2)]
    worker_code = "import sys; from booking.cli import main; sys.argv = ['booking', *sys.argv[1:]]; main()"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        gunicorn_args = ["-w", "4", "-b", f"127.0.0.1:{port}", "--timeout", "30", "booking:create_app()"]
        gunicorn = _spawn([sys.executable, "-m", "gunicorn", *gunicorn_args], env, gunicorn_log)
        processes.append(gunicorn)
        workers = [_spawn([sys.executable, "-c", worker_code, "worker"], env, log) for log in worker_logs]
        processes += workers
        _wait_healthy(url, gunicorn, gunicorn_log)

        now = datetime.now(UTC)
        groups = [(slug, start) for slug in agents for start in _group_starts(url, slug, now)]
        assert len(groups) == AGENTS * GROUPS_PER_AGENT

        def attempt(i: int) -> tuple[int, int, dict[str, Any]]:
            group = i // ATTEMPTS_PER_GROUP  # a group's ten are neighbours: in flight together, in 4 processes
            slug, start = groups[group]
            offset, duration = ATTEMPTS[i % len(ATTEMPTS)]
            response = requests.post(
                f"{url}/api/bookings",
                json={
                    "token": customers[slug][i % 2],
                    "start": (start + timedelta(minutes=offset)).isoformat(),
                    "duration": duration,
                    "topic": "help",
                    "name": f"Caller {i}",
                    "email": f"caller{i}@example.com",
                },
                timeout=REQUEST_TIMEOUT,
            )
            assert response.headers["Content-Type"].startswith("application/json"), (
                response.status_code,
                response.text,
            )
            return group, response.status_code, response.json()

        total = len(groups) * ATTEMPTS_PER_GROUP
        burst_started = time.monotonic()
        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            results = list(pool.map(attempt, range(total)))
        burst_seconds = time.monotonic() - burst_started

        statuses = Counter(status for _, status, _ in results)
        assert not [r for r in results if r[1] >= 500], (statuses, _tail(gunicorn_log))
        assert statuses == {201: len(groups), 409: total - len(groups)}, statuses
        wins = Counter(group for group, status, _ in results if status == 201)
        assert all(wins[g] == 1 for g in range(len(groups))), wins
        assert {body["error"]["code"] for _, status, body in results if status == 409} == {"slot_unavailable"}

        db.session.rollback()  # a fresh snapshot before counting what the other processes wrote
        confirmed = db.session.query(Booking).filter_by(status="confirmed").all()
        assert len(confirmed) == len(groups)
        assert sorted(b.id for b in confirmed) == sorted(body["id"] for _, status, body in results if status == 201)
        for slug, start in groups:
            window = (start + timedelta(minutes=GROUP_SPAN[0]), start + timedelta(minutes=GROUP_SPAN[1]))
            inside = [b for b in confirmed if b.agent.slug == slug and b.start_at < window[1] and b.end_at > window[0]]
            assert len(inside) == 1, (slug, start, inside)

        # Inline: done just after each response; workers: at their next tick (every 30 s). Bounded wait.
        deadline = time.monotonic() + 60
        while True:
            db.session.rollback()
            left = db.session.query(OutboxMessage).filter(OutboxMessage.status != "done").count()
            if not left or time.monotonic() > deadline:
                break
            assert all(w.poll() is None for w in workers), [_tail(log) for log in worker_logs]
            time.sleep(0.2)
        assert left == 0, [_tail(log) for log in worker_logs]
        mail_ids = Counter(str(message["Message-ID"]) for message in smtp_sink.messages)
        assert len(mail_ids) == 2 * len(groups)  # the contact's and the agent's confirmation per booking
        assert sum(mail_ids.values()) == len(mail_ids), [m for m, n in mail_ids.items() if n > 1]
    finally:
        for process in processes:
            _stop(process)
    elapsed = time.monotonic() - started
    print(f"gunicorn race (inline={inline}): {total} requests in {burst_seconds:.1f} s, {statuses}, {elapsed:.1f} s")
    assert elapsed < 90
