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
from typing import TypedDict
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from booking.core.business_time import (
    BusinessCalendar,
    iana_zone,
    load_holidays,
    parse_days,
    parse_hours,
)
from booking.inbound.imap_url import ImapTarget, parse_imap_url


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
    outbox_lease_seconds: int
    outbox_drain_thread: bool
    calendar: BusinessCalendar = field(repr=False, compare=False)
    # Operations (issue 11): how long a database may take before a request gives up with a 503, and
    # the log format. Defaults keep a hung database from holding a web worker past gunicorn's 30 s.
    db_connect_timeout: int = 5  # seconds; PostgreSQL connect_timeout
    db_statement_timeout: int = 15  # seconds; PostgreSQL statement_timeout, SQLite busy timeout
    # Connections a web process keeps (pool) and may open beyond that (overflow): see docs/deploy.md's
    # connection budget. A process runs Python on one core, so more than ten statements in flight
    # buy it nothing, while every connection counts against PostgreSQL's max_connections.
    db_pool_size: int = 5
    db_max_overflow: int = 5
    log_format: str = "text"  # "text" or "json" (one JSON object per line, with the request id)
    access_log: bool = False  # one line per request (``booking serve`` turns it on)
    security: SecuritySettings = field(default_factory=lambda: SecuritySettings(), repr=False)
    #: BOOKING_TRIAGE_EMAIL: who is told about requests no customer could be matched to (issue 13).
    triage_email: str | None = None
    #: BOOKING_PHONE_REGION: where national phone numbers typed by admins are read ("06 12..." in FR).
    phone_region: str = "FR"
    #: Inbound e-mail (issue 15, ``_inbound_mail``): the address mail becomes requests at (None: off),
    #: the gateway's message size limit and TLS files, the acknowledgement cap, the attachment cap.
    support_email: str | None = None
    mail_max_bytes: int = 10 * 1024 * 1024
    mail_gateway_cert: str | None = None
    mail_gateway_key: str | None = None
    mail_ack_per_day: int = 3
    mail_attachment_max_bytes: int = 5 * 1024 * 1024
    #: BOOKING_IMAP_URL (issue 15): the support mailbox the worker polls; None: no IMAP polling.
    imap: ImapTarget | None = None
    #: BOOKING_IMAP_POLL_SECONDS: how often it is polled (a server offering IDLE wakes the worker sooner).
    imap_poll_seconds: int = 60
    #: BOOKING_IMAP_TIMEOUT_SECONDS: connect/read timeout, so a hung server never holds the job.
    imap_timeout_seconds: int = 30
    #: BOOKING_IMAP_CAFILE: a CA bundle to trust for the mailbox's certificate (system store by default).
    imap_cafile: str | None = None
    chat: ChatSettings = field(default_factory=lambda: ChatSettings(), repr=False)
    # Issue 18 (see _call_rules): buffer around calls, caps (0 = none), the video link's template.
    buffer_minutes: int = 0
    max_calls_per_day: int = 0
    max_open_bookings_per_customer: int = 0
    video_url_template: str | None = None

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


class _Database(TypedDict):
    database_url: str


class _Secrets(TypedDict):
    secret_key: str
    admin_token: str | None


class _BusinessTime(TypedDict):
    timezone: ZoneInfo
    opens: time
    closes: time
    business_days: frozenset[int]
    holidays_spec: str


class _Web(TypedDict):
    public_url: str | None


class _BookingRules(TypedDict):
    slot_minutes: int
    min_notice_minutes: int
    horizon_days: int


class _CallRules(TypedDict):
    buffer_minutes: int
    max_calls_per_day: int
    max_open_bookings_per_customer: int
    video_url_template: str | None


class _Mail(TypedDict):
    smtp_url: str | None
    mail_from: str
    triage_email: str | None


class _InboundMail(TypedDict):
    support_email: str | None
    mail_max_bytes: int
    mail_gateway_cert: str | None
    mail_gateway_key: str | None
    mail_ack_per_day: int
    mail_attachment_max_bytes: int


class _Twilio(TypedDict):
    twilio_account_sid: str | None
    twilio_auth_token: str | None
    twilio_from_number: str | None
    twilio_api_base: str | None
    support_number: str | None
    phone_region: str


class _Operations(TypedDict):
    db_connect_timeout: int
    db_statement_timeout: int
    db_pool_size: int
    db_max_overflow: int
    log_format: str
    access_log: bool


