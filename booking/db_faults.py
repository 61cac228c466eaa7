"""Database faults: bounded waits, and a clear 503 instead of a 500 while the database is away.

The fault campaign of issue 11 cut the network between the service and PostgreSQL: every request
answered 500 ``internal_error``, and without connect or statement timeouts a 45 s partition held all
four gunicorn workers until gunicorn killed them. Here:

* :func:`with_timeouts` adds the limits to the engine options: PostgreSQL ``connect_timeout``,
  ``statement_timeout`` (server side), TCP keepalives and ``tcp_user_timeout`` (a partition is noticed
  by the client, not after the kernel's ~15 minutes of retransmissions), a bounded wait for a pooled
  connection; SQLite a configurable busy timeout.
* :func:`register` turns "the database is unreachable / timed out" into ``503`` with ``Retry-After``:
  ``{"error": {"code": "database_unavailable", ...}}`` on ``/api/*`` and ``/twilio/*``, the friendly
  error page (French or English) elsewhere. Nothing else is needed to recover: the pool pre-pings, so
  the first request after the database is back gets a fresh connection.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import Flask, Response, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.orm.attributes import set_committed_value

from booking.config import Settings
from booking.db_guards import set_writer_wait

log = logging.getLogger(__name__)

#: Seconds a client is asked to wait before retrying (the ``Retry-After`` header).
RETRY_AFTER_SECONDS = 5
CODE = "database_unavailable"
MESSAGE = "the database is unreachable at the moment; nothing was changed by this request, please retry shortly"

TITLE = _l("The service is briefly unavailable")
BODY = _l("We are back in a moment. Please try again in a few seconds; nothing was lost.")


def with_timeouts(options: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """``options`` (SQLAlchemy engine options) plus the configured connect and statement limits."""
    out = dict(options)
    connect_args = dict(out.get("connect_args") or {})
    statement_ms = settings.db_statement_timeout * 1000
    if settings.database_url.startswith("postgresql"):
        existing = connect_args.get("options", "")
        connect_args["options"] = f"{existing} -c statement_timeout={statement_ms}".strip()
        connect_args["connect_timeout"] = settings.db_connect_timeout
        # A silent network (partition, dead host) must fail the socket, not hang it: keepalives for idle
        # connections, tcp_user_timeout for data that is never acknowledged.
        connect_args.update(keepalives=1, keepalives_idle=10, keepalives_interval=5, keepalives_count=3)
        # Only unacknowledged data counts (a slow query's answer does not), so this can be short.
        connect_args["tcp_user_timeout"] = settings.db_connect_timeout * 1000
    elif settings.database_url.startswith("sqlite"):
        connect_args["timeout"] = settings.db_statement_timeout
    out["connect_args"] = connect_args
    # Waiting for a pooled connection is bounded too: one connect plus one statement.
    out["pool_timeout"] = settings.db_connect_timeout + settings.db_statement_timeout
    return out


def install_busy_timeout(engine: Engine, settings: Settings) -> None:
    """SQLite: the busy timeout from ``BOOKING_DB_STATEMENT_TIMEOUT``, set on every new connection.

    Registered after ``db_guards.install_sqlite_pragmas`` (which sets its own default), so this
    configured value is the one in force.
    """
    if engine.dialect.name != "sqlite":
        return
    busy_ms = settings.db_statement_timeout * 1000
    set_writer_wait(engine, settings.db_statement_timeout)  # the in-process writer queue waits as long

    @event.listens_for(engine, "connect")
    def _busy_timeout(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cursor.close()


class ConnectBreaker:
    """While the database is unreachable, one connection attempt at a time waits; the rest fail fast.

    With a partition every connect waits the whole ``connect_timeout``, so every web worker would be
    stuck for seconds per request. After a failed connect, other requests fail at once (503) while a
    single probe attempt is in flight, and for :attr:`retry_after` seconds after it failed; the first
    probe that succeeds closes the breaker, so recovery is at most ``retry_after`` late.
    """

    def __init__(self, retry_after: float = 1.0) -> None:
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._failing = False
        self._probing = False
        self._next_try = 0.0

    def connect(self, dialect: Any, cargs: Any, cparams: Any) -> Any:
        with self._lock:
            if self._failing and (self._probing or time.monotonic() < self._next_try):
                raise dialect.loaded_dbapi.OperationalError(
                    "database unreachable (a reconnection attempt is under way or just failed)"
                )
            self._probing = True
        try:
            connection = dialect.connect(*cargs, **cparams)
        except Exception:
            with self._lock:
                self._failing, self._probing = True, False
                self._next_try = time.monotonic() + self.retry_after
            raise
        with self._lock:
            self._failing = self._probing = False
        return connection


def install_connect_breaker(engine: Engine) -> ConnectBreaker | None:
    """Route the engine's new connections through a :class:`ConnectBreaker` (not SQLite: local file)."""
    if engine.dialect.name == "sqlite":
        return None
    breaker = ConnectBreaker()

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        return breaker.connect(dialect, cargs, cparams)

    return breaker


