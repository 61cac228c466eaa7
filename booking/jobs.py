"""APScheduler wiring: which job runs when. Jobs only open an app context and call services.

``booking serve`` runs this in-process (one process, embedded defaults); in production
``booking worker`` runs it alone beside gunicorn. Jobs are safe to run in several processes at once:
the outbox claims rows with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask, current_app

from booking import clock
from booking.config import Settings
from booking.extensions import db

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    fn: Callable[[], object]
    seconds: Callable[[Settings], int]


_jobs: list[Job] = []


def job(name: str, seconds: Callable[[Settings], int]) -> Callable[[Callable[[], object]], Callable[[], object]]:
    """Register a periodic job (called inside an app context)."""

    def register(fn: Callable[[], object]) -> Callable[[], object]:
        _jobs.append(Job(name, fn, seconds))
        return fn

    return register


def registered_jobs() -> list[Job]:
    return list(_jobs)


@job("outbox", seconds=lambda s: 30)
def drain_outbox() -> object:
    from booking.services import outbox

    result = outbox.drain(db.session, clock.now())
    if result.retried or result.failed:
        log.info("outbox: %s", result.as_dict())
    return result


@job("calendar_sync", seconds=lambda s: s.sync_minutes * 60)
def sync_calendars() -> object:
    """Every BOOKING_SYNC_MINUTES: one pass per agent with a calendar; a failing server is recorded."""
    from booking.calendar_sync.sync import sync_all

    settings: Settings = current_app.extensions["booking.settings"]
    return list(sync_all(db.session, settings, clock.now()))


@job("reminders", seconds=lambda s: 300)
def queue_reminders() -> object:
    from booking.services.reminders import queue_reminders as queue

    return queue(db.session, clock.now())


def _wrap(app: Flask, item: Job) -> Callable[[], None]:
    def run() -> None:
        with app.app_context():
            try:
                item.fn()
            except Exception:
                log.exception("job %s failed", item.name)
            finally:
                db.session.remove()

    return run


def build_scheduler(app: Flask, *, blocking: bool = False) -> BaseScheduler:
    settings: Settings = app.extensions["booking.settings"]
    scheduler: BaseScheduler = BlockingScheduler() if blocking else BackgroundScheduler(daemon=True)
    for item in registered_jobs():
        scheduler.add_job(
            _wrap(app, item),
            "interval",
            seconds=item.seconds(settings),
            id=item.name,
            max_instances=1,
            coalesce=True,
            next_run_time=clock.now(),
        )
    return scheduler
