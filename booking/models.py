"""Typed SQLAlchemy 2.0 models. Every instant is stored in UTC (``UTCDateTime``).

The no-double-booking rule lives in the database (see ``booking.db_guards``), not only here: a
PostgreSQL exclusion constraint and an SQLite trigger refuse two overlapping confirmed rows in
``bookings`` for one agent, whatever code path writes them. Callback reservations are rows of the
same table (``kind='callback'``) so the same guard keeps customers from booking over them.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from booking.extensions import db
from booking.tokens import new_token, sealed_token
from booking.vocabulary import (
    STORED_TOPICS,
    BookingKind,
    BookingStatus,
    BusySource,
    CallbackStatus,
    CallMethod,
    CallStatus,
    Language,
    OutboxStatus,
    Plan,
    SyncStatus,
    Tier,
    one_of,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive values are refused, never guessed.

    SQLite has no time zone type and hands back naive values, so the UTC zone is re-attached on
    the way out; PostgreSQL stores ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} refused: store aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def token_matches(expected: str, given: str | None) -> bool:
    """Constant-time check of a secret against what a client sent (which may be any text at all)."""
    if not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


class Agent(db.Model):  # type: ignore[name-defined]
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(16), default=Tier.DEDICATED)
    # {"mon": ["09:00-17:00"], ...} in the agent's zone; None = the business hours.
    working_hours: Mapped[dict[str, list[str]] | None] = mapped_column(JSON, nullable=True)
    on_call: Mapped[bool] = mapped_column(Boolean, default=False)
    #: may see every agent's queue, the triage queue and the SLA report in the browser
    admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The private feed's key, stored hashed and sealed (booking.tokens); ``agent.feed_key`` unseals it.
    feed_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    feed_key_sealed: Mapped[str] = mapped_column(Text)
    feed_key = sealed_token("feed_key")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Password-less sign-in (booking.services.agent_auth): a sign-in link carries this nonce and is
    # good only while it is current; using a link replaces it, so a used or older link stops working.
    sign_in_nonce: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Sessions are signed cookies; they carry this number, and signing out bumps it, so every copy of
    # an earlier session cookie (another browser, a stolen one) is refused from then on.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Chat presence (issue 17): the last dashboard request or heartbeat of a signed-in agent; signing
    # out clears it, so "available" is a fact about the agent, not about an open tab.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Issue 18 (migration 0014): the language of the agent's mails and SMS; the agent's own booking
    # rules, None = the deployment's BOOKING_BUFFER_MINUTES / BOOKING_MAX_CALLS_PER_DAY.
    language: Mapped[str] = mapped_column(String(8), default=Language.EN, server_default=Language.EN)
    buffer_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_calls_per_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Incremented by ``schedule.lock_agent`` in every transaction that changes this agent's busy time
    # (bookings, reservations, time off, synced blocks): the key of the parsed busy-time cache
    # (``services.availability``), so a cached answer is never older than the committed schedule.
    schedule_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        CheckConstraint(one_of("tier", Tier), name="tier"),
        CheckConstraint(one_of("language", Language), name="language"),
    )

    calendar: Mapped[CalendarConnection | None] = relationship(back_populates="agent", uselist=False)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("feed_key", new_token())
        super().__init__(**kwargs)


class CalendarConnection(db.Model):  # type: ignore[name-defined]
    """An agent's CalDAV collection; the password is encrypted at rest (Fernet)."""

    __tablename__ = "calendar_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    username: Mapped[str] = mapped_column(String(320))
    password_encrypted: Mapped[str] = mapped_column(Text)
    sync_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_sync_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    last_sync_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_sync_counts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agent: Mapped[Agent] = relationship(back_populates="calendar")

    __table_args__ = (CheckConstraint(one_of("last_sync_status", SyncStatus), name="last_sync_status"),)


