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
from booking.extensions import csrf, db, migrate

__all__ = ["ConfigError", "Settings", "create_app"]

PACKAGE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"


def _resource_dir(name: str) -> str:
    """Top-level ``templates/`` in a checkout; ``booking/<name>`` inside an installed wheel."""
    installed = PACKAGE_DIR / name
    if installed.is_dir():
        return str(installed)
    return str(PACKAGE_DIR.parent / name)


def _engine_options(database_url: str) -> dict[str, Any]:
    """PostgreSQL sessions in UTC: instants come back with ``datetime.UTC`` itself, no conversion.

    Everything is stored and compared in UTC anyway; with the server's zone (say Etc/UTC as a
    ZoneInfo) every datetime the driver returns needed an ``astimezone`` and compared ~7x slower.
    """
    options: dict[str, Any] = {"pool_pre_ping": True}
    if database_url.startswith("postgresql"):
        options["connect_args"] = {"options": "-c TimeZone=UTC"}
    return options


def create_app(config: Mapping[str, Any] | None = None, *, env: Mapping[str, str] | None = None) -> OpenAPI:
    """Build the app. ``env`` replaces ``os.environ`` (tests); ``config`` overrides Flask config keys.

    Raises ConfigError (one printable line) when a ``BOOKING_*`` variable is unusable.
    """
    from booking.routes.errors import validation_error_response
    from booking.routes.schemas import ErrorResponse

    app = OpenAPI(
        __name__,
        info=Info(
            title="booking",
            version="1.0.0",
            description="Book calls with your dedicated support agent. Errors are always "
            '`{"error": {"code", "message"}}`.',
        ),
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
        validation_error_status=400,
        validation_error_model=ErrorResponse,
        validation_error_callback=validation_error_response,
        doc_prefix="/api",
        doc_url="/openapi.json",
        instance_path=(os.environ if env is None else env).get("BOOKING_INSTANCE_PATH") or None,
        template_folder=_resource_dir("templates"),
        static_folder=_resource_dir("static"),
    )
    settings = load_settings(env, instance_path=app.instance_path)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
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
    from booking.routes.common import StrictJSONProvider

    app.json = StrictJSONProvider(app)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the documented field order
    from booking.mail import mailer_for

    # Adapters that leave the process, chosen by configuration (tests point them at local servers).
    app.extensions["booking.mailer"] = mailer_for(settings.smtp_url, settings.mail_from)
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

    _register_blueprints(app)
    from booking.cli import register_commands

    register_commands(app)
    return app


def _register_blueprints(app: OpenAPI) -> None:
    import booking.calendar_sync.push  # noqa: F401  (subscribes the CalDAV push to booking events)
    from booking import i18n, notifications
    from booking.routes import admin, agent, api, calendar, callbacks, errors, pages
    from booking.voicemail import routes as twilio_routes

    i18n.init_app(app)
    notifications.register()
    errors.register(app)
    for module in (api, admin, callbacks):  # routes.calendar adds its admin endpoints to admin.bp on import
        csrf.exempt(module.bp)  # JSON API: token/bearer auth, no cookies, so no CSRF surface
        app.register_api(module.bp)
    csrf.exempt(twilio_routes.bp)  # Twilio webhooks: authenticated by X-Twilio-Signature, no cookies
    app.register_blueprint(twilio_routes.bp)
    app.register_blueprint(pages.bp)  # HTML pages: cookie session, so CSRF-protected forms
    app.register_blueprint(agent.bp)  # agent sign-in and dashboard: same, plus the signed-in session
    app.register_blueprint(calendar.feed_bp)  # GET only, private key in the URL
    from booking.routes import requests as request_routes  # issue 13: the SLA queue

    request_routes.register(app)
