"""Probes, metrics and the home page: ``/healthz``, ``/readyz``, ``/metrics``, ``/``.

* ``/healthz`` answers while the process serves, without touching the database: a load balancer
  must not take every web worker out because PostgreSQL blinked (``/readyz`` says that).
* ``/readyz`` is 200 only when the database answers *and* its schema is at the newest migration,
  so a host upgraded before ``booking db upgrade`` ran does not receive traffic; 503 names the check.
* ``/metrics`` is the Prometheus text exposition: the request counters of
  :mod:`booking.observability` plus gauges read from the database at scrape time (outbox depth and
  oldest pending age, the last calendar sync per agent). Open requests and SLA breaches per severity
  are not exported: this schema has no requests table yet (see docs/deploy.md).
  Under gunicorn set ``PROMETHEUS_MULTIPROC_DIR`` so the counters of every worker are summed.
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, abort, jsonify, make_response, render_template
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import case, func, select, text

from booking import clock
from booking.extensions import db, remove_session
from booking.inbound.imap_metrics import imap_gauges
from booking.models import Agent, CalendarConnection, OutboxMessage
from booking.models_requests import SupportRequest

bp = Blueprint("health", __name__)


@cache
def migration_heads(directory: str) -> frozenset[str]:
    """The newest revision(s) shipped with this code (read once per process)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", directory)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def _first_line(exc: BaseException) -> str:
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".strip()


@bp.get("/healthz")
def healthz() -> Any:
    """The process is up and serving; no dependency is checked."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Any:
    """Ready when the database answers and ``alembic_version`` is at the code's head revision."""
    from booking import MIGRATIONS_DIR

    heads = migration_heads(str(MIGRATIONS_DIR))
    try:
        current = set(db.session.scalars(text("SELECT version_num FROM alembic_version")).all())
    except Exception as exc:  # unreachable, timed out, or no schema at all: not ready either way
        db.session.rollback()
        down = {"status": "unavailable", "failed": "database", "detail": _first_line(exc)}
        response = make_response(jsonify(down), 503)
        response.headers["Retry-After"] = "5"
        return response
    finally:
        remove_session()
    if current != heads:
        body: dict[str, Any] = {
            "status": "unavailable",
            "failed": "migrations",
            "detail": "run `booking db upgrade`",
            "database_revision": sorted(current),
            "code_revision": sorted(heads),
        }
        return jsonify(body), 503
    return jsonify(status="ready", database="ok", migrations=sorted(heads))


class DatabaseCollector:
    """Gauges read from the database at scrape time (each scrape is one short read transaction)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("booking_database_up", "1 when the database answered this scrape, else 0.")
        try:
            metrics = list(self._read())
        except Exception:
            db.session.rollback()
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _read(self) -> Iterator[Metric]:
        counted = db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        by_status = {status: int(count) for status, count in counted.all()}
        depth = GaugeMetricFamily("booking_outbox_messages", "Outbox rows by status.", labels=["status"])
        for status in ("pending", "failed", "done"):
            depth.add_metric([status], int(by_status.get(status, 0)))
        yield depth
        oldest = db.session.scalar(select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status == "pending"))
        age = GaugeMetricFamily(
            "booking_outbox_oldest_pending_age_seconds", "Age of the oldest pending outbox row (0 when none)."
        )
        age.add_metric([], max(0.0, (self.now - oldest).total_seconds()) if oldest is not None else 0.0)
        yield age

        rows = db.session.execute(
            select(
                Agent.slug,
                CalendarConnection.last_sync_status,
                CalendarConnection.last_sync_at,
                CalendarConnection.last_sync_counts,
            ).join(CalendarConnection, CalendarConnection.agent_id == Agent.id)
        ).all()
        ok = GaugeMetricFamily(
            "booking_calendar_sync_ok", "1 when the agent's last calendar sync succeeded, else 0.", labels=["agent"]
        )
        last = GaugeMetricFamily(
            "booking_calendar_sync_last_timestamp_seconds",
            "When the agent's calendar was last synced.",
            labels=["agent"],
        )
        duration = GaugeMetricFamily(
            "booking_calendar_sync_last_duration_seconds", "How long the agent's last sync took.", labels=["agent"]
        )
        for slug, status, at, counts in rows:
            ok.add_metric([slug], 1 if status == "ok" else 0)
            if at is not None:
                last.add_metric([slug], at.timestamp())
            if isinstance(counts, dict) and isinstance(counts.get("duration_ms"), int | float):
                duration.add_metric([slug], counts["duration_ms"] / 1000)
        yield ok
        yield last
        yield duration
        yield from self._requests()
        yield from imap_gauges(db.session)

    def _requests(self) -> Iterator[Metric]:
        """The SLA queue: requests still open, and those open past their first-response due time."""
        rows = db.session.execute(
            select(
                SupportRequest.severity,
                func.count(),
                func.sum(case((SupportRequest.first_response_due_at < self.now, 1), else_=0)),
            )
            .where(SupportRequest.status == "open", SupportRequest.first_response_at.is_(None))
            .group_by(SupportRequest.severity)
        ).all()
        waiting = GaugeMetricFamily(
            "booking_requests_awaiting_first_response",
            "Open requests without a first response, by severity.",
            labels=["severity"],
        )
        breached = GaugeMetricFamily(
            "booking_requests_breached",
            "Open requests whose first-response due time has passed, by severity.",
            labels=["severity"],
        )
        counts = {int(severity): (int(total), int(late or 0)) for severity, total, late in rows}
        for severity in range(1, 6):
            total, late = counts.get(severity, (0, 0))
            waiting.add_metric([str(severity)], total)
            breached.add_metric([str(severity)], late)
        yield waiting
        yield breached


def _request_metrics() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    from booking.observability import REGISTRY

    return generate_latest(REGISTRY)


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format: request counters and latencies, outbox and calendar-sync gauges."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(clock.now()))
    try:
        body = _request_metrics() + generate_latest(registry)
    finally:
        remove_session()
    return Response(body, mimetype=CONTENT_TYPE_LATEST.split(";")[0], headers={"Cache-Control": "no-store"})


@bp.get("/")
def home() -> Any:
    """What this service is, with the ways in: the API reference, the README and the agents' sign-in.

    The address ``booking serve`` prints: it must answer with something useful (issue 18 item 6)."""
    return render_template("home.html")


@cache
def _readme() -> str | None:
    """The README of the source checkout, else the one packaged as the distribution's description."""
    source = Path(__file__).resolve().parents[2] / "README.md"
    if source.is_file():
        return source.read_text(encoding="utf-8")
    try:
        payload = importlib.metadata.metadata("booking").get_payload()  # type: ignore[attr-defined]
    except importlib.metadata.PackageNotFoundError:
        return None
    return str(payload) if payload else None


@bp.get("/readme")
def readme() -> Any:
    """The operator's documentation (configuration, deployment), linked from the home page."""
    text = _readme()
    if text is None:
        abort(404)
    return Response(text, mimetype="text/plain", headers={"Cache-Control": "public, max-age=3600"})


def register(app: Flask) -> None:
    app.register_blueprint(bp)