def is_database_unavailable(exc: BaseException) -> bool:
    """True for "cannot reach / lost / timed out" errors of either database, never for bad data.

    ``OperationalError`` covers refused and lost connections, PostgreSQL's statement timeout
    (``QueryCanceled``) and SQLite's "database is locked" after the busy timeout; a pool that had no
    connection to give within ``pool_timeout`` raises SQLAlchemy's ``TimeoutError``; a connection
    that died under a statement is flagged ``connection_invalidated``.
    """
    if isinstance(exc, sa_exc.OperationalError | sa_exc.TimeoutError):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/twilio/")) or request.path == "/api"


def database_unavailable_response() -> Response:
    """503 with ``Retry-After``: the JSON envelope for machines, the friendly page for people."""
    if _wants_json():
        response = make_response({"error": {"code": CODE, "message": MESSAGE}}, 503)
    else:
        try:
            body = render_template("error.html", status=503, title=TITLE, message=BODY)
        except Exception:  # the page must not fail because, say, a template helper needed the database
            body = f"<!doctype html><title>503</title><h1>{TITLE}</h1><p>{BODY}</p>"
        response = make_response(body, 503)
        response.headers["Cache-Control"] = "no-store"
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def handle_database_unavailable(exc: BaseException) -> Response:
    """Log one line (no traceback: the cause is outside the process), reset the session, answer 503."""
    from booking.extensions import db

    where = request.url_rule.rule if request.url_rule is not None else "(no route)"
    cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    log.warning(
        "database unavailable on %s %s: %s",
        request.method,
        where,
        cause[0] if cause else type(exc).__name__,
    )
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool discards it
        log.debug(
            "rollback after a database fault failed",
        )
    return database_unavailable_response()


def register(app: Flask) -> None:
    """Install the 503 handler, the configured SQLite busy timeout and the connect breaker."""
    from booking.extensions import db

    app.register_error_handler(sa_exc.OperationalError, handle_database_unavailable)
    app.register_error_handler(sa_exc.TimeoutError, handle_database_unavailable)
    with app.app_context():
        install_busy_timeout(db.engine, app.extensions["booking.settings"])
        install_connect_breaker(db.engine)


class AnswerFromMemory:
    """Serialise what a use case committed from memory, without reloading it from the database.

    After a commit SQLAlchemy expires every object, so serialising the booking just created reloaded
    it (and its agent); if the database went away right after the commit, a booking that exists was
    answered 500 (issue 11). Used as::

        with AnswerFromMemory(db.session) as memory:
            result = bookings.book(...)
            memory.restore()
            answer = serialize_booking(result.booking)

    Each commit inside the block snapshots the session's objects just before they are expired
    (``after_commit`` runs first), holding them strongly (the identity map is weak: the agent a
    service kept in a local variable would be gone); ``restore`` puts the last commit's values back
    as committed state. Expiry itself is untouched, so inside the service every re-read under a lock
    still sees the database, not a stale object.
    """

    def __init__(self, session: Any) -> None:
        self.session = session() if isinstance(session, scoped_session) else session
        self._snapshot: list[tuple[Any, dict[str, Any]]] = []

    def _capture(self, session: Session) -> None:
        snapshot = []
        for obj in list(session.identity_map.values()):
            state = sa_inspect(obj)
            keys = state.mapper.attrs.keys()
            snapshot.append((obj, {k: v for k, v in state.dict.items() if k in keys}))
        self._snapshot = snapshot

    def restore(self) -> None:
        """Give every object of the last commit back its committed values (no SQL)."""
        for obj, values in self._snapshot:
            state = sa_inspect(obj)
            for key, value in values.items():
                if key not in state.dict:
                    set_committed_value(obj, key, value)

    def __enter__(self) -> AnswerFromMemory:
        event.listen(self.session, "after_commit", self._capture)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.session, "after_commit", self._capture)
        self._snapshot = []
