"""IMAP IDLE (RFC 2177): hear of new mail at once instead of at the next poll.

``booking worker`` runs one :class:`IdleWatcher` thread when ``BOOKING_IMAP_URL`` is set. It keeps its
own connection EXAMINEing the folder (read-only: it never touches flags) in IDLE, and when the server
announces ``EXISTS`` it calls ``on_new`` — the worker runs the ``inbound.imap_poll`` job then, under the
job's lock, so several worker copies each watching the mailbox still import every message once (the
poll is what imports; ``imap_seen`` and Message-IDs make a second poll a no-op). IDLE is renewed every
``RENEW_SECONDS`` (servers drop idle clients after 30 minutes). A server without the IDLE capability
ends the thread: the periodic job alone polls it. A broken connection is retried with back-off
(doubling from ``RETRY_SECONDS`` to ``MAX_RETRY_SECONDS``); nothing here raises into the worker.

Python 3.11's imaplib has no IDLE, so the IDLE exchange reads the socket itself (``select`` on it, TLS
buffers included): imaplib's buffered file would block past a renewal deadline, and a timed-out
socket file cannot be read again. ``stop()`` shuts the socket down, which wakes that ``select`` at once.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable

from flask import Flask

from booking.inbound.imap_poll import connect, quoted
from booking.inbound.imap_url import ImapTarget

log = logging.getLogger(__name__)

__all__ = ["POLL_JOB", "IdleWatcher", "worker_watcher"]

POLL_JOB = "inbound.imap_poll"

RENEW_SECONDS = 25 * 60
RETRY_SECONDS = 5.0
MAX_RETRY_SECONDS = 300.0


class IdleWatcher:
    """Calls ``on_new()`` once per (re)connection (to catch up) and whenever new mail arrives."""

    def __init__(
        self,
        target: ImapTarget,
        on_new: Callable[[], object],
        *,
        timeout: float = 30,
        cafile: str | None = None,
        renew_seconds: float = RENEW_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.target = target
        self.on_new = on_new
        self.timeout = timeout
        self.cafile = cafile
        self.renew_seconds = renew_seconds
        self.retry_seconds = retry_seconds
        self.idling = threading.Event()  # set while an IDLE command is running (tests wait on it)
        self.offered: bool | None = None  # False once the server said it has no IDLE
        self._stop = threading.Event()
        self._conn: imaplib.IMAP4 | None = None
        self._buffer = b""
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> IdleWatcher:
        self._thread = threading.Thread(target=self.run, name="imap-idle", daemon=True)
        self._thread.start()
        return self

    def stop(self, wait: float = 10) -> None:
        self._stop.set()
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(wait)

    def run(self) -> None:
        delay = self.retry_seconds
        while not self._stop.is_set():
            try:
                self._session()
                delay = self.retry_seconds
                if self.offered is False:
                    return
            except (imaplib.IMAP4.error, OSError) as exc:
                if self._stop.is_set():
                    return
                log.warning(
                    "IMAP IDLE %s: %s: %s; reconnecting in %.0f s", self.target.key, type(exc).__name__, exc, delay
                )
                self._stop.wait(delay)  # interruptible: stop() ends the wait
                delay = min(delay * 2, MAX_RETRY_SECONDS)
            except Exception:
                log.exception("IMAP IDLE %s: unexpected error; reconnecting", self.target.key)
                self._stop.wait(delay)
                delay = min(delay * 2, MAX_RETRY_SECONDS)

    # --- one connection -----------------------------------------------------------------------------

    def _session(self) -> None:
        conn = connect(self.target, timeout=self.timeout, cafile=self.cafile)
        self._conn, self._buffer = conn, b""
        try:
            if "IDLE" not in conn.capabilities:
                _, caps = conn.capability()
                offered = b"IDLE" in (caps[0] or b"").upper().split() if caps else False
            else:
                offered = True
            self.offered = offered
            if not offered:
                log.info("IMAP %s offers no IDLE: polled every BOOKING_IMAP_POLL_SECONDS", self.target.key)
                return
            typ, data = conn.select(quoted(self.target.folder), readonly=True)
            if typ != "OK":
                raise imaplib.IMAP4.error(f"EXAMINE {self.target.folder} failed: {data!r}")
            self._notify()  # whatever arrived while we were not listening
            serial = 0
            while not self._stop.is_set():
                serial += 1
                if self._idle(conn, f"I{serial:05d}".encode()):
                    self._notify()
        finally:
            self.idling.clear()
            self._conn = None
            with contextlib.suppress(OSError):
                conn.shutdown()

    def _notify(self) -> None:
        try:
            self.on_new()
        except Exception:
            log.exception("IMAP IDLE %s: the poll it triggered failed", self.target.key)

    def _idle(self, conn: imaplib.IMAP4, tag: bytes) -> bool:
        """One IDLE command until new mail, the renewal deadline or stop(); True when mail arrived."""
        conn.send(tag + b" IDLE\r\n")
        first = self._line(conn, time.monotonic() + self.timeout)
        if first is None or not first.startswith(b"+"):
            raise imaplib.IMAP4.error(f"IDLE refused: {first!r}")
        self.idling.set()
        deadline = time.monotonic() + self.renew_seconds
        arrived = False
        while not arrived and not self._stop.is_set():
            line = self._line(conn, deadline)
            if line is None:  # renewal time (or stop)
                break
            words = line.split()
            if len(words) >= 3 and words[0] == b"*" and words[2].upper() in (b"EXISTS", b"RECENT"):
                arrived = True
            elif words[:2] == [b"*", b"BYE"]:
                raise imaplib.IMAP4.abort(f"server said {line!r}")
        self.idling.clear()
        if self._stop.is_set():
            return False
        conn.send(b"DONE\r\n")
        done_by = time.monotonic() + self.timeout
        while True:
            line = self._line(conn, done_by)
            if line is None:
                raise imaplib.IMAP4.abort("no answer to DONE")
            if line.startswith(tag + b" "):
                if not line[len(tag) + 1 :].upper().startswith(b"OK"):
                    raise imaplib.IMAP4.error(f"IDLE ended with {line!r}")
                return arrived

    def _line(self, conn: imaplib.IMAP4, deadline: float) -> bytes | None:
        """The next response line, or None at the deadline or on stop(); raises when the server hangs up."""
        sock = conn.sock
        while b"\n" not in self._buffer:
            if self._stop.is_set():
                return None
            pending = sock.pending() if isinstance(sock, ssl.SSLSocket) else 0
            if not pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                readable, _, _ = select.select([sock], [], [], remaining)
                if not readable:
                    return None
            try:
                chunk = sock.recv(65536)
            except ssl.SSLWantReadError:
                continue
            if not chunk:
                if self._stop.is_set():
                    return None
                raise imaplib.IMAP4.abort("the server closed the connection")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.rstrip(b"\r")


def worker_watcher(app: Flask) -> IdleWatcher | None:
    """The watcher ``booking worker`` starts (None without BOOKING_IMAP_URL): new mail runs the poll job."""
    from booking.effects import JOBS
    from booking.jobs import run_job

    settings = app.extensions["booking.settings"]
    if settings.imap is None:
        return None
    job = next(job for job in JOBS if job.name == POLL_JOB)
    return IdleWatcher(
        settings.imap,
        lambda: run_job(app, job),
        timeout=settings.imap_timeout_seconds,
        cafile=settings.imap_cafile,
    )
