"""The IMAP poller's memory (issue 15): which mailbox was polled how, and which UIDs it imported.

A table of UIDs beside the ingest's Message-ID idempotency because they fail differently: a
message without a Message-ID (or two messages sharing one) is still imported once per UID, and a
mailbox whose UIDVALIDITY changed (a restored or re-created folder) renumbers every UID, which the
``(mailbox, uidvalidity, uid)`` key keeps apart while Message-IDs catch the re-delivered copies.
The mailbox row carries the back-off state, so several worker copies back off together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from booking.extensions import db
from booking.models import UTCDateTime, utcnow

__all__ = ["INGESTED", "OUTCOMES", "TOO_LARGE", "ImapMailbox", "ImapSeen"]

INGESTED = "ingested"  # the ingest committed (the message is, or joined, a request; or was a duplicate)
TOO_LARGE = "too_large"  # over BOOKING_MAIL_MAX_BYTES: never downloaded, left unseen for a person
OUTCOMES = (INGESTED, TOO_LARGE)


class ImapMailbox(db.Model):  # type: ignore[name-defined]
    """One polled mailbox (``ImapTarget.key``: user@host:port/folder, never the password)."""

    __tablename__ = "imap_mailboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive failed polls
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # back-off
    imported: Mapped[int] = mapped_column(Integer, default=0)  # messages ingested, all time
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImapSeen(db.Model):  # type: ignore[name-defined]
    """A message the poller handed to the ingest and whose ingest committed."""

    __tablename__ = "imap_seen"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("imap_mailboxes.id", ondelete="CASCADE"))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(998), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16), default=INGESTED)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("mailbox_id", "uidvalidity", "uid", name="uq_imap_seen_uid"),
        CheckConstraint("outcome IN ('ingested', 'too_large')", name="outcome"),
    )
