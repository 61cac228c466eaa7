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
