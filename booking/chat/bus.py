"""Fan-out of chat events to the open streams of every process (issue 17).

A message is written by whichever web worker received the POST; the visitor's and the agent's streams
may be held by other workers, on other hosts. Every process keeps one :class:`LocalHub` (topic ->
the queues of its open streams) and one way to hear what other processes publish:

- :class:`MemoryBus` - SQLite: one process, nothing to cross;
- :class:`PostgresBus` - ``NOTIFY booking_chat`` after the write; one dedicated ``LISTEN`` connection
  per process (a thread), never one per stream, so 200 open streams hold no database connection;
- :class:`RedisBus` - when ``BOOKING_REDIS_URL`` is set: ``PUBLISH`` / one ``SUBSCRIBE`` per process.

Events are small JSON objects (a message is at most ``BOOKING_CHAT_MAX_MESSAGE_BYTES``, below
PostgreSQL's 8000-byte NOTIFY limit). Delivery is best effort by design: a stream that missed an event
(its process restarted, the listener reconnected) gets it from the database on its next connect through
``Last-Event-ID``, and the polling fallback reads the same rows.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Iterable
from typing import Any, Protocol

from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

log = logging.getLogger(__name__)

EXTENSION = "booking.chat_bus"
PG_CHANNEL = "booking_chat"
#: a stream whose client stopped reading has this many events waiting at most; older ones are dropped
QUEUE_SIZE = 256


class Subscription:
    """The events of some topics for one open stream, in a bounded queue."""

    def __init__(self, hub: LocalHub, topics: Iterable[str]) -> None:
        self.hub = hub
        self.topics = tuple(topics)
        self.events: queue.Queue[dict[str, Any]] = queue.Queue(QUEUE_SIZE)

    def put(self, event: dict[str, Any]) -> None:
        try:
            self.events.put_nowait(event)
        except queue.Full:  # a client that does not read: it resumes from the database later
            log.warning("chat stream queue full; event dropped (the client resumes with Last-Event-ID)")

    def get(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self.events.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None

    def close(self) -> None:
        self.hub.remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class LocalHub:
    """This process's open streams by topic."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._topics: dict[str, set[Subscription]] = {}

    def add(self, sub: Subscription) -> None:
        with self._lock:
            for topic in sub.topics:
                self._topics.setdefault(topic, set()).add(sub)

    def remove(self, sub: Subscription) -> None:
        with self._lock:
            for topic in sub.topics:
                subs = self._topics.get(topic)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._topics[topic]

    def dispatch(self, topic: str, event: dict[str, Any]) -> None:
        with self._lock:
            targets = list(self._topics.get(topic, ()))
        for sub in targets:
            sub.put(event)

    @property
    def open_streams(self) -> int:
        with self._lock:
            return len({s for subs in self._topics.values() for s in subs})


class Bus(Protocol):
    kind: str

    def publish(self, topic: str, event: dict[str, Any]) -> None: ...

    def subscribe(self, topics: Iterable[str]) -> Subscription: ...


class MemoryBus:
    """One process (SQLite): publishing is dispatching."""

    kind = "memory"

    def __init__(self) -> None:
        self.hub = LocalHub()

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        self.hub.dispatch(topic, event)

    def subscribe(self, topics: Iterable[str]) -> Subscription:
        sub = Subscription(self.hub, topics)
        self.hub.add(sub)
        return sub


def _encode(topic: str, event: dict[str, Any]) -> str:
    return json.dumps({"topic": topic, "event": event}, ensure_ascii=False, separators=(",", ":"))


def _decode(raw: str | bytes) -> tuple[str, dict[str, Any]] | None:
    try:
        data = json.loads(raw)
        return str(data["topic"]), dict(data["event"])
    except (ValueError, KeyError, TypeError):
        log.warning("ignored a malformed chat notification")
        return None


class _ListeningBus(MemoryBus):
    """A bus whose events come back through one listener thread per process (started on first use)."""

    def __init__(self) -> None:
        super().__init__()
        self._started = False
        self._start_lock = threading.Lock()
        self._ready = threading.Event()
        self._stop = threading.Event()

    def subscribe(self, topics: Iterable[str]) -> Subscription:
        self._ensure_listener()
        return super().subscribe(topics)

    def _ensure_listener(self) -> None:
        with self._start_lock:
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name=f"chat-{self.kind}-listener", daemon=True).start()
        self._ready.wait(timeout=5)  # the first stream must not miss what is published right after

    def _run(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                self._listen()
                delay = 0.5
            except Exception:
                log.exception("chat %s listener lost its connection; reconnecting", self.kind)
                self._ready.clear()
                time.sleep(delay)  # real back-off between reconnects (not business time)
                delay = min(delay * 2, 10.0)

    def _listen(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def close(self) -> None:
        self._stop.set()


class PostgresBus(_ListeningBus):
    """``NOTIFY`` on the app's engine; ``LISTEN`` on one dedicated psycopg connection per process."""

    kind = "postgres"

    def __init__(self, engine: Engine, connect_timeout: int = 5) -> None:
        super().__init__()
        self.engine = engine
        url = make_url(str(engine.url.render_as_string(hide_password=False))).set(drivername="postgresql")
        self.dsn = url.render_as_string(hide_password=False)
        self.connect_timeout = connect_timeout

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        with self.engine.connect() as conn:
            payload = {"channel": PG_CHANNEL, "payload": _encode(topic, event)}
            conn.execute(text("SELECT pg_notify(:channel, :payload)"), payload)
            conn.commit()

    def _listen(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=self.connect_timeout) as conn:
            conn.execute(f"LISTEN {PG_CHANNEL}")
            self._ready.set()
            while not self._stop.is_set():
                for note in conn.notifies(timeout=1.0):
                    decoded = _decode(note.payload)
                    if decoded is not None:
                        self.hub.dispatch(*decoded)


class RedisBus(_ListeningBus):
    """``PUBLISH`` / one ``SUBSCRIBE`` connection per process, on a channel named for this installation."""

    kind = "redis"

    def __init__(self, url: str, channel: str) -> None:
        super().__init__()
        import redis

        self.client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        self.channel = channel

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        self.client.publish(self.channel, _encode(topic, event))

    def _listen(self) -> None:
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(self.channel)
            self._ready.set()
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message and message.get("type") == "message":
                    decoded = _decode(message["data"])
                    if decoded is not None:
                        self.hub.dispatch(*decoded)
        finally:
            pubsub.close()


def build_bus(app: Flask) -> Bus:
    """Redis when BOOKING_REDIS_URL is set, else PostgreSQL LISTEN/NOTIFY, else in memory (SQLite)."""
    import hashlib

    from booking.extensions import db

    settings = app.extensions["booking.settings"]
    if settings.security.redis_url:
        prefix = hashlib.sha256(settings.secret_key.encode()).hexdigest()[:12]
        return RedisBus(settings.security.redis_url, f"booking:{prefix}:chat")
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        return PostgresBus(engine, settings.db_connect_timeout)
    return MemoryBus()


def bus_for(app: Flask) -> Bus:
    """The app's bus, built on first use (a worker process that never streams never listens)."""
    existing = app.extensions.get(EXTENSION)
    if existing is None:
        existing = app.extensions.setdefault(EXTENSION, build_bus(app))
    return existing