class _Imap(TypedDict):
    imap: ImapTarget | None
    imap_poll_seconds: int
    imap_timeout_seconds: int
    imap_cafile: str | None


class _Background(TypedDict):
    sync_minutes: int
    outbox_inline: bool
    scheduler_enabled: bool
    outbox_lease_seconds: int
    outbox_drain_thread: bool


def _log_format(env: Mapping[str, str]) -> str:
    raw = (env.get("BOOKING_LOG_FORMAT") or "text").strip().lower()
    if raw not in {"text", "json"}:
        raise ConfigError(f"BOOKING_LOG_FORMAT={raw!r} must be text or json")
    return raw


def _operations(env: Mapping[str, str]) -> _Operations:
    """Database timeouts (a hung database answers 503 before gunicorn's 30 s), the web processes'
    connection pool, log format, access log."""
    return {
        "db_connect_timeout": _int(env, "BOOKING_DB_CONNECT_TIMEOUT", 5, 2, 300),
        "db_statement_timeout": _int(env, "BOOKING_DB_STATEMENT_TIMEOUT", 15, 1, 3600),
        "db_pool_size": _int(env, "BOOKING_DB_POOL_SIZE", 5, 1, 200),
        "db_max_overflow": _int(env, "BOOKING_DB_MAX_OVERFLOW", 5, 0, 200),
        "log_format": _log_format(env),
        "access_log": _bool(env, "BOOKING_ACCESS_LOG", False),
    }


def _database(env: Mapping[str, str], instance: Path) -> _Database:
    """BOOKING_DATABASE_URL, SQLite in the instance folder by default."""
    database_url = env.get("BOOKING_DATABASE_URL") or f"sqlite:///{instance / 'booking.sqlite3'}"
    if "://" not in database_url:
        raise ConfigError(f"BOOKING_DATABASE_URL={database_url!r} is not a SQLAlchemy URL")
    if database_url.startswith("postgresql://") or database_url.startswith("postgres://"):
        # psycopg 3 is the driver we ship; accept the common spelling instead of failing at connect.
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]
    return {"database_url": database_url}


def _secrets(env: Mapping[str, str], instance: Path) -> _Secrets:
    """BOOKING_SECRET_KEY (generated once when unset) and BOOKING_ADMIN_TOKEN."""
    return {"secret_key": _secret_key(env, instance), "admin_token": env.get("BOOKING_ADMIN_TOKEN") or None}


def _business_time(env: Mapping[str, str]) -> _BusinessTime:
    """Zone, hours, days and holidays of the support team's business time."""
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
    return {"timezone": tz, "opens": opens, "closes": closes, "business_days": days, "holidays_spec": holidays_spec}


