"""APScheduler wiring: runs the jobs that ``booking.effects.JOBS`` declares, each once at a time.

``booking serve`` runs this in-process (one process, embedded defaults); in production ``booking
worker`` runs it alone beside gunicorn, on one or more hosts. Each job run takes a lock named after
the job first — a PostgreSQL advisory lock (across hosts) or, on SQLite, an exclusive ``flock`` on a
file beside the database (across processes of the one host that can share it) — and a run that finds
the lock taken is skipped: the job is running elsewhere. Work items inside a job are idempotent
besides (outbox rows are claimed one by one, reminders are keyed per booking version), so a skipped
or repeated tick never does anything twice. Whatever a job queues in the outbox is drained right
after it, and the outbox itself is drained per lane (CalDAV / e-mail / SMS) as separate jobs, so a
hanging calendar server never delays a mail.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask, current_app, has_app_context
from sqlalchemy import text

from booking import links, wiring
from booking.config import Settings
from booking.effects import JOBS, Context, Job
from booking.extensions import db, remove_session
from booking.services import outbox

log = logging.getLogger(__name__)

__all__ = ["build_scheduler", "registered_jobs", "run_job", "scheduled_jobs"]


def scheduled_jobs() -> list[Job]:
    """Every scheduled job: the declared ones, with the outbox split into its lanes."""
    jobs: list[Job] = []
    for job in JOBS:
        if job.name == "outbox":
            jobs += [Job(f"outbox.{lane}", _lane_drain(lane), job.seconds) for lane in outbox.LANES]
        else:
            jobs.append(job)
    return jobs


def _lane_drain(lane: str) -> Callable[[Context, datetime], object]:
    def run(ctx: Context, now: datetime) -> object:
        return outbox.drain(ctx.session, now, adapters=ctx.adapters, lane=lane)

    return run


@dataclass(frozen=True)
class BoundJob:
    """A job bound to an app: ``fn()`` runs one tick now, as the scheduler would (locks included)."""

    name: str
    seconds: Callable[[Settings], int]
    fn: Callable[[], object]


def registered_jobs(app: Flask | None = None) -> list[BoundJob]:
    """The jobs this app's scheduler runs (``current_app`` when no app is given)."""

    def tick(job: Job) -> Callable[[], object]:
        return lambda: run_job(app or current_app._get_current_object(), job)  # type: ignore[attr-defined]

    return [BoundJob(job.name, job.seconds, tick(job)) for job in scheduled_jobs()]


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key per job name for pg_try_advisory_lock."""
    return int.from_bytes(hashlib.sha256(f"booking.job:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def job_lock(app: Flask, name: str) -> Iterator[bool]:
    """Yield True while this process alone runs job ``name``; False when it is running elsewhere."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _lock_key(name)}).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_key(name)})
                    conn.commit()
        return
    database = engine.url.database
    folder = Path(database).parent if database and database != ":memory:" else Path(app.instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f".booking-job-{name}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_job(app: Flask, job: Job) -> object:
    """One tick of ``job``; a failure is logged, never raised into the scheduler.

    A scheduler thread has no app context: the tick gets a fresh one (and session). Called where one
    is active (a CLI command, a test), it runs in that one, as the caller's own work.
    """
    pushed = None if has_app_context() else app.app_context()
    if pushed is not None:
        pushed.push()
    built = wiring.adapters(app)
    try:
        with job_lock(app, job.name) as mine:
            if not mine:
                log.debug("job %s is running elsewhere; tick skipped", job.name)
                return None
            outbox.take_pending(db.session)  # only what this tick queues is its to try
            links.set_base(built.settings.public_url)  # mails it queues link to the public URL
            result = job.run(Context(session=db.session, adapters=built), built.now())
            wiring.drain_now(app, outbox.take_pending(db.session))
            return result
    except Exception:
        db.session.rollback()
        log.exception("job %s failed", job.name)
        return None
    finally:
        links.set_base(None)
        if pushed is not None:
            remove_session()
            pushed.pop()


def build_scheduler(app: Flask, *, blocking: bool = False) -> BaseScheduler:
    settings = wiring.adapters(app).settings
    scheduler: BaseScheduler = BlockingScheduler() if blocking else BackgroundScheduler(daemon=True)
    for job in scheduled_jobs():
        scheduler.add_job(
            run_job,
            "interval",
            args=(app, job),
            seconds=job.seconds(settings),
            id=job.name,
            max_instances=1,
            coalesce=True,
            next_run_time=wiring.adapters(app).now(),
        )
    return scheduler
