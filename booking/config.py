"""Typed settings read from ``BOOKING_*`` variables, validated once at start-up.

A scheduling service that silently runs with a mistyped time zone books every call an hour off, so
every value is parsed here, before the first request, and a bad one stops the process with a single
line that names the variable (see ``ConfigError``) instead of surfacing later as a wrong slot.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from booking.core.business_time import (
    BusinessCalendar,
    iana_zone,
    load_holidays,
    parse_days,
    parse_hours,
)


class ConfigError(ValueError):
    """A setting is unusable; the message names the variable and is meant to be printed alone."""


def _zone(name: str, value: str) -> ZoneInfo:
    try:
        return iana_zone(value)
    except ValueError as exc:
        raise ConfigError(f"{name}={value!r} is not an IANA time zone (e.g. Europe/Paris)") from exc


def _int(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from exc
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name}={value} must be between {minimum} and {maximum}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to know about its deployment, already validated."""

    database_url: str
    secret_key: str
    admin_token: str | None
    public_url: str | None
    timezone: ZoneInfo
    opens: time
    closes: time
    business_days: frozenset[int]
    holidays_spec: str
    slot_minutes: int
    min_notice_minutes: int
    horizon_days: int
    sync_minutes: int
    twilio_account_sid: str | None
    twilio_auth_token: str | None
    twilio_from_number: str | None
    twilio_api_base: str | None
    support_number: str | None
    smtp_url: str | None
    mail_from: str
    outbox_inline: bool
    scheduler_enabled: bool
    calendar: BusinessCalendar = field(repr=False, compare=False)
    #: BOOKING_TRIAGE_EMAIL: who is told about requests no customer could be matched to (issue 13).
    triage_email: str | None = None

    @property
    def slot_step(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)

    @property
    def min_notice(self) -> timedelta:
        return timedelta(minutes=self.min_notice_minutes)

    @property
    def horizon(self) -> timedelta:
        return timedelta(days=self.horizon_days)


def _calendar(s: Settings) -> BusinessCalendar:
    return BusinessCalendar(
        tz=s.timezone,
        opens=s.opens,
        closes=s.closes,
        days=s.business_days,
        holidays=load_holidays(s.holidays_spec),
    )


def _secret_key(env: Mapping[str, str], instance_path: Path) -> str:
    """Use BOOKING_SECRET_KEY, else a key generated once into the instance folder.

    Generating it once (not per process) keeps manage links and feed keys valid across restarts and
    across the web and worker processes of one installation.
    """
    explicit = env.get("BOOKING_SECRET_KEY")
    if explicit:
        if len(explicit) < 16:
            raise ConfigError("BOOKING_SECRET_KEY must be at least 16 characters")
        return explicit
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} must be true or false")


def _triage_email(env: Mapping[str, str]) -> str | None:
    value = (env.get("BOOKING_TRIAGE_EMAIL") or "").strip()
    if value and ("@" not in value or any(c.isspace() or c in ",;<>" for c in value)):
        raise ConfigError(f"BOOKING_TRIAGE_EMAIL={value!r} must be one e-mail address")
    return value or None


def load_settings(env: Mapping[str, str] | None = None, *, instance_path: Path | str) -> Settings:
    """Read and validate the configuration; raise ConfigError with a one-line reason."""
    env = os.environ if env is None else env
    instance = Path(instance_path)
    database_url = env.get("BOOKING_DATABASE_URL") or f"sqlite:///{instance / 'booking.sqlite3'}"
    if "://" not in database_url:
        raise ConfigError(f"BOOKING_DATABASE_URL={database_url!r} is not a SQLAlchemy URL")
    if database_url.startswith("postgresql://") or database_url.startswith("postgres://"):
        # psycopg 3 is the driver we ship; accept the common spelling instead of failing at connect.
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]

    tz = _zone("BOOKING_TIMEZONE", env.get("BOOKING_TIMEZONE") or "Europe/Paris")
    try:
        opens, closes = parse_hours(env.get("BOOKING_BUSINESS_HOURS") or "09:00-17:00")
    except ValueError as exc:
        raise ConfigError(f"BOOKING_BUSINESS_HOURS: {exc}") from exc
    try:
        days = parse_days(env.get("BOOKING_BUSINESS_DAYS") or "mon-fri")
    except ValueError as exc:
        raise ConfigError(f"BOOKING_BUSINESS_DAYS: {exc}") from exc
    holidays_spec = env.get("BOOKING_HOLIDAYS", "FR").strip()
    try:
        load_holidays(holidays_spec)
    except ValueError as exc:
        raise ConfigError(f"BOOKING_HOLIDAYS: {exc}") from exc

    public_url = (env.get("BOOKING_PUBLIC_URL") or "").rstrip("/") or None
    if public_url:
        parts = urlsplit(public_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ConfigError(f"BOOKING_PUBLIC_URL={public_url!r} must be an absolute http(s) URL")

    smtp_url = env.get("BOOKING_SMTP_URL") or None
    if smtp_url and urlsplit(smtp_url).scheme not in {"smtp", "smtps", "smtp+starttls"}:
        raise ConfigError(f"BOOKING_SMTP_URL={smtp_url!r} must start with smtp://, smtps:// or smtp+starttls://")

    settings = Settings(
        database_url=database_url,
        secret_key=_secret_key(env, instance),
        admin_token=env.get("BOOKING_ADMIN_TOKEN") or None,
        public_url=public_url,
        timezone=tz,
        opens=opens,
        closes=closes,
        business_days=days,
        holidays_spec=holidays_spec,
        slot_minutes=_int(env, "BOOKING_SLOT_MINUTES", 30, 5, 240),
        min_notice_minutes=_int(env, "BOOKING_MIN_NOTICE_MINUTES", 60, 0, 60 * 24 * 30),
        horizon_days=_int(env, "BOOKING_HORIZON_DAYS", 60, 1, 366),
        sync_minutes=_int(env, "BOOKING_SYNC_MINUTES", 5, 1, 24 * 60),
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
        twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
        twilio_from_number=env.get("TWILIO_FROM_NUMBER") or None,
        twilio_api_base=env.get("BOOKING_TWILIO_API_BASE") or None,
        support_number=env.get("BOOKING_SUPPORT_NUMBER") or None,
        smtp_url=smtp_url,
        mail_from=env.get("BOOKING_MAIL_FROM") or "booking@localhost",
        outbox_inline=_bool(env, "BOOKING_OUTBOX_INLINE", True),
        scheduler_enabled=_bool(env, "BOOKING_SCHEDULER", True),
        calendar=None,  # type: ignore[arg-type]  # filled just below from the validated fields
        triage_email=_triage_email(env),
    )
    return replace(settings, calendar=_calendar(settings))
