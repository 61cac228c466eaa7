"""A wall-clock deadline on one HTTP exchange, whatever the server does with its bytes.

Socket timeouts bound each ``recv`` only: a server that sends one byte every few seconds (status
line, headers or body) never trips them and can hold a request - and the outbox row or sync pass
waiting on it - for as long as it keeps dripping. ``requests`` and urllib3 have no total deadline
(urllib3's ``Timeout(total=...)`` is again per socket operation), so this module adds one:

* :class:`DeadlineAdapter` is a ``requests`` adapter whose urllib3 connections report every socket
  they open or reuse to the deadline running on the current thread;
* :func:`deadline` starts a timer for one exchange; when it fires, the socket is shut down, which
  wakes the blocked ``recv`` at once (it sees end-of-file, the exchange fails, the connection is
  discarded) and :attr:`Watch.expired` tells the caller why.

Nothing is interrupted outside the socket, so no thread is killed and no state is half-written.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["DeadlineAdapter", "Watch", "deadline"]

_current = threading.local()


class Watch:
    """The sockets of one exchange, and whether its deadline has passed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[Any] = []
        self.expired = False

    def attach(self, sock: Any) -> None:
        """Track ``sock``; shut it at once if the deadline already passed (e.g. during connect)."""
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shutdown(sock)

    def fire(self) -> None:
        """The deadline passed: shut down every socket of the exchange."""
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: Any) -> None:
    # socket.socket.shutdown, not SSLSocket.shutdown: the latter also drops the TLS state that the
    # thread blocked in recv is using; shutting the descriptor down is what wakes that thread.
    # OSError: already closed, or detached by a TLS wrap (the wrapped socket is attached too).
    if isinstance(sock, socket.socket):
        with suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _attach(sock: Any) -> None:
    watch: Watch | None = getattr(_current, "watch", None)
    if watch is not None and sock is not None:
        watch.attach(sock)


@contextmanager
def deadline(seconds: float) -> Iterator[Watch]:
    """Bound every socket operation of the requests sent in this block to ``seconds`` in total."""
    watch = Watch()
    timer = threading.Timer(seconds, watch.fire)
    timer.daemon = True
    previous = getattr(_current, "watch", None)
    _current.watch = watch
    timer.start()
    try:
        yield watch
    finally:
        timer.cancel()
        _current.watch = previous


class _HTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _attach(sock)  # before the TLS handshake or the request is written
        return sock

    def connect(self) -> None:
        super().connect()
        _attach(self.sock)  # the TLS-wrapped socket (a new object), or the same one again

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self.sock)  # a kept-alive connection: no connect() this time
        super().request(*args, **kwargs)


class _HTTPSConnection(_HTTPConnection, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


def _watched(manager: PoolManager) -> PoolManager:
    manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
    return manager


class DeadlineAdapter(HTTPAdapter):
    """The default adapter, with connections that let :func:`deadline` cut them off."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _watched(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if proxy.lower().startswith("socks"):
            return manager  # SOCKS pools have their own connection class: the socket timeouts still apply
        return _watched(manager)
