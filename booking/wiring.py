"""The composition root's hooks into Flask: adapters once per app, one after-commit drain per request.

``create_app`` calls ``install``. From then on:
- every request records its trusted base URL (``links.set_base``) before any service runs, so rows
  queued during the request carry absolute links that do not depend on where they are drained;
- whatever the request's committed transactions queued in the outbox is tried once the response is
  on its way (``call_on_close``), within ``outbox.INLINE_BUDGET``, with e-mail and SMS before CalDAV:
  the response never waits on a third party, and what fails or is left is the scheduler's;
- ``after_response(response, work)`` runs a unit of work after the answer (sign-in: the lookup must not
  be timed) and drains what it queued the same way.
Routes therefore never drain anything by hand.

With ``BOOKING_OUTBOX_DRAIN_THREAD`` (the webhook pool's sync workers) that after-response work is
handed to one background thread per process instead of running in the request's thread: a gunicorn
sync worker accepts its next connection only once the response's ``close`` returns, so an SMS and an
e-mail sent there (up to ``outbox.INLINE_BUDGET``) would make the next caller wait in silence.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from flask import Flask, Response, current_app, has_app_context, has_request_context, request

from booking import links
from booking.calendar_sync.connection import client_for
from booking.calendar_sync.dav import Limits
from booking.effects import Adapters
from booking.extensions import db, remove_session
from booking.services import outbox

log = logging.getLogger(__name__)

ADAPTERS = "booking.adapters"
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def adapters(app: Flask | None = None) -> Adapters:
    built: Adapters = (app or current_app).extensions[ADAPTERS]
    return built


def mail_base_url() -> str | None:
    """The base for absolute links that we e-mail to someone else, or None when none can be trusted.

    BOOKING_PUBLIC_URL when set. Otherwise only a loopback request's own root (development): the
    Host header is chosen by the client, and a link built from it could send an agent's sign-in
    token, or a manage link, to the sender's server.
    """
    cfg = adapters().settings
    if cfg.public_url:
        return cfg.public_url
    if has_request_context() and request.host.rsplit(":", 1)[0] in _LOOPBACK:
        return request.url_root.rstrip("/")
    return None


def _inline_order(ids: list[int]) -> list[int]:
    """E-mail and SMS rows first: a slow calendar server must not hold the confirmation mail."""
    from sqlalchemy import select

    from booking.models import OutboxMessage

    rows = db.session.execute(select(OutboxMessage.id, OutboxMessage.handler).where(OutboxMessage.id.in_(ids))).all()
    db.session.commit()
    return [row_id for row_id, _ in sorted(rows, key=lambda r: (outbox.lane_of(r[1]) == "caldav", r[0]))]


#: each CalDAV request of an inline attempt: short, so that the budget plus one push stays well
#: inside a gunicorn sync worker's 30 s timeout (the scheduler retries with the full limits)
INLINE_CALDAV_LIMITS = Limits(connect_timeout=3.0, read_timeout=4.0, deadline=4.0)


def drain_now(app: Flask, ids: list[int]) -> None:
    """Try these committed rows now (inside an app context), within the inline budget.

    The budget is checked before each row; a row once started is bounded by its transport's limits
    (CalDAV: ``INLINE_CALDAV_LIMITS``; SMTP and Twilio: their own timeouts).
    """
    built = adapters(app)
    if not ids or not built.settings.outbox_inline:
        return
    inline = replace(built, caldav=partial(client_for, limits=INLINE_CALDAV_LIMITS))
    deadline = built.now() + outbox.INLINE_BUDGET
    for row_id in _inline_order(ids):
        if built.now() > deadline:
            break
        outbox.drain(db.session, built.now(), ids=[row_id], adapters=inline)


class Drainer:
    """One daemon thread per process that runs after-response work in order, off the request thread.

    Started on first use and again in a forked child (the parent's thread does not exist there). The
    queue is bounded: past ``MAX_WAITING`` units the work is dropped with a warning, its rows stay
    pending in the outbox and the scheduler sends them (as it does for anything an exit interrupts:
    a claimed row's lease expires and it is retried).
    """

    MAX_WAITING = 1000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.Queue[Callable[[], None]] = queue.Queue(self.MAX_WAITING)
        self._thread: threading.Thread | None = None
        self._pid = 0

    def submit(self, work: Callable[[], None]) -> None:
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._queue = queue.Queue(self.MAX_WAITING)
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, args=(self._queue,), name="booking-outbox-drain", daemon=True
                )
                self._thread.start()
            try:
                self._queue.put_nowait(work)
            except queue.Full:
                log.warning("after-response drain queue full: left to the scheduler")

    @staticmethod
    def _run(work_queue: queue.Queue[Callable[[], None]]) -> None:
        while True:
            work = work_queue.get()
            try:
                work()
            except Exception:  # run() logs its own failures; nothing may end this thread
                log.exception("after-response work failed in the drain thread")
            finally:
                work_queue.task_done()

    def join(self) -> None:
        """Wait until everything submitted so far has run (tests; nothing on the request path)."""
        self._queue.join()


DRAINER = Drainer()


def after_response(
    response: Response, work: Callable[[], object] | None = None, *, queued: list[int] | None = None
) -> Response:
    """Run ``work`` (if any) once the response is on its way, then drain what it and the request queued."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    base = links.current_base()

    def run() -> None:
        # A WSGI server closes the response after the request's context is gone: push a fresh app
        # context (and session). Where one is still active (the CLI, a test client), use it as is.
        pushed = None if has_app_context() else app.app_context()
        if pushed is not None:
            pushed.push()
        links.set_base(base)
        try:
            if work is not None:
                work()
            drain_now(app, [*(queued or []), *outbox.take_pending(db.session)])
        except Exception:
            db.session.rollback()
            app.logger.exception("work after the response failed; queued rows are retried by the scheduler")
        finally:
            links.set_base(None)
            if pushed is not None:
                remove_session()
                pushed.pop()

    if adapters(app).settings.outbox_drain_thread and work is None:
        # Only drains go to the thread: a dropped drain leaves its rows in the outbox for the
        # scheduler, but a dropped ``work`` (the sign-in mail's lookup) would never be done at all.
        response.call_on_close(partial(DRAINER.submit, run))
    else:
        response.call_on_close(run)
    return response


def install(app: Flask, built: Adapters) -> None:
    """Keep the adapters on the app; remember each request's base URL; drain after each response."""
    app.extensions[ADAPTERS] = built

    @app.before_request
    def _start_request() -> None:
        links.set_base(mail_base_url())
        outbox.take_pending(db.session)  # only what this request queues is its to try

    @app.teardown_request
    def _end_request(_exc: BaseException | None) -> None:
        links.set_base(None)  # a thread's next unit of work (a job, a CLI command) starts without it

    @app.after_request
    def _drain_after_response(response: Response) -> Response:
        ids = outbox.take_pending(db.session)
        if ids and built.settings.outbox_inline:
            after_response(response, queued=ids)
        return response
