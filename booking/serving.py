"""``booking serve`` and ``booking worker`` process management: graceful SIGTERM, access logs.

systemd, Docker and Kubernetes stop a service with SIGTERM and kill it a while later. Waitress and
APScheduler's BlockingScheduler both die at once on SIGTERM (the default action), cutting off a
booking between its commit and its answer, or a job mid-way. Here SIGTERM (and SIGINT):

* ``serve``: stops accepting connections, lets every request already received finish and its
  response be sent (up to ``grace`` seconds), closes idle keep-alive connections, then exits 0;
* ``worker``: stops scheduling and waits for the running job to finish, then exits 0.

And a server process's startup heap is frozen (:func:`freeze_startup_heap`) before it serves.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

#: Seconds in-flight requests get after SIGTERM (systemd's TimeoutStopSec defaults to 90 s).
GRACE_SECONDS = 30.0


def freeze_startup_heap() -> None:
    """Take everything alive once the app is built out of the cyclic garbage collector's rounds.

    The app, its modules, SQLAlchemy mappers, pydantic schemas and translation catalogues are ~170,000
    objects that live as long as the process. Every full (generation 2) collection walked all of them:
    about every 200 requests one request stalled 150 ms inside the collector, which was the whole p99
    of ``/twilio/voice`` at one client (p50 3.4 ms, p99 131 ms; issue 19). Frozen, they are never
    walked again; what requests allocate is still collected as before. Called once per serving
    process, after the app is built: ``serve_gracefully`` (``booking serve``), gunicorn's
    ``post_worker_init`` (deploy/gunicorn.conf.py), :func:`server_app` (a WSGI server's factory).
    """
    gc.collect()
    gc.freeze()


def server_app() -> Any:
    """``create_app()`` for a long-running WSGI server that calls a factory (``waitress-serve --call
    booking.serving:server_app``): the app, with the startup heap frozen."""
    from booking import create_app

    app = create_app()
    freeze_startup_heap()
    return app


def on_stop_signals(handler: Callable[[], None]) -> None:
    """Call ``handler`` (once) on SIGTERM or SIGINT, from the main thread."""
    fired = threading.Event()

    def _handle(signum: int, _frame: Any) -> None:
        if fired.is_set():
            return
        fired.set()
        log.info("received %s: shutting down gracefully", signal.Signals(signum).name)
        handler()

    signal.signal(signal.SIGTERM, _handle)
    signal.signal(signal.SIGINT, _handle)


def _busy(channel: Any) -> bool:
    """A waitress channel still has a request to run or bytes to send."""
    return bool(channel.requests or channel.total_outbufs_len or getattr(channel, "request", None))


def serve_gracefully(
    app: Any, *, host: str, port: int, threads: int, grace: float = GRACE_SECONDS, max_request_body_size: int
) -> None:
    """Run waitress until SIGTERM/SIGINT, then drain: in-flight requests finish and are answered."""
    freeze_startup_heap()
    from waitress import wasyncore
    from waitress.channel import HTTPChannel
    from waitress.server import create_server

    server: Any = create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="booking",
        asyncore_use_poll=True,
        max_request_body_size=max_request_body_size,
    )
    stopping = threading.Event()
    on_stop_signals(stopping.set)
    while not stopping.is_set():
        wasyncore.loop(timeout=0.5, map=server._map, use_poll=True, count=1)

    # Stop listening: new connections are refused from here on (a load balancer retries elsewhere).
    server.accepting = False
    server.del_channel()
    server.socket.close()
    deadline = time.monotonic() + grace
    while True:
        channels = [c for c in list(server._map.values()) if isinstance(c, HTTPChannel)]
        for channel in channels:
            if not _busy(channel):
                channel.handle_close()  # idle keep-alive: nothing in flight, close it
        if not any(_busy(c) for c in channels):
            break
        if time.monotonic() > deadline:
            log.warning("%d request(s) still running after %.0f s; stopping anyway", len(channels), grace)
            break
        wasyncore.loop(timeout=0.1, map=server._map, use_poll=True, count=1)
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
    wasyncore.close_all(server._map)
    log.info("booking serve: stopped")
