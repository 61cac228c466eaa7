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

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
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


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """Run the block in one transaction that holds the write lock from its first statement.

    Commits on success, rolls back on any exception. On SQLite this is BEGIN IMMEDIATE; on
    PostgreSQL the callers additionally lock the agent row (SELECT ... FOR UPDATE) and the exclusion
    constraint stays the final word.
    """
    session.commit()  # end any implicit read transaction (a no-op when none is open)
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
