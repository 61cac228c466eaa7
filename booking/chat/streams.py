"""Server-Sent Events for both sides of the chat (issue 17), holding no database connection while idle.

A stream subscribes to its topics on the process's bus *first*, then reads the backlog after
``Last-Event-ID`` from the database (so nothing published in between is lost; duplicates are dropped
by id), releases its session, and from then on waits on its queue. Every ``heartbeat`` seconds it
sends a comment (proxies keep the connection; a gone client is noticed) and re-reads what the bus
may not have brought (a job's system message, a lost notification) and, for a visitor, the presence:
a short read each time, never an open transaction. A message event on the bus is sent as it came
(no database read on the hot path); the heartbeat's read of what follows the last id *read from the
table* brings any message whose notification was lost, so a gap lasts one heartbeat at most.
After ``lifetime`` seconds the stream ends; ``EventSource`` reconnects by itself with
``Last-Event-ID``, so one client never holds a worker thread for ever.

Message events carry ``id:`` (the message id); presence and read events carry none, so the browser's
last event id stays the last message's.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, Response, request

from booking.chat.bus import Bus, bus_for
from booking.extensions import remove_session

log = logging.getLogger(__name__)

Events = list[tuple[str, dict[str, Any]]]
#: (last message id) -> (messages after it, presence dict or None), read in a fresh app context
Poll = Callable[[int], tuple[list[dict[str, Any]], dict[str, Any] | None]]


def publish(app: Flask, events: Events) -> None:
    """Announce committed changes; a bus failure never fails the request (streams catch up by polling)."""
    if not events:
        return
    bus = bus_for(app)
    for topic, event in events:
        try:
            bus.publish(topic, event)
        except Exception:
            log.exception("chat bus publish failed (streams will catch up on their next heartbeat)")


def frame(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    lines = [f"id: {event_id}"] if event_id is not None else []
    lines += [f"event: {event}", "data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":"))]
    return "\n".join(lines) + "\n\n"


def last_event_id(header: str | None, query: str | None) -> int:
    for raw in (header, query):
        if raw and raw.strip().isdigit() and len(raw.strip()) < 19:
            return int(raw.strip())
    return 0


def event_stream(
    app: Flask,
    topics: list[str],
    poll: Poll,
    last_id: int,
    *,
    heartbeat: float,
    lifetime: float,
    bus: Bus | None = None,
) -> Response:
    """The ``text/event-stream`` response; ``poll`` runs at connect, on every heartbeat and on nudges.

    Under a single-threaded server (gunicorn's default ``sync`` worker) a held stream would block the
    whole worker and be killed by its timeout: there the stream sends the backlog and ends, and the
    browser's reconnection every ``retry`` turns it into polling (see docs/chat.md).
    """
    if request.environ.get("wsgi.multithread") is False:
        lifetime = 0.0
    sub = (bus or bus_for(app)).subscribe(topics)

    def run_poll(after: int) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        with app.app_context():
            try:
                return poll(after)
            finally:
                remove_session()  # back to the pool: an idle stream holds no connection

    def generate() -> Iterator[str]:
        confirmed = last_id  # every message up to this id has been read from the table
        delivered: set[int] = set()  # ids above ``confirmed`` already sent (from the bus)
        presence: dict[str, Any] | None = None
        deadline = time.monotonic() + lifetime

        def catch_up() -> Iterator[str]:
            nonlocal confirmed, delivered, presence
            messages, now_presence = run_poll(confirmed)
            for message in messages:
                if message["id"] not in delivered:
                    yield frame("message", message, message["id"])
            if messages:
                confirmed = max(confirmed, messages[-1]["id"])
                delivered = {i for i in delivered if i > confirmed}
            if now_presence is not None and now_presence != presence:
                presence = now_presence
                yield frame("presence", now_presence)

        try:
            yield "retry: 2000\n: connected\n\n"
            yield from catch_up()
            next_beat = time.monotonic() + heartbeat
            while True:
                now = time.monotonic()
                if now >= deadline:
                    return
                if now >= next_beat:
                    yield ": heartbeat\n\n"
                    yield from catch_up()
                    next_beat = time.monotonic() + heartbeat
                    continue
                event = sub.get(timeout=min(next_beat, deadline) - now)
                if event is None:
                    continue
                kind = event.get("type")
                if kind == "message":
                    # Sent as it came (no database read on the hot path); the next heartbeat's read
                    # of the table brings anything whose notification was lost.
                    message_id = int(event.get("id", 0))
                    if message_id > confirmed and message_id not in delivered:
                        delivered.add(message_id)
                        yield frame("message", {k: v for k, v in event.items() if k != "type"}, message_id)
                elif kind == "presence_changed":
                    yield from catch_up()
                elif kind == "read":
                    yield frame("read", {k: v for k, v in event.items() if k != "type"})
        finally:
            sub.close()

    response = Response(generate(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache, no-transform"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass events through as they come
    return response
