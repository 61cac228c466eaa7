"""Database-level guards: no overlapping confirmed bookings per agent, serialized writes on SQLite.

Cal.com's only guard is a unique key on (start, end, user), so overlapping bookings with different
times get through; Easy!Appointments has none. Here the database itself refuses the overlap:

* PostgreSQL: an exclusion constraint over ``tstzrange(start_at, end_at)`` per agent (btree_gist).
* SQLite: BEFORE INSERT/UPDATE triggers. SQLite runs one writer at a time, so a trigger's check and
  the write it guards cannot interleave with another writer.

The same statements are used by the Alembic migration (production) and nowhere else, so the guard
cannot drift between environments.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

OVERLAP_MESSAGE = "booking_overlap"

POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    "ALTER TABLE bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist "
    "(agent_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&) WHERE (status = 'confirmed')",
]
POSTGRES_DOWN = ["ALTER TABLE bookings DROP CONSTRAINT IF EXISTS ex_bookings_no_overlap"]

_SQLITE_CHECK = f"""
BEGIN
    SELECT RAISE(ABORT, '{OVERLAP_MESSAGE}')
    WHERE NEW.status = 'confirmed' AND EXISTS (
        SELECT 1 FROM bookings AS b
        WHERE b.agent_id = NEW.agent_id AND b.status = 'confirmed' AND b.id IS NOT NEW.id
          AND b.start_at < NEW.end_at AND NEW.start_at < b.end_at
    );
END
"""
SQLITE_UP = [
    f"CREATE TRIGGER trg_bookings_no_overlap_insert BEFORE INSERT ON bookings {_SQLITE_CHECK}",
    "CREATE TRIGGER trg_bookings_no_overlap_update BEFORE UPDATE OF start_at, end_at, status, agent_id "
    f"ON bookings {_SQLITE_CHECK}",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS trg_bookings_no_overlap_insert",
    "DROP TRIGGER IF EXISTS trg_bookings_no_overlap_update",
]


def is_overlap_error(exc: BaseException) -> bool:
    """True when an IntegrityError comes from the overlap guard of either database."""
    text = str(getattr(exc, "orig", exc))
    return OVERLAP_MESSAGE in text or "ex_bookings_no_overlap" in text


def install_sqlite_pragmas(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout, and explicit BEGIN so we can ask for BEGIN IMMEDIATE.

    pysqlite's own transaction handling issues a deferred BEGIN lazily; a deferred transaction that
    reads and then writes can fail with SQLITE_BUSY instead of waiting. Taking over BEGIN (the
    SQLAlchemy-documented recipe) lets ``write_transaction`` start IMMEDIATE: the writer lock is held
    from the availability check to the insert.
    """
    if engine.dialect.name == "postgresql":
        _track_writes(engine)
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")
        # What this transaction has written so far is total_changes minus this (write_transaction).
        conn.info[_CHANGES_AT_BEGIN] = conn.connection.dbapi_connection.total_changes


_CHANGES_AT_BEGIN = "booking.sqlite_changes_at_begin"
_WROTE = "booking.wrote_in_transaction"


