"""SQLite: writers of one process queue in ``write_transaction`` before BEGIN IMMEDIATE (issue 19).

SQLite's busy handler makes a waiting writer poll with growing sleeps (up to 100 ms) while newcomers
go first: under 32 concurrent bookings the unlucky ones slept their way to the tail (p99 825 ms
against p50 105 ms). With the in-process queue a second writer never even asks SQLite while the
first one holds the write lock. Shown with ``busy_timeout=0``: there, asking SQLite while another
writer holds the lock fails at once ("database is locked"); queued, the second writer simply waits
its turn and succeeds.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

from booking.db_guards import install_sqlite_pragmas, write_transaction


def test_a_second_writer_waits_its_turn_instead_of_asking_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    install_sqlite_pragmas(engine)

    @event.listens_for(engine, "connect")
    def _no_busy_wait(dbapi_connection: Any, _record: Any) -> None:  # after install's: overrides 30 s
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE log (who TEXT)"))
    inside, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        with Session(engine) as session, write_transaction(session):
            session.execute(text("INSERT INTO log VALUES ('first')"))
            inside.set()
            release.wait(30)  # holds the write lock until the second writer has had its chance

    def second() -> None:
        try:
            with Session(engine) as session, write_transaction(session):
                session.execute(text("INSERT INTO log VALUES ('second')"))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    one = threading.Thread(target=first)
    one.start()
    assert inside.wait(30)
    two = threading.Thread(target=second)
    two.start()
    two.join(1.0)  # unqueued, it has failed by now; queued, it is still waiting (either way: go on)
    release.set()
    one.join(30)
    two.join(30)
    assert not errors, errors
    with engine.connect() as conn:
        assert conn.execute(text("SELECT who FROM log ORDER BY rowid")).scalars().all() == ["first", "second"]
    engine.dispose()


def test_the_queue_waits_no_longer_than_the_busy_timeout(tmp_path: Path) -> None:
    """Review of issue 19: the queue waited without a bound, so the Nth writer behind a long writer
    of another process waited up to N busy timeouts (past gunicorn's 30 s). It now gives up after the
    busy timeout, with an error the app answers 503 (as SQLite's own "database is locked")."""
    from booking.db_faults import is_database_unavailable
    from booking.db_guards import WriterQueueTimeout, set_writer_wait

    engine = create_engine(f"sqlite:///{tmp_path / 'bounded.sqlite3'}")
    install_sqlite_pragmas(engine)
    set_writer_wait(engine, 0.2)
    inside, release = threading.Event(), threading.Event()

    def first() -> None:
        with Session(engine) as session, write_transaction(session):
            session.execute(text("CREATE TABLE t (x INTEGER)"))
            inside.set()
            release.wait(30)

    one = threading.Thread(target=first)
    one.start()
    try:
        assert inside.wait(30)
        with Session(engine) as session:
            try:
                with write_transaction(session):
                    raise AssertionError("the queue let a second writer in")
            except WriterQueueTimeout as exc:
                assert is_database_unavailable(exc)
            else:
                raise AssertionError("no WriterQueueTimeout")
    finally:
        release.set()
        one.join(30)
        engine.dispose()
