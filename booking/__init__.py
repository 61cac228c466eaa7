"""Dedicated-agent scheduling service: book calls, sync CalDAV calendars, after-hours voicemail.

``create_app`` is the factory used by the CLI, by ``gunicorn 'booking:create_app()'`` and by every
test (a fresh app per test, configuration from the environment or an explicit mapping).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask_openapi3 import Info, OpenAPI

from booking.config import ConfigError, Settings, load_settings
from booking.db_faults import with_timeouts
from booking.extensions import csrf, db, migrate

__all__ = ["ConfigError", "Settings", "create_app"]

#: ``booking worker``'s pool: every job may run at once (APScheduler's 10 threads; each job holds its
#: session plus its advisory lock, the IMAP IDLE watcher one more): at most 20, 5 kept open.
WORKER_POOL_SIZE = 5
WORKER_MAX_OVERFLOW = 15

PACKAGE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"


def _resource_dir(name: str) -> str:
    """Top-level ``templates/`` in a checkout; ``booking/<name>`` inside an installed wheel."""
    installed = PACKAGE_DIR / name
    if installed.is_dir():
        return str(installed)
    return str(PACKAGE_DIR.parent / name)


def _engine_options(settings: Settings, *, web: bool = True) -> dict[str, Any]:
    """PostgreSQL sessions in UTC: instants come back with ``datetime.UTC`` itself, no conversion.

    Everything is stored and compared in UTC anyway; with the server's zone (say Etc/UTC as a
    ZoneInfo) every datetime the driver returns needed an ``astimezone`` and compared ~7x slower.
    A web process keeps ``BOOKING_DB_POOL_SIZE`` connections and opens at most
    ``BOOKING_DB_MAX_OVERFLOW`` more (default 5 + 5: the deployment's budget in docs/deploy.md fits
    PostgreSQL's default max_connections of 100). A worker (``web=False``) runs every job at once,
    each holding its session's connection and one more for its advisory lock: its pool is sized for
    that instead.
    """
    options: dict[str, Any] = {"pool_pre_ping": True}
    if settings.database_url.startswith("postgresql"):
        options["connect_args"] = {"options": "-c TimeZone=UTC"}
        if web:
            options.update(pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)
        else:
            options.update(pool_size=WORKER_POOL_SIZE, max_overflow=WORKER_MAX_OVERFLOW)
    return options


def create_app(
    config: Mapping[str, Any] | None = None, *, env: Mapping[str, str] | None = None, web: bool = True
) -> OpenAPI:
    """Build the app. ``env`` replaces ``os.environ`` (tests); ``config`` overrides Flask config keys.

    This is the composition root: the adapters that leave the process are built here, once, and
    handed to every outbox handler and job (``booking.effects`` declares which). ``web=False`` is
    ``booking worker``'s app: the same settings, database, adapters, handlers and jobs, and no routes.

    Raises ConfigError (one printable line) when a ``BOOKING_*`` variable is unusable.
    """
    app = OpenAPI(
        __name__,
        **(_web_options() if web else {"doc_ui": False}),
        instance_path=(os.environ if env is None else env).get("BOOKING_INSTANCE_PATH") or None,
        template_folder=_resource_dir("templates"),
        static_folder=_resource_dir("static"),
    )
    settings = load_settings(env, instance_path=app.instance_path)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=with_timeouts(_engine_options(settings, web=web), settings),
        WTF_CSRF_TIME_LIMIT=None,
        # The session cookie signs agents in: script-proof, not sent on cross-site POSTs, and only
        # over HTTPS when the service is published on HTTPS.
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(settings.public_url and settings.public_url.startswith("https://")),
    )
    if config:
        app.config.update(config)
    app.extensions["booking.settings"] = settings
    if web:
        from booking.routes.common import StrictJSONProvider

        app.json = StrictJSONProvider(app)
        app.json.sort_keys = False  # keep the documented field order
    from booking import wiring
    from booking.effects import build_adapters

    # Adapters that leave the process, chosen by configuration (tests point them at local servers).
    adapters = build_adapters(settings, settings.secret_key)
    wiring.install(app, adapters)
    app.extensions["booking.mailer"] = adapters.mailer
    app.extensions["booking.sms"] = adapters.sms
    # Response validation catches schema drift in tests; in production a drift must not become a 500.
    app.validate_response = bool(app.config.get("TESTING"))

    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        # Our own level, so it survives Alembic's fileConfig (root at WARN) when `serve` migrates
        # first: outbox retries and, in development, logged mails must stay visible.
        logging.getLogger("booking").setLevel(logging.INFO)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    csrf.init_app(app)
    with app.app_context():
        from booking.db_guards import install_sqlite_pragmas

        install_sqlite_pragmas(db.engine)

    from booking import i18n

    i18n.init_app(app)  # mails are rendered in the recipient's language by workers too
    if web:
        _register_blueprints(app)
        from booking import security

        security.init_app(app)  # body limit, security headers, rate limits (issue 12)
    from booking.cli import register_commands

    register_commands(app)

    # Operations (issue 11): 503 on database faults, request ids, logs, metrics, probes, home page.
    from booking import observability

    observability.init_app(app, web=web)
    return app


def _web_options() -> dict[str, Any]:
    """The OpenAPI document's header and how request validation errors are answered (web app only)."""
    from booking.routes.errors import validation_error_response
    from booking.routes.schemas import ErrorResponse

    return {
        "info": Info(
            title="booking",
            version="1.0.0",
            description="Book calls with your dedicated support agent. Errors are always "
            '`{"error": {"code", "message"}}`.',
        ),
        "security_schemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "validation_error_status": 400,
        "validation_error_model": ErrorResponse,
        "validation_error_callback": validation_error_response,
        "doc_prefix": "/api",
        "doc_url": "/openapi.json",
    }


def _register_blueprints(app: OpenAPI) -> None:
    from booking.routes import admin, agent, api, calendar, callbacks, errors, pages
    from booking.routes.common import register_api
    from booking.voicemail import routes as twilio_routes

    errors.register(app)
    for module in (api, admin, callbacks):  # routes.calendar adds its admin endpoints to admin.bp on import
        csrf.exempt(module.bp)  # JSON API: token/bearer auth, no cookies, so no CSRF surface
        register_api(app, module.bp)  # GET /api/bookings (admin) beside POST (customer) in the document
    from booking.voicemail import outbound_routes

    csrf.exempt(twilio_routes.bp)  # Twilio webhooks: authenticated by X-Twilio-Signature, no cookies
    app.register_blueprint(twilio_routes.bp)
    csrf.exempt(outbound_routes.bp)  # issue 16: "Call now" and hand-off webhooks, signed the same way
    app.register_blueprint(outbound_routes.bp)
    app.register_blueprint(pages.bp)  # HTML pages: cookie session, so CSRF-protected forms
    app.register_blueprint(agent.bp)  # agent sign-in and dashboard: same, plus the signed-in session
    from booking.routes import admin_customers, admin_pages  # issue 14: the admin console (agents.admin)

    app.register_blueprint(admin_pages.bp)
    app.register_blueprint(admin_customers.bp)
    app.register_blueprint(calendar.feed_bp)  # GET only, private key in the URL
    from booking.routes import requests as request_routes  # issue 13: the SLA queue

    request_routes.register(app)
    from booking.routes import agent_chat, chat  # issue 17: the chat button and the agent's panel

    csrf.exempt(chat.bp)  # token auth and CORS, no cookies
    app.register_api(chat.bp)
    app.register_blueprint(chat.widget_bp)
    app.add_template_global(chat.page_chat_token, "chat_token_for")
    app.register_blueprint(agent_chat.bp)
