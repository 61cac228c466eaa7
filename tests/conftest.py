"""Shared fixtures: a fresh app per test on a real database (SQLite always, PostgreSQL when
``BOOKING_TEST_POSTGRES_URL`` is set), factories, and a running HTTP server for race tests.

The schema is built once per session with the real Alembic migration (so the migration itself is
under test); each SQLite test then gets a copy of that file, each PostgreSQL test a truncated schema.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from flask_openapi3 import OpenAPI
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from booking import create_app
from booking.extensions import db


class ServerLikeClient(FlaskClient):
    """A test client that closes every response before the test sees it, as a WSGI server does once
    the body is sent: work the app runs "after the response" (the outbox drain) has then happened."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


OpenAPI.test_client_class = ServerLikeClient

pytest_plugins = [
    "tests.fixtures.browser",
    "tests.fixtures.smtp",
    "tests.fixtures.radicale",
    "tests.fixtures.xandikos",
    "tests.fixtures.caldav_servers",
    "tests.fixtures.sogo_like",
    "tests.fixtures.twilio_rest",
    "tests.fixtures.stalled",
]

ADMIN_TOKEN = "test-admin-token-0123456789abcdefghij"
SECRET = "test-secret-key-0123456789abcdef"
PG_URL = os.environ.get("BOOKING_TEST_POSTGRES_URL")

# A Monday in winter time, far enough ahead that slots exist (min notice 60 min, horizon 60 days).
MONDAY = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # 08:00 Paris


def base_env(database_url: str, instance: Path, **extra: str) -> dict[str, str]:
    env = {
        "BOOKING_DATABASE_URL": database_url,
        "BOOKING_SECRET_KEY": SECRET,
        "BOOKING_ADMIN_TOKEN": ADMIN_TOKEN,
        "BOOKING_INSTANCE_PATH": str(instance),
        "BOOKING_TIMEZONE": "Europe/Paris",
        "BOOKING_HOLIDAYS": "FR",
        "BOOKING_PUBLIC_URL": "http://booking.test",
    }
    env.update(extra)
    return env


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app({"TESTING": True}, env=base_env(url, instance))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite3"
    _migrate(f"sqlite:///{path}", folder)
    return path


@pytest.fixture(scope="session")
def postgres_schema(tmp_path_factory: pytest.TempPathFactory) -> str:
    if not PG_URL:
        pytest.skip("BOOKING_TEST_POSTGRES_URL is not set (CI sets it)")
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    _migrate(PG_URL, tmp_path_factory.mktemp("pg-instance"))
    return PG_URL


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'")
        ).scalars()
        names = ", ".join(f'"{t}"' for t in tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@contextmanager
def scratch_database(request: pytest.FixtureRequest, tmp_path: Path, name: str) -> Iterator[str]:
    """An empty database for one migration test, so the session's migrated schema is left alone:
    a fresh SQLite file, or (for the ``postgres`` param) ``<test db>_<name>`` created and dropped."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    if not PG_URL:
        pytest.skip("BOOKING_TEST_POSTGRES_URL is not set (CI sets it)")
    url = make_url(PG_URL)
    scratch = f"{url.database}_{name}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}"'))
        conn.execute(text(f'CREATE DATABASE "{scratch}"'))
    try:
        yield url.set(database=scratch).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()


DB_PARAMS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=DB_PARAMS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "booking.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("postgres_schema")
    _truncate_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """For tests that only need one database (pure HTTP shape, pages)."""
    target = tmp_path / "booking.sqlite3"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def env_overrides() -> dict[str, str]:
    """Override in a test module to change BOOKING_* settings."""
    return {}


@pytest.fixture
def app(database_url: str, tmp_path: Path, env_overrides: dict[str, str]) -> Iterator[Any]:
    app = create_app({"TESTING": True}, env=base_env(database_url, tmp_path, **env_overrides))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Any) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def frozen() -> Iterator[Callable[[datetime], None]]:
    """``frozen(dt)`` moves the clock to ``dt`` (no ticking); starts at MONDAY 08:00 Paris."""
    traveller = time_machine.travel(MONDAY, tick=False)
    shifter = traveller.start()

    def move(to: datetime) -> None:
        shifter.move_to(to)

    yield move
    traveller.stop()


@pytest.fixture
def make_agent(client: FlaskClient, admin: dict[str, str]) -> Callable[..., dict[str, Any]]:
    counter = iter(range(1, 10_000))

    def make(**fields: Any) -> dict[str, Any]:
        n = next(counter)
        body = {
            "slug": f"agent-{n}",
            "name": f"Agent {n}",
            "email": f"agent{n}@example.com",
            "phone": f"+3314000{n:04d}",
        }
        body.update(fields)
        response = client.post("/api/agents", json=body, headers=admin)
        assert response.status_code == 201, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]

    return make


@pytest.fixture
def make_customer(client: FlaskClient, admin: dict[str, str]) -> Callable[..., dict[str, Any]]:
    counter = iter(range(1, 10_000))

    def make(agent: str | None, **fields: Any) -> dict[str, Any]:
        n = next(counter)
        body: dict[str, Any] = {
            "name": f"Customer {n}",
            "plan": "all-inclusive",
            "dedicated_support": agent is not None,
            "agent": agent,
            "phones": [f"+3361234{n:04d}"],
            "emails": [f"it{n}@customer.example"],
        }
        body.update(fields)
        response = client.post("/api/customers", json=body, headers=admin)
        assert response.status_code == 201, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]

    return make


class LiveServer:
    """The app served by waitress on a free loopback port, in a thread (real sockets, real threads).

    The thread runs waitress's event loop in short turns and checks a stop flag between them, so the
    server is closed only after its loop has stopped (closing it under a running loop races).
    """

    def __init__(self, app: Any) -> None:
        from waitress.server import create_server

        from booking.security import server_body_limit

        # poll() instead of select(): closing the server while the loop thread is between building its
        # fd lists and select() made select() raise EBADF in that thread (a teardown-only flake).
        self.server = create_server(
            app,
            host="127.0.0.1",
            port=0,
            threads=8,
            ident="booking-test",
            asyncore_use_poll=True,
            max_request_body_size=server_body_limit(app),  # as `booking serve` runs it
        )
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # a queued burst is the point
        self.url = f"http://127.0.0.1:{self.server.effective_port}"  # type: ignore[union-attr]
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from waitress import wasyncore

        while not self._stop.is_set():
            wasyncore.loop(timeout=0.05, map=self.server._map, count=1)  # type: ignore[union-attr]

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        # Request threads first, while the loop still runs (a stream notices its client is gone at its
        # next write): waitress's single-socket server closes its trigger pipe without waiting for
        # them, and a thread still running then wrote b"x" to that closed descriptor - reused by then,
        # often by a new PostgreSQL connection, whose server saw "invalid frontend message type 120"
        # and dropped it under a later test (a 503).
        dispatcher = self.server.task_dispatcher  # type: ignore[union-attr]
        dispatcher.shutdown(cancel_pending=True, timeout=15)
        self._stop.set()
        self.thread.join(timeout=10)
        if dispatcher.threads:  # still running after the wait: leave the trigger open rather than let its fd be reused
            self.server.trigger = _NoTrigger()  # type: ignore[union-attr]
        self.server.close()


class _NoTrigger:
    """Stands in for a trigger left open on purpose (see ``LiveServer.__exit__``)."""

    def close(self) -> None:
        return None


@pytest.fixture
def live_server(app: Any) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server