class RemoteEvent(db.Model):  # type: ignore[name-defined]
    """One calendar object seen on the agent's server (href + ETag), for incremental sync."""

    __tablename__ = "remote_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    href: Mapped[str] = mapped_column(String(2000))
    etag: Mapped[str | None] = mapped_column(String(200), nullable=True)
    uid: Mapped[str | None] = mapped_column(String(500), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("agent_id", "href", name="uq_remote_events_agent_href"),)


class BusyBlock(db.Model):  # type: ignore[name-defined]
    """Time taken in an agent's own calendar, stored as UTC intervals at sync time.

    Parsing iCalendar costs ~1 ms per event, so it happens once at sync; the availability query
    only reads these rows through the (agent_id, start_at) index.
    """

    __tablename__ = "busy_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16), default=BusySource.CALDAV)
    source_href: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    external_uid: Mapped[str | None] = mapped_column(String(500), nullable=True)
    summary: Mapped[str | None] = mapped_column(String(500), nullable=True)

    __table_args__ = (
        CheckConstraint("end_at > start_at", name="interval"),
        CheckConstraint(one_of("source", BusySource), name="source"),
        # Covering index: the availability query reads (start_at, end_at) without touching the table.
        Index("ix_busy_blocks_agent_start", "agent_id", "start_at", "end_at"),
        Index("ix_busy_blocks_agent_href", "agent_id", "source_href"),
    )


class TimeOff(db.Model):  # type: ignore[name-defined]
    __tablename__ = "time_off"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)

    __table_args__ = (
        CheckConstraint("end_at > start_at", name="interval"),
        Index("ix_time_off_agent_start", "agent_id", "start_at"),
    )


class Customer(db.Model):  # type: ignore[name-defined]
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(64))
    dedicated_support: Mapped[bool] = mapped_column(Boolean, default=False)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    #: covers for the dedicated agent while they are away (time off, deactivated): migration 0009
    backup_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    # Deactivated customers keep their rows (history, SLA report) but lose the booking link (migration 0008).
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The booking link's token, stored hashed and sealed (booking.tokens); ``customer.booking_token``
    # unseals it, and ``Customer.booking_token == token`` in a query compares hashes.
    booking_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    booking_token_sealed: Mapped[str] = mapped_column(Text)
    booking_token = sealed_token("booking_token")
    # The chat widget's token (issue 17, migration 0013): separate from the booking link, revocable alone.
    chat_token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    chat_token_sealed: Mapped[str] = mapped_column(Text)
    chat_token = sealed_token("chat_token")
    #: the origins (https://intranet.example) that may embed the widget and call the chat API
    chat_origins: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agent: Mapped[Agent | None] = relationship(foreign_keys=[agent_id])
    backup_agent: Mapped[Agent | None] = relationship(foreign_keys=[backup_agent_id])
    phones: Mapped[list[CustomerPhone]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerPhone.id"
    )
    emails: Mapped[list[CustomerEmail]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerEmail.id"
    )

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("booking_token", new_token())
        kwargs.setdefault("chat_token", new_token())
        super().__init__(**kwargs)

    @property
    def eligible(self) -> bool:
        """Only an active customer on the All-inclusive plan with the dedicated-support add-on gets an agent."""
        return (
            self.active is not False
            and self.plan == Plan.ALL_INCLUSIVE
            and self.dedicated_support
            and self.agent_id is not None
        )


class CustomerPhone(db.Model):  # type: ignore[name-defined]
    __tablename__ = "customer_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(32), unique=True)

    customer: Mapped[Customer] = relationship(back_populates="phones")


class CustomerEmail(db.Model):  # type: ignore[name-defined]
    __tablename__ = "customer_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))

    customer: Mapped[Customer] = relationship(back_populates="emails")


def new_uid() -> str:
    return f"{uuid.uuid4()}@booking"