def _track_writes(engine: Engine) -> None:
    """PostgreSQL: note locally whether the open transaction sent anything but a SELECT.

    ``write_transaction`` asked the server (``txid_current_if_assigned()``) on every entry: one more
    round trip per booking, milliseconds each on a busy server (issue 19). Every statement SQLAlchemy
    sends passes here, so the answer is known without asking.
    """

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.info[_WROTE] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _on_execute(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not conn.info.get(_WROTE) and statement.lstrip()[:6].upper() not in ("SELECT", "SHOW"):
            conn.info[_WROTE] = True


class PendingWritesError(RuntimeError):
    """A programming error: ``write_transaction`` was entered with the caller's writes not committed.

    Its first step ends the caller's transaction; committing writes made before the write lock was
    taken would publish them without the checks the lock protects (and outside the use case that
    owns the transaction), so it refuses instead. Do the writes inside the block, or commit first.
    """


def _pending_writes(session: Session) -> str | None:
    """What the session has written, or would write, outside a transaction of its own; None if nothing."""
    if session.new or session.deleted or any(session.is_modified(obj) for obj in session.dirty):
        return (
            f"{len(session.new)} new, {len(session.dirty)} changed and {len(session.deleted)} deleted "
            "objects not flushed"
        )
    real = session() if callable(session) and not isinstance(session, Session) else session  # scoped_session
    if not real.in_transaction():
        return None  # nothing was even read: no transaction, no flushed writes (and no BEGIN to send)
    conn = session.connection()  # the open transaction's connection
    if conn.dialect.name == "postgresql" and _WROTE in conn.info:
        wrote = conn.info[_WROTE]
    elif conn.dialect.name == "postgresql":
        wrote = conn.exec_driver_sql("SELECT txid_current_if_assigned() IS NOT NULL").scalar()
    elif conn.dialect.name == "sqlite" and _CHANGES_AT_BEGIN in conn.info:
        wrote = conn.connection.dbapi_connection.total_changes != conn.info[_CHANGES_AT_BEGIN]  # type: ignore[union-attr]
    else:
        wrote = False
    return "rows written (flushed) in the open transaction" if wrote else None


#: SQLite: one in-process writer queue per database (engine), taken before BEGIN IMMEDIATE.
_sqlite_writers: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_sqlite_writers_guard = threading.Lock()
#: How long a writer waits in that queue (seconds): the busy timeout (``db_faults.install_busy_timeout``
#: registers BOOKING_DB_STATEMENT_TIMEOUT), so the queue keeps the promise of that setting.
_sqlite_writer_wait: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()
DEFAULT_WRITER_WAIT = 15.0


def set_writer_wait(engine: Engine, seconds: float) -> None:
    """The longest a writer of this SQLite database waits for its process's writer queue."""
    _sqlite_writer_wait[engine] = seconds


class WriterQueueTimeout(sa_exc.TimeoutError):
    """No turn in the SQLite writer queue within the busy timeout: answered 503 like "database is
    locked" (``db_faults.is_database_unavailable`` knows SQLAlchemy's TimeoutError)."""


def session_engine(session: Session) -> Engine:
    """The engine a session's statements go to (its bind may be a Connection in tests)."""
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _sqlite_writer_queue(engine: Engine) -> threading.RLock | None:
    """The process's writer lock for this SQLite database; None on PostgreSQL.

    SQLite lets one writer in at a time; the others wait in its busy handler, which polls with
    growing sleeps (1, 2, 5 ... 50, 100 ms) while a newcomer that asks at the right instant goes
    first. Under 32 concurrent bookings a request that lost a few rounds slept its way to the tail
    (p99 825 ms against p50 105 ms, issue 19). Threads of one process queue here instead, blocked
    on a lock that wakes the next one as soon as the writer commits; SQLite's own lock (and the
    busy timeout) still serialises writers of other processes (``booking worker``, the CLI).
    Re-entrant, so a service that (wrongly) nests write transactions cannot deadlock itself.
    """
    if engine.dialect.name != "sqlite":
        return None
    queue = _sqlite_writers.get(engine)
    if queue is None:
        with _sqlite_writers_guard:
            queue = _sqlite_writers.setdefault(engine, threading.RLock())
    return queue


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """Run the block in one transaction that holds the write lock from its first statement.

    Commits on success, rolls back on any exception. On SQLite this is BEGIN IMMEDIATE; on
    PostgreSQL the callers additionally lock the agent row (SELECT ... FOR UPDATE) and the exclusion
    constraint stays the final word. Every service that writes goes through here, so on SQLite no
    writer ever holds a read snapshot it cannot upgrade ("database is locked" at once, whatever the
    busy timeout) - issue 11, item 5. SQLite writers of one process queue on a lock first
    (:func:`_sqlite_writer_queue`): no thread sleeps in SQLite's busy handler behind its neighbours.

    The caller's open transaction is ended first, so it may only have read: pending or flushed
    writes raise :class:`PendingWritesError` instead of being committed silently.
    """
    pending = _pending_writes(session)
    if pending is not None:
        raise PendingWritesError(f"write_transaction entered with uncommitted writes: {pending}")
    session.commit()  # end any implicit read transaction (a no-op when none is open)
    engine = session_engine(session)
    queue = _sqlite_writer_queue(engine)
    if queue is not None:
        wait = _sqlite_writer_wait.get(engine, DEFAULT_WRITER_WAIT)
        if not queue.acquire(timeout=wait):
            # Without a bound the Nth writer waited up to N busy timeouts behind a long writer of
            # another process (a sync pass of ``booking worker``), past gunicorn's own timeout.
            raise WriterQueueTimeout(f"no turn to write to the SQLite database within {wait:g} s")
    try:
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
    finally:
        if queue is not None:
            queue.release()
