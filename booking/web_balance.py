"""gunicorn ``gthread`` workers that share the open connections evenly (issue 19: the booking tail).

Every worker polls the one listening socket and the first awake accepts. Clients that keep their
connection open (nginx's ``keepalive 16`` upstream pool, the bench's 32 ``wrk`` connections, chat
event streams) stay with whoever accepted them, and the worker already running wins most races: under
the bookings bench one process held 25 of the 32 connections, 6, 1 and 0 the others. That process is
bound to one core by the GIL while the other core idles, so its requests waited 4-8x the median
(p99 447 ms against p50 115 ms, idle machine). Here a worker accepts only while it holds no more
connections than the least loaded live worker, so the spread stays within one connection per worker.

The counts live in a small shared array created by the master before it forks (``on_starting``);
the master gives each worker a slot (``pre_fork``) and frees it when the worker exits
(``child_exit``), and a worker frees its own as soon as it is told to stop, so a draining or dead
worker never holds the others back. A slot of -1 is not a live worker. Without the hooks (another
configuration) the worker is plain ``gthread``.

gunicorn's run loop asks ``self.nr_conns < self.worker_connections`` on every turn (every accepted
connection, finished request or second) and stops or resumes accepting on the answer: the two
attributes are properties here, which works for gunicorn 22 to 27 without copying its loop (on
gunicorn 27 a worker holding back also looks again every few milliseconds, not every second).
"""

from __future__ import annotations

import multiprocessing
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

#: Most workers balanced at once; a worker beyond them (no free slot) accepts as plain gthread.
SLOTS = 64
_FREE = -1

_counts: Any = None  # multiprocessing.RawArray("i", SLOTS) in the master, inherited by forked workers


def setup(_server: Any = None) -> None:
    """``on_starting`` (master, before any fork): create the shared counts, every slot free."""
    global _counts
    _counts = multiprocessing.RawArray("i", [_FREE] * SLOTS)


def assign(server: Any, worker: Any) -> None:
    """``pre_fork`` (master): give the worker about to be forked a free slot (or none: unbalanced)."""
    if _counts is None:
        return
    taken = {getattr(w, "balance_slot", None) for w in server.WORKERS.values()}
    worker.balance_slot = next((i for i in range(SLOTS) if i not in taken), None)
    if worker.balance_slot is not None:
        _counts[worker.balance_slot] = _FREE  # live only once its run loop starts


def release(worker: Any) -> None:
    """``child_exit`` (master): a dead worker's slot no longer counts."""
    slot = getattr(worker, "balance_slot", None)
    if _counts is not None and slot is not None:
        _counts[slot] = _FREE


class BalancedThreadWorker(ThreadWorker):  # type: ignore[misc,unused-ignore]  # gunicorn: no type hints
    """``gthread`` accepting only while no live worker holds fewer connections than this one."""

    #: Seconds between looks at the others' counts while holding back (see wait_for_and_dispatch_events).
    RECHECK = 0.005
    _live = False
    _conns = 0
    _cap = 1000

    @property
    def nr_conns(self) -> int:
        return self._conns

    @nr_conns.setter
    def nr_conns(self, value: int) -> None:
        self._conns = value
        if self._live:
            _counts[self.balance_slot] = value

    @property
    def worker_connections(self) -> int:
        """The configured cap, lowered to "one more than I hold" while another live worker holds fewer."""
        if not self._live:
            return self._cap
        lowest = min(c for c in _counts if c != _FREE)
        return self._cap if self._conns <= lowest else min(self._cap, self._conns)

    @worker_connections.setter
    def worker_connections(self, value: int) -> None:
        self._cap = value

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        """gunicorn 27's wait: short while this worker holds back for a less loaded one.

        A worker stops accepting when another holds fewer connections; it learns that the others
        caught up only on its next turn, which without an event of its own is a second away. Meanwhile
        new connections wait unaccepted in the backlog: the first requests of 32 fresh connections
        waited hundreds of milliseconds. Holding back, it looks again every few milliseconds.
        """
        if self._live and not getattr(self, "_accepting", True) and self._conns < self._cap:
            timeout = min(timeout, self.RECHECK)
        super().wait_for_and_dispatch_events(timeout)

    def run(self) -> None:
        self._live = _counts is not None and getattr(self, "balance_slot", None) is not None
        if self._live:
            _counts[self.balance_slot] = self._conns
        try:
            super().run()
        finally:
            self._leave()

    def _leave(self) -> None:
        """Stop counting: a worker that drains or exits must not hold the others to its count."""
        if self._live:
            self._live = False
            _counts[self.balance_slot] = _FREE

    def handle_exit(self, sig: int, frame: Any) -> None:
        self._leave()
        super().handle_exit(sig, frame)

    def handle_quit(self, sig: int, frame: Any) -> None:
        self._leave()
        super().handle_quit(sig, frame)