class Booking(db.Model):  # type: ignore[name-defined]
    """A call (``kind='call'``) or a callback reservation (``kind='callback'``) in an agent's schedule."""

    __tablename__ = "bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(200), unique=True, default=new_uid)
    kind: Mapped[str] = mapped_column(String(16), default=BookingKind.CALL)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    topic: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=BookingStatus.CONFIRMED)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    # The manage link's token, stored hashed and sealed (booking.tokens).
    manage_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    manage_token_sealed: Mapped[str] = mapped_column(Text)
    manage_token = sealed_token("manage_token")
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(320))
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The contact's language (the page's at booking time, or the API's ``language``): mails, reminders, .ics.
    locale: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # Issue 18 (migration 0014): the contact's IANA zone (None: the business zone), the number the
    # agent calls, and how the call happens (CallMethod).
    contact_timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    call_method: Mapped[str] = mapped_column(String(8), default=CallMethod.PHONE, server_default=CallMethod.PHONE)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    agent: Mapped[Agent] = relationship()
    customer: Mapped[Customer] = relationship()

    __table_args__ = (
        CheckConstraint("end_at > start_at", name="interval"),
        CheckConstraint(one_of("status", BookingStatus), name="status"),
        CheckConstraint(one_of("kind", BookingKind), name="kind"),
        CheckConstraint(one_of("call_method", CallMethod), name="call_method"),
        CheckConstraint(one_of("topic", STORED_TOPICS), name="topic"),
        UniqueConstraint("customer_id", "idempotency_key", name="uq_bookings_customer_idempotency"),
        Index("ix_bookings_agent_start", "agent_id", "start_at"),
    )

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("manage_token", new_token())
        super().__init__(**kwargs)

    @property
    def duration_minutes(self) -> int:
        return int((self.end_at - self.start_at).total_seconds() // 60)


class OutboxMessage(db.Model):  # type: ignore[name-defined]
    """A side effect to perform after a commit (CalDAV push, e-mail, SMS), retried with back-off.

    One row per (handler, key): the unique constraint makes emitting the same event twice a no-op,
    and a row is marked done only after its handler succeeded, so nothing is lost or done twice.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    handler: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("handler", "key", name="uq_outbox_handler_key"),
        CheckConstraint(one_of("status", OutboxStatus), name="status"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )


class Call(db.Model):  # type: ignore[name-defined]
    """An incoming phone call, keyed by Twilio's CallSid (webhooks are retried; dedupe on it)."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str] = mapped_column(String(32))
    to_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), nullable=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    severity: Mapped[int] = mapped_column(Integer, default=3)
    after_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    # Moved only by booking.core.call_states.move_call, which declares the allowed transitions.
    status: Mapped[str] = mapped_column(String(32), default=CallStatus.RINGING)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint(one_of("status", CallStatus), name="status"),)


class Voicemail(db.Model):  # type: ignore[name-defined]
    __tablename__ = "voicemails"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_sid: Mapped[str] = mapped_column(String(64), unique=True)
    call_sid: Mapped[str] = mapped_column(String(64))
    recording_url: Mapped[str] = mapped_column(String(2000))
    duration: Mapped[int] = mapped_column(Integer, default=0)
    from_number: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), nullable=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    severity: Mapped[int] = mapped_column(Integer, default=3)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Callback(db.Model):  # type: ignore[name-defined]
    """A queued return call with its SLA due time; reserves a slot through ``booking_id``."""

    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(primary_key=True)
    voicemail_id: Mapped[int] = mapped_column(ForeignKey("voicemails.id"), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), nullable=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), nullable=True)
    phone: Mapped[str] = mapped_column(String(32))
    severity: Mapped[int] = mapped_column(Integer, default=3)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=CallbackStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    voicemail: Mapped[Voicemail] = relationship()
    customer: Mapped[Customer | None] = relationship()
    agent: Mapped[Agent | None] = relationship()
    booking: Mapped[Booking | None] = relationship()

    __table_args__ = (
        CheckConstraint(one_of("status", CallbackStatus), name="status"),
        CheckConstraint("severity BETWEEN 1 AND 5", name="severity"),
        Index("ix_callbacks_status_due", "status", "due_at"),
    )