def _web(env: Mapping[str, str]) -> _Web:
    """BOOKING_PUBLIC_URL: the base of every link the service hands out, when set."""
    public_url = (env.get("BOOKING_PUBLIC_URL") or "").rstrip("/") or None
    if public_url:
        parts = urlsplit(public_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ConfigError(f"BOOKING_PUBLIC_URL={public_url!r} must be an absolute http(s) URL")
    return {"public_url": public_url}


def _booking_rules(env: Mapping[str, str]) -> _BookingRules:
    """Slot grid, minimum notice and how far ahead customers can book."""
    return {
        "slot_minutes": _int(env, "BOOKING_SLOT_MINUTES", 30, 5, 240),
        "min_notice_minutes": _int(env, "BOOKING_MIN_NOTICE_MINUTES", 60, 0, 60 * 24 * 30),
        "horizon_days": _int(env, "BOOKING_HORIZON_DAYS", 60, 1, 366),
    }


def _video_url_template(env: Mapping[str, str]) -> str | None:
    value = (env.get("BOOKING_VIDEO_URL_TEMPLATE") or "").strip()
    if not value:
        return None
    parts = urlsplit(value.replace("{uid}", "x"))
    if parts.scheme not in {"http", "https"} or not parts.netloc or "{uid}" not in value:
        raise ConfigError(
            f"BOOKING_VIDEO_URL_TEMPLATE={value!r} must be an http(s) URL containing {{uid}}, "
            "e.g. https://meet.example/{uid}"
        )
    return value


def _call_rules(env: Mapping[str, str]) -> _CallRules:
    """Issue 18: buffer before/after calls, calls per agent per day, open calls per customer (0 = no
    cap; agents may override the first two), and the video link (no template: phone calls only)."""
    return {
        "buffer_minutes": _int(env, "BOOKING_BUFFER_MINUTES", 0, 0, 240),
        "max_calls_per_day": _int(env, "BOOKING_MAX_CALLS_PER_DAY", 0, 0, 100),
        "max_open_bookings_per_customer": _int(env, "BOOKING_MAX_OPEN_BOOKINGS_PER_CUSTOMER", 0, 0, 1000),
        "video_url_template": _video_url_template(env),
    }


def _triage_email(env: Mapping[str, str]) -> str | None:
    value = (env.get("BOOKING_TRIAGE_EMAIL") or "").strip()
    if value and ("@" not in value or any(c.isspace() or c in ",;<>" for c in value)):
        raise ConfigError(f"BOOKING_TRIAGE_EMAIL={value!r} must be one e-mail address")
    return value or None


def _mail(env: Mapping[str, str]) -> _Mail:
    """BOOKING_SMTP_URL (none: mails are only logged), the sender, who hears of unmatched requests."""
    smtp_url = env.get("BOOKING_SMTP_URL") or None
    if smtp_url and urlsplit(smtp_url).scheme not in {"smtp", "smtps", "smtp+starttls"}:
        raise ConfigError(f"BOOKING_SMTP_URL={smtp_url!r} must start with smtp://, smtps:// or smtp+starttls://")
    return {
        "smtp_url": smtp_url,
        "mail_from": env.get("BOOKING_MAIL_FROM") or "booking@localhost",
        "triage_email": _triage_email(env),
    }


def _inbound_mail(env: Mapping[str, str]) -> _InboundMail:
    """BOOKING_SUPPORT_EMAIL (the e-mail channel is on when set) and the gateway's limits (issue 15)."""
    support = (env.get("BOOKING_SUPPORT_EMAIL") or "").strip().lower()
    if support and ("@" not in support or any(c.isspace() or c in ",;<>" for c in support)):
        raise ConfigError(f"BOOKING_SUPPORT_EMAIL={support!r} must be one e-mail address")
    cert = (env.get("BOOKING_MAIL_GATEWAY_CERT") or "").strip() or None
    key = (env.get("BOOKING_MAIL_GATEWAY_KEY") or "").strip() or None
    if (cert is None) != (key is None):
        raise ConfigError("BOOKING_MAIL_GATEWAY_CERT and BOOKING_MAIL_GATEWAY_KEY must be set together")
    for name, path in (("BOOKING_MAIL_GATEWAY_CERT", cert), ("BOOKING_MAIL_GATEWAY_KEY", key)):
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"{name}={path!r} is not a readable file")
    return {
        "support_email": support or None,
        "mail_max_bytes": _int(env, "BOOKING_MAIL_MAX_BYTES", 10 * 1024 * 1024, 1024, 100 * 1024 * 1024),
        "mail_gateway_cert": cert,
        "mail_gateway_key": key,
        "mail_ack_per_day": _int(env, "BOOKING_MAIL_ACK_PER_DAY", 3, 0, 1000),
        "mail_attachment_max_bytes": _int(env, "BOOKING_MAIL_ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024, 0, 100 * 1024**2),
    }


def _phone_region(env: Mapping[str, str]) -> str:
    import phonenumbers

    value = (env.get("BOOKING_PHONE_REGION") or "FR").strip().upper()
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"BOOKING_PHONE_REGION={value!r} must be a two-letter region code such as FR or BE")
    return value


def _twilio(env: Mapping[str, str]) -> _Twilio:
    """Twilio credentials and numbers; all optional (no SMS without them); the region of national numbers."""
    return {
        "twilio_account_sid": env.get("TWILIO_ACCOUNT_SID") or None,
        "twilio_auth_token": env.get("TWILIO_AUTH_TOKEN") or None,
        "twilio_from_number": env.get("TWILIO_FROM_NUMBER") or None,
        "twilio_api_base": env.get("BOOKING_TWILIO_API_BASE") or None,
        "support_number": env.get("BOOKING_SUPPORT_NUMBER") or None,
        "phone_region": _phone_region(env),
    }


