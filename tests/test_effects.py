"""The composition root: one table of events -> handlers and jobs, the same for `serve` and `worker`;
handlers that never read the request; side effects tried after the response, one slow destination
never holding another's; each job once at a time across processes."""

from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from booking import clock, effects, jobs
from booking.extensions import db
from booking.models import CalendarConnection, OutboxMessage
from booking.services import outbox
from booking.services.bookings import BookingRequest, book
from tests.calendar_helpers import connect
from tests.conftest import base_env

ROOT = Path(__file__).resolve().parents[1]
FLASK_REQUEST_STATE = {"current_app", "request", "session", "g"}


def _worker_view(env: dict[str, str]) -> dict:
    """What `booking worker --list` prints, run as its own process (nothing else imported first)."""
    code = "import sys; from booking.cli import main; sys.argv = ['booking', 'worker', '--list']; main()"
    out = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _worker_imports(env: dict[str, str]) -> list[str]:
    code = (
        "import json, sys; from booking import create_app; create_app(web=False); "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('booking.'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_worker_registers_exactly_the_handlers_and_jobs_serve_has(app, tmp_path, sqlite_url):
    env = base_env(sqlite_url, tmp_path)
    serve_view = {**effects.describe(), "jobs": [job.name for job in jobs.registered_jobs(app)]}
    worker_view = _worker_view(env)
    assert worker_view == serve_view
    assert worker_view["events"]["booking.confirmed"] == ["caldav.push", "email.booking_contact", "email.booking_agent"]
    assert {
        "outbox.caldav",
        "outbox.email",
        "outbox.sms",
        "calendar_sync",
        "reminders",
        "callbacks.overdue",
        "requests.breach_scan",
        "voicemail.reconcile",
        "inbound.imap_poll",
        "chat.unanswered",
    } == set(worker_view["jobs"])
    imported = _worker_imports(env)
    assert not [m for m in imported if m.startswith("booking.routes") or m == "booking.voicemail.routes"]


def test_every_subscribed_handler_exists_and_every_handler_is_subscribed_and_has_a_lane():
    subscribed = {name for names in effects.SUBSCRIPTIONS.values() for name in names}
    assert subscribed == set(effects.HANDLERS) == set(effects.LANE_OF)
    assert set(effects.LANE_OF.values()) == set(outbox.LANES)


def _names_used(fn: object) -> set[str]:
    tree = ast.parse(inspect.getsource(inspect.getmodule(fn)))  # type: ignore[arg-type]
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "flask"
        for alias in node.names
    }
    return used & imported


@pytest.mark.parametrize("name", sorted(effects.HANDLERS))
def test_no_handler_module_reads_the_request_or_current_app(name):
    assert not _names_used(effects.HANDLERS[name]) & FLASK_REQUEST_STATE


def test_no_route_module_registers_handlers_or_jobs_or_drains_the_outbox():
    route_files = [*sorted((ROOT / "booking" / "routes").glob("*.py")), ROOT / "booking" / "voicemail" / "routes.py"]
    for path in route_files:
        source = path.read_text()
        for forbidden in ("booking.effects", "outbox.emit", "outbox.drain", "Job(", "subscribe("):
            assert forbidden not in source, f"{path.name} uses {forbidden}"


# -- the response never waits on a third party ---------------------------------------------------


@pytest.fixture
def env_overrides(smtp_sink):
    return {"BOOKING_SMTP_URL": smtp_sink.url}


def _wait_for(predicate, seconds: float = 10.0) -> bool:
    """Poll a real server's state (mail arriving over SMTP), bounded."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_a_stalled_calendar_server_neither_delays_the_booking_nor_its_mails(
    app, client, admin, make_agent, make_customer, radicale, stalled, live_server, smtp_sink, frozen
):
    agent = make_agent()
    connect(client, admin, agent["slug"], radicale)
    customer = make_customer(agent["slug"])
    conn = db.session.scalar(select(CalendarConnection))
    conn.url = f"http://127.0.0.1:{stalled.port}/cal/"
    db.session.commit()

    started = time.monotonic()
    response = requests.post(
        f"{live_server.url}/api/bookings",
        json={
            "token": customer["booking_token"],
            "start": "2026-11-30T10:00:00+01:00",
            "topic": "help",
            "name": "Ada",
            "email": "ada@customer.example",
        },
        timeout=30,
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert elapsed < 1.0
    # The mails are tried before the push, which is stuck on the stalled server meanwhile.
    assert _wait_for(lambda: len(smtp_sink.to("ada@customer.example")) == 1)
    assert _wait_for(lambda: len(smtp_sink.to(agent["email"])) == 1)
    stalled.close()  # the stuck push now fails at once and is left for the scheduler


def test_each_lane_drains_only_its_own_rows(app, client, admin, make_agent, make_customer, radicale, stalled, frozen):
    agent = make_agent()
    connect(client, admin, agent["slug"], radicale)
    customer = make_customer(agent["slug"])
    db.session.scalar(select(CalendarConnection)).url = f"http://127.0.0.1:{stalled.port}/cal/"
    db.session.commit()
    # Booked by the service itself (no request, so nothing is tried inline): the three rows wait.
    req = BookingRequest(
        token=customer["booking_token"],
        start=datetime.fromisoformat("2026-12-01T10:00:00+01:00"),
        duration_minutes=30,
        topic="help",
        name="Ada",
        email="ada@customer.example",
        notes=None,
        locale="en",
        idempotency_key=None,
    )
    book(db.session, app.extensions["booking.settings"], req, clock.now())
    email_job = next(job for job in jobs.registered_jobs(app) if job.name == "outbox.email")
    started = time.monotonic()
    result = email_job.fn()
    assert time.monotonic() - started < 5
    assert result.as_dict() == {"done": 2, "retried": 0, "failed": 0}
    pending = db.session.scalars(select(OutboxMessage.handler).where(OutboxMessage.status == "pending")).all()
    assert pending == ["caldav.push"]


def test_rows_are_leased_one_at_a_time(app, monkeypatch, frozen):
    """While one row runs, no other row is leased: a slow handler cannot make a batch outlive its lease."""
    leased_meanwhile: list[int] = []

    def slow(ctx, payload, now):
        others = ctx.session.scalars(select(OutboxMessage).where(OutboxMessage.locked_until.is_not(None))).all()
        leased_meanwhile.append(len(others))

    monkeypatch.setitem(effects.HANDLERS, "test.slow", slow)
    monkeypatch.setitem(effects.SUBSCRIPTIONS, "test.event", ("test.slow",))
    for n in range(5):
        outbox.emit(db.session, "test.event", {"n": n}, f"k{n}", clock.now())
    db.session.commit()
    assert outbox.drain(db.session, clock.now()).done == 5
    assert leased_meanwhile == [1, 1, 1, 1, 1]  # only the row being run


def test_a_job_already_running_elsewhere_is_skipped(app, monkeypatch):
    ran: list[str] = []
    job = effects.Job("test.job", lambda ctx, now: ran.append("ran"), seconds=lambda s: 60)
    with jobs.job_lock(app, "test.job") as mine:
        assert mine
        assert jobs.run_job(app, job) is None  # another holder: skipped
        assert ran == []
    jobs.run_job(app, job)
    assert ran == ["ran"]


def test_rows_a_job_queues_link_to_the_public_url(app, monkeypatch):
    """A job has no request: what it queues still carries BOOKING_PUBLIC_URL for its mails' links."""
    monkeypatch.setitem(effects.SUBSCRIPTIONS, "test.event", ("test.nothing",))
    monkeypatch.setitem(effects.HANDLERS, "test.nothing", lambda ctx, payload, now: None)

    def queue(ctx, now):
        outbox.emit(ctx.session, "test.event", {}, "k", now)
        ctx.session.commit()

    jobs.run_job(app, effects.Job("test.queue", queue, seconds=lambda s: 60))
    db.session.rollback()
    (row,) = db.session.scalars(select(OutboxMessage)).all()
    assert row.payload["base_url"] == "http://booking.test"


def test_a_long_drain_leases_each_row_from_when_it_is_claimed(app, monkeypatch, frozen):
    """The drain's ``now`` moves on with the clock: a row claimed 20 minutes in is leased from then."""
    leases = []

    def slow(ctx, payload, now):
        (running,) = ctx.session.scalars(select(OutboxMessage).where(OutboxMessage.locked_until.is_not(None))).all()
        leases.append(running.locked_until)
        frozen(clock.now() + timedelta(minutes=20))  # this one took 20 minutes

    monkeypatch.setitem(effects.HANDLERS, "test.slow", slow)
    monkeypatch.setitem(effects.SUBSCRIPTIONS, "test.event", ("test.slow",))
    started = clock.now()
    for n in range(2):
        outbox.emit(db.session, "test.event", {"n": n}, f"k{n}", started)
    db.session.commit()
    outbox.drain(db.session, started)
    lease = timedelta(seconds=app.extensions["booking.settings"].outbox_lease_seconds)
    assert leases == [started + lease, started + timedelta(minutes=20) + lease]
