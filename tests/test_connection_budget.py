"""The default deployment fits PostgreSQL's default ``max_connections`` (issue 19).

The bench's 32-client availability run on PostgreSQL answered 503 for a third of its requests:
the server had run out of connections ("sorry, too many clients already"). Every process of the
deployment in ``deploy/`` holds at most ``min(concurrent requests, pool + overflow)`` connections
(plus the chat's one LISTEN connection per web process); their sum with the defaults must stay
under 100 minus PostgreSQL's 3 reserved superuser connections, or a busy hour turns into 503s.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

from booking import WORKER_MAX_OVERFLOW, WORKER_POOL_SIZE, create_app
from booking.inbound.gateway import INGEST_THREADS

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
POSTGRES_DEFAULT_MAX_CONNECTIONS = 100
SUPERUSER_RESERVED = 3


def _service_env(unit: str) -> dict[str, str]:
    text = (DEPLOY / unit).read_text()
    return dict(re.findall(r"^Environment=(\w+)=(\S*)$", text, flags=re.MULTILINE))


def _gunicorn(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> tuple[int, int]:
    """(workers, concurrent requests per worker) of deploy/gunicorn.conf.py under ``env``."""
    for name in ("BOOKING_WEB_WORKERS", "BOOKING_WEB_THREADS", "BOOKING_WEB_WORKER_CLASS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    conf = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    return int(conf["workers"]), int(conf.get("threads", 1)) if _threaded(conf.get("worker_class", "sync")) else 1


def _threaded(worker_class: str) -> bool:
    """gunicorn's ``gthread`` or a worker class built on it (a sync worker serves one request at a time)."""
    from gunicorn.util import load_class
    from gunicorn.workers.gthread import ThreadWorker

    return issubclass(load_class(worker_class, default="gthread", section="gunicorn.workers"), ThreadWorker)


def _web_pool(env: dict[str, str]) -> int:
    app = create_app(env={"BOOKING_DATABASE_URL": "postgresql+psycopg://u@127.0.0.1:1/x", **env})
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    return int(options["pool_size"]) + int(options["max_overflow"])


def test_the_default_deployment_fits_postgresqls_default_max_connections(monkeypatch, tmp_path):
    env = {"BOOKING_SECRET_KEY": "k" * 40, "BOOKING_INSTANCE_PATH": str(tmp_path)}
    pool = _web_pool(env)
    listener = 1  # booking.chat.bus: one LISTEN connection per web process
    budget: dict[str, int] = {}
    for unit in ("booking-web.service", "booking-webhooks.service"):
        unit_env = _service_env(unit)
        workers, concurrent = _gunicorn(monkeypatch, unit_env)
        drainer = 1 if unit_env.get("BOOKING_OUTBOX_DRAIN_THREAD", "").lower() in {"1", "true", "yes", "on"} else 0
        budget[unit] = workers * (min(concurrent + drainer, pool) + listener)
    budget["booking-worker.service"] = WORKER_POOL_SIZE + WORKER_MAX_OVERFLOW
    budget["booking-mail-gateway.service"] = INGEST_THREADS
    assert sum(budget.values()) <= POSTGRES_DEFAULT_MAX_CONNECTIONS - SUPERUSER_RESERVED, budget
    # docs/deploy.md's table says the same total
    doc = (DEPLOY.parent / "docs" / "deploy.md").read_text().split("## Connection budget", 1)[1]
    total = re.search(r"\| \*\*(\d+)\*\* \|", doc)
    assert total is not None and int(total.group(1)) == sum(budget.values()), budget


def test_the_web_pool_is_configurable(tmp_path):
    env = {"BOOKING_SECRET_KEY": "k" * 40, "BOOKING_INSTANCE_PATH": str(tmp_path)}
    assert _web_pool(env) == 10
    assert _web_pool({**env, "BOOKING_DB_POOL_SIZE": "3", "BOOKING_DB_MAX_OVERFLOW": "0"}) == 3