def _imap(env: Mapping[str, str]) -> _Imap:
    """BOOKING_IMAP_URL (a mailbox polled by the worker), its interval, timeout and CA bundle."""
    raw = (env.get("BOOKING_IMAP_URL") or "").strip()
    target = None
    if raw:
        try:
            target = parse_imap_url(raw)
        except ValueError as exc:
            raise ConfigError(f"BOOKING_IMAP_URL {exc}") from exc  # the value holds a password: not echoed
    cafile = (env.get("BOOKING_IMAP_CAFILE") or "").strip() or None
    if cafile and not Path(cafile).is_file():
        raise ConfigError(f"BOOKING_IMAP_CAFILE={cafile!r} is not a readable file")
    return {
        "imap": target,
        "imap_poll_seconds": _int(env, "BOOKING_IMAP_POLL_SECONDS", 60, 5, 24 * 3600),
        "imap_timeout_seconds": _int(env, "BOOKING_IMAP_TIMEOUT_SECONDS", 30, 1, 600),
        "imap_cafile": cafile,
    }


def _background(env: Mapping[str, str]) -> _Background:
    """Calendar sync interval, inline outbox drain, in-process scheduler, outbox lease."""
    return {
        "sync_minutes": _int(env, "BOOKING_SYNC_MINUTES", 5, 1, 24 * 60),
        "outbox_inline": _bool(env, "BOOKING_OUTBOX_INLINE", True),
        "scheduler_enabled": _bool(env, "BOOKING_SCHEDULER", True),
        # How long a worker owns the outbox row it runs: a crashed worker's row is retried after it.
        "outbox_lease_seconds": _int(env, "BOOKING_OUTBOX_LEASE_SECONDS", 600, 1, 24 * 3600),
        # The after-response drain in one background thread per process instead of the request's own
        # thread: a gunicorn SYNC worker (the webhook pool) accepts its next request only once the
        # response's close has returned, so an inline SMS + e-mail would queue the next caller.
        "outbox_drain_thread": _bool(env, "BOOKING_OUTBOX_DRAIN_THREAD", False),
    }


def load_settings(env: Mapping[str, str] | None = None, *, instance_path: Path | str) -> Settings:
    """Read and validate the configuration; raise ConfigError with a one-line reason.

    One parser per group of variables; they run in this order, so when several values are bad the
    first one reported is the same as before the split.
    """
    env = os.environ if env is None else env
    instance = Path(instance_path)
    database = _database(env, instance)
    business_time = _business_time(env)
    web = _web(env)
    mail = _mail(env)
    secrets_ = _secrets(env, instance)
    booking_rules = _booking_rules(env)
    background = _background(env)
    settings = Settings(
        **database,
        **secrets_,
        **web,
        **business_time,
        **booking_rules,
        **_twilio(env),
        **mail,
        **background,
        **_operations(env),
        **_inbound_mail(env),
        **_imap(env),
        **_call_rules(env),
        calendar=None,  # type: ignore[arg-type]  # filled just below from the validated fields
    )
    if settings.min_notice >= settings.horizon:
        # Every slot would be both too soon and too far: the booking page would always be empty.
        raise ConfigError(
            f"BOOKING_MIN_NOTICE_MINUTES={settings.min_notice_minutes} must be shorter than "
            f"BOOKING_HORIZON_DAYS={settings.horizon_days} ({settings.horizon_days * 24 * 60} minutes)"
        )
    return replace(
        settings, calendar=_calendar(settings), security=load_security_settings(env), chat=load_chat_settings(env)
    )


# --- security (issue 12): limits, admin tokens, media hosts ---------------------------------------

ADMIN_TOKEN_MIN_LENGTH = 32
DEFAULT_TWILIO_MEDIA_HOSTS = ("api.twilio.com", "*.twilio.com")


@dataclass(frozen=True)
class SecuritySettings:
    """What strangers may send and how often; parsed apart from the rest so it reads (and merges) alone.

    Rate limits are Flask-Limiter strings ("20 per hour"); an empty variable disables that limit.
    """

    admin_tokens: tuple[str, ...] = ()
    max_request_bytes: int = 1024 * 1024
    redis_url: str | None = None
    rate_limit_booking: str = "20 per hour"
    rate_limit_sign_in: str = "10 per hour"
    rate_limit_forms: str = "60 per hour"
    rate_limit_chat: str = "30 per minute"  # chat messages and transcripts, per chat token (issue 17)
    max_open_bookings: int = 10
    twilio_media_hosts: tuple[str, ...] = DEFAULT_TWILIO_MEDIA_HOSTS
    proxy_hops: int = 0  # reverse proxies in front whose X-Forwarded-For is trusted (client address)


