"""The floor the availability endpoint is measured against: a bare WSGI app, no framework, no ORM.

It answers ``GET /api/agents/<slug>/availability?start=YYYY-MM-DD&end=YYYY-MM-DD`` with the same
indexed fetch as ``booking.services.availability.busy_intervals`` (one UNION ALL on the same
indexes, straight on the driver) and the same pure slot pass (``booking.core.availability``), and
the same JSON shape — nothing else: no validation beyond what it needs, no logging, no sessions.
Whatever the real endpoint costs above this is the price of the framework and of our own code.

Serve it like the app: ``gunicorn bench.minimal_app:app`` or ``waitress-serve bench.minimal_app:app``
with ``BENCH_DATABASE_URL`` (``sqlite:///path`` or ``postgresql+psycopg://...``).
"""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from booking.core.availability import SlotRules, free_slots
from booking.core.business_time import business_calendar
from booking.services.availability import _BUSY_SQL, _POSTGRES_BUSY_SQL, _sqlite_instant

PARIS = ZoneInfo("Europe/Paris")
CALENDAR = business_calendar("Europe/Paris", "09:00-17:00", "mon-fri", "FR")
RULES = SlotRules(timedelta(minutes=30), timedelta(minutes=30), timedelta(minutes=60), timedelta(days=60))
URL = os.environ.get("BENCH_DATABASE_URL", "")
#: Connections per process, as many as the app's SQLAlchemy pool holds (pool_size 5 + max_overflow 10).
#: One connection per thread (gthread runs 64) made the two servers of a case hold 4 x 64 + 4 x 15
#: connections between them, past PostgreSQL's max_connections of 100: the app then answered 503.
POOL_SIZE = 15
_pool: queue.LifoQueue[Any] = queue.LifoQueue()
_slots = threading.BoundedSemaphore(POOL_SIZE)


def _open() -> Any:
    if URL.startswith("sqlite"):
        return sqlite3.connect(URL.split("///", 1)[1], check_same_thread=False)
    import psycopg

    return psycopg.connect(URL.replace("postgresql+psycopg", "postgresql"), autocommit=True)


@contextmanager
def _connection() -> Iterator[Any]:
    """A pooled connection: at most POOL_SIZE open per process, a request waits for one when all are out."""
    _slots.acquire()
    try:
        try:
            conn = _pool.get_nowait()
        except queue.Empty:
            conn = _open()
        try:
            yield conn
        finally:
            _pool.put(conn)
    finally:
        _slots.release()


def _busy(conn: Any, agent_id: int, lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
    if isinstance(conn, sqlite3.Connection):
        a, b = _sqlite_instant(hi), _sqlite_instant(lo)
        rows = conn.execute(_BUSY_SQL, (agent_id, a, b, agent_id, a, b, agent_id, None, None, a, b)).fetchall()
        parse = datetime.fromisoformat
        return [(parse(s + "+00:00"), parse(e + "+00:00")) for s, e in rows]
    with conn.cursor(binary=True) as cur:
        cur.execute(_POSTGRES_BUSY_SQL, (agent_id, hi, lo, agent_id, hi, lo, agent_id, None, None, hi, lo))
        return [(s.astimezone(UTC), e.astimezone(UTC)) for s, e in cur.fetchall()]


def _agent_id(conn: Any, slug: str) -> int | None:
    sql = "SELECT id FROM agents WHERE slug = ? AND active"
    if isinstance(conn, sqlite3.Connection):
        row = conn.execute(sql, (slug,)).fetchone()
    else:
        with conn.cursor() as cur:
            row = cur.execute(sql.replace("?", "%s"), (slug,)).fetchone()
    return None if row is None else int(row[0])


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    parts = environ.get("PATH_INFO", "").strip("/").split("/")
    if len(parts) != 4 or parts[:2] != ["api", "agents"] or parts[3] != "availability":
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"error": {"code": "not_found"}}']
    query = parse_qs(environ.get("QUERY_STRING", ""))
    start, end = date.fromisoformat(query["start"][0]), date.fromisoformat(query["end"][0])
    w_start = datetime.combine(start, time(0), tzinfo=PARIS).astimezone(UTC)
    w_end = datetime.combine(end, time(0), tzinfo=PARIS).astimezone(UTC)
    with _connection() as conn:
        agent_id = _agent_id(conn, parts[2])
        if agent_id is None:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error": {"code": "unknown_agent"}}']
        busy = _busy(conn, agent_id, w_start - timedelta(days=1), w_end + RULES.duration)
    slots = free_slots(CALENDAR, (w_start, w_end), RULES, datetime.now(UTC), busy)
    body = json.dumps(
        {
            "agent": parts[2],
            "timezone": "Europe/Paris",
            "duration": 30,
            "slots": [
                {"start": s.astimezone(PARIS).isoformat(), "end": e.astimezone(PARIS).isoformat()} for s, e in slots
            ],
        }
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
