"""What an operator sees: request ids, structured logs, access logs, Prometheus metrics, probes.

``init_app`` is the one call ``create_app`` makes; it wires, in order:

* the database-fault handling of :mod:`booking.db_faults` (503 + ``Retry-After``, timeouts);
* a request id per request: ``X-Request-ID`` is honoured when it looks like an id (so one request can
  be followed through nginx, gunicorn and here), generated otherwise, and returned in the response;
* logs: ``BOOKING_LOG_FORMAT=json`` writes one JSON object per line (``ts``, ``level``, ``logger``,
  ``message``, ``request_id``, ``exc``) that a log shipper can parse without regexes;
* one access-log line per request when ``BOOKING_ACCESS_LOG`` is on (``booking serve`` turns it on):
  the route *pattern*, never the path, because paths carry booking, manage and sign-in tokens;
* request counts and latencies per route pattern for ``/metrics`` (:mod:`booking.routes.health`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import IO, Any

from flask import Flask, Response, has_request_context, request
from prometheus_client import CollectorRegistry, Counter, Histogram

from booking.config import Settings

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
ACCESS_LOGGER = "booking.access"
_ENV_ID = "booking.request_id"
_ENV_STARTED = "booking.request_started"

#: Process-wide metrics (one registry per process, shared by every app the process builds, as tests do).
REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "booking_http_requests",
    "HTTP requests answered, by method, route pattern and status code.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "booking_http_request_duration_seconds",
    "Time from the request reaching Flask to the response being ready, by method and route pattern.",
    ["method", "route"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def current_request_id() -> str:
    """The id of the request being served, or ``-`` outside a request (jobs, CLI)."""
    if not has_request_context():
        return "-"
    # Kept in the WSGI environ, not ``g``: an app context pushed around several requests (tests, CLI)
    # shares one ``g``. Created on first use, since a before_request hook may abort before ours runs.
    environ = request.environ
    if _ENV_ID not in environ:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        environ[_ENV_ID] = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    return str(environ[_ENV_ID])


def route_label() -> str:
    """The matched route pattern (``/api/bookings/<int:booking_id>/cancel``): bounded and token-free."""
    return request.url_rule.rule if request.url_rule is not None else "(unmatched)"


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` so every format (text or JSON) can name the request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra fields given with ``extra={"fields": {...}}`` are merged in."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", current_request_id()),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _OurHandler(logging.StreamHandler):
    """Marks the handler this module installed, so building a second app replaces it, never stacks."""


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> None:
    """Install the JSON handler on the root logger when ``BOOKING_LOG_FORMAT=json``.

    The text format keeps ``create_app``'s ``basicConfig``; both get the request-id filter.
    """
    root = logging.getLogger()
    if settings.log_format == "json":
        for handler in list(root.handlers):
            plain = type(handler) is logging.StreamHandler and handler.stream in (sys.stderr, sys.stdout)
            if plain or isinstance(handler, _OurHandler):  # ours, or basicConfig's text handler
                root.removeHandler(handler)
        handler = _OurHandler(stream or sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
        logging.getLogger("booking").setLevel(logging.INFO)
    for handler in root.handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())


def _start_request() -> None:
    current_request_id()
    request.environ[_ENV_STARTED] = time.perf_counter()


def _finish_request(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = current_request_id()
    started = request.environ.get(_ENV_STARTED)
    elapsed = time.perf_counter() - started if started is not None else 0.0
    route = route_label()
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    LATENCY.labels(request.method, route).observe(elapsed)
    from flask import current_app

    if current_app.config.get("BOOKING_ACCESS_LOG"):
        logging.getLogger(ACCESS_LOGGER).info(
            '%s - "%s %s" %d %.1fms request_id=%s',
            request.remote_addr or "-",
            request.method,
            route,
            response.status_code,
            elapsed * 1000,
            current_request_id(),
            extra={
                "fields": {
                    "remote_addr": request.remote_addr,
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 1),
                }
            },
        )
    return response


def init_app(app: Flask, *, web: bool = True) -> None:
    """Wire database faults, request ids, logs, metrics, the probes and the home page into ``app``.

    A background app (``web=False``: worker, outbox drain) gets the logging only: it serves nothing.
    """
    from booking import db_faults

    settings: Settings = app.extensions["booking.settings"]
    configure_logging(settings)
    if not web:
        return
    from booking.routes import health

    db_faults.register(app)
    app.config.setdefault("BOOKING_ACCESS_LOG", settings.access_log)
    app.before_request(_start_request)
    app.after_request(_finish_request)
    health.register(app)