def _admin_tokens(raw: str | None) -> tuple[str, ...]:
    """Several comma-separated tokens, so a new one can be rolled out before the old one is removed."""
    tokens = tuple(t.strip() for t in (raw or "").split(",") if t.strip())
    for token in tokens:
        if len(token) < ADMIN_TOKEN_MIN_LENGTH:
            raise ConfigError(
                f"BOOKING_ADMIN_TOKEN: every token must be at least {ADMIN_TOKEN_MIN_LENGTH} characters "
                f"(one has {len(token)}); e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
    return tokens


def _rate_limit(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip()
    if value:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as exc:
            raise ConfigError(f"{name}={raw!r} is not a rate limit such as '20 per hour' or '5/minute'") from exc
    return value


def _hosts(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    hosts = tuple(h.strip().lower().rstrip("/") for h in raw.split(",") if h.strip())
    for host in hosts:
        bare = host.removeprefix("https://").removeprefix("http://")
        if not bare or "/" in bare or "@" in bare:
            raise ConfigError(
                f"{name}: {host!r} must be a host (api.twilio.com, *.twilio.com, host:port, "
                "or http://host:port for a local stand-in)"
            )
    return hosts


def load_security_settings(env: Mapping[str, str]) -> SecuritySettings:
    redis_url = env.get("BOOKING_REDIS_URL") or None
    if redis_url and urlsplit(redis_url).scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError(f"BOOKING_REDIS_URL={redis_url!r} must start with redis://, rediss:// or unix://")
    return SecuritySettings(
        admin_tokens=_admin_tokens(env.get("BOOKING_ADMIN_TOKEN")),
        max_request_bytes=_int(env, "BOOKING_MAX_REQUEST_BYTES", 1024 * 1024, 1024, 100 * 1024 * 1024),
        redis_url=redis_url,
        rate_limit_booking=_rate_limit(env, "BOOKING_RATE_LIMIT_BOOKING", "20 per hour"),
        rate_limit_sign_in=_rate_limit(env, "BOOKING_RATE_LIMIT_SIGN_IN", "10 per hour"),
        rate_limit_forms=_rate_limit(env, "BOOKING_RATE_LIMIT_FORMS", "60 per hour"),
        rate_limit_chat=_rate_limit(env, "BOOKING_RATE_LIMIT_CHAT", "30 per minute"),
        max_open_bookings=_int(env, "BOOKING_MAX_OPEN_BOOKINGS", 10, 1, 10_000),
        twilio_media_hosts=_hosts(env, "BOOKING_TWILIO_MEDIA_HOSTS", DEFAULT_TWILIO_MEDIA_HOSTS),
        proxy_hops=_int(env, "BOOKING_PROXY_HOPS", 0, 0, 5),
    )


# --- chat (issue 17) --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatSettings:
    """The chat button's clocks and limits (see docs/chat.md)."""

    #: BOOKING_CHAT_ANSWER_MINUTES: an in-hours conversation unanswered this long becomes a request
    answer_minutes: int = 3
    #: BOOKING_CHAT_ACTIVE_MINUTES: an agent counts as active this long after their last request/heartbeat
    active_minutes: int = 5
    #: BOOKING_CHAT_MAX_MESSAGE_BYTES: a longer message is refused with 413
    max_message_bytes: int = 4096
    #: BOOKING_CHAT_HEARTBEAT_SECONDS: an open stream sends a comment and re-checks presence this often
    heartbeat_seconds: int = 15
    #: BOOKING_CHAT_STREAM_SECONDS: a stream is closed after this long (the browser reconnects with
    #: Last-Event-ID), so a worker thread is never held for ever by one client
    stream_seconds: int = 300

    @property
    def answer_within(self) -> timedelta:
        return timedelta(minutes=self.answer_minutes)

    @property
    def active_window(self) -> timedelta:
        return timedelta(minutes=self.active_minutes)


def load_chat_settings(env: Mapping[str, str]) -> ChatSettings:
    return ChatSettings(
        answer_minutes=_int(env, "BOOKING_CHAT_ANSWER_MINUTES", 3, 1, 24 * 60),
        active_minutes=_int(env, "BOOKING_CHAT_ACTIVE_MINUTES", 5, 1, 24 * 60),
        max_message_bytes=_int(env, "BOOKING_CHAT_MAX_MESSAGE_BYTES", 4096, 64, 7000),
        heartbeat_seconds=_int(env, "BOOKING_CHAT_HEARTBEAT_SECONDS", 15, 1, 300),
        stream_seconds=_int(env, "BOOKING_CHAT_STREAM_SECONDS", 300, 5, 3600),
    )
