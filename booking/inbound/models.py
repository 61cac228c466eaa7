"""An e-mail request's thread (issue 15): every message in and out, and the attachments that came in.

``request_messages.message_id`` is unique: it is what makes ingestion idempotent (a replayed or
re-polled message finds its row and creates nothing) and what threading looks up (a reply's
``In-Reply-To`` / ``References`` name a row, ours or the customer's). Our own outgoing rows (the
acknowledgement, the agent's replies) are written before they are sent, by the outbox, so the
thread shows them at once and the acknowledgement's Message-ID (one per request) keeps it to one
per thread in the database itself.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.extensions import db
from booking.models import UTCDateTime, utcnow
from booking.models_requests import SupportRequest

DIRECTIONS = ("in", "out")
#: ``customer``: mail that came in; ``ack``: our one acknowledgement; ``reply``: an agent's answer
MESSAGE_KINDS = ("customer", "ack", "reply")


class RequestMessage(db.Model):  # type: ignore[name-defined]
    __tablename__ = "request_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"))
    direction: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))  # smtp | imap | agent | system
    message_id: Mapped[str] = mapped_column(String(500), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(500), nullable=True)
    refs: Mapped[str | None] = mapped_column(Text, nullable=True)  # the References header, space-separated
    sender: Mapped[str] = mapped_column(String(320))
    sender_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    recipient: Mapped[str | None] = mapped_column(String(320), nullable=True)
    reply_to: Mapped[str | None] = mapped_column(String(320), nullable=True)  # where answers go, if not sender
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    display_text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text, nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    automatic: Mapped[str | None] = mapped_column(String(200), nullable=True)  # why it is automatic mail
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[SupportRequest] = relationship()
    attachments: Mapped[list[RequestAttachment]] = relationship(
        back_populates="message", order_by="RequestAttachment.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        CheckConstraint("kind IN ('customer', 'ack', 'reply')", name="kind"),
        Index("ix_request_messages_request", "request_id", "id"),
        Index("ix_request_messages_recipient", "recipient", "kind", "created_at"),
    )


class RequestAttachment(db.Model):  # type: ignore[name-defined]
    """A file that came with a message; ``content`` is None when it was over the size cap (listed only)."""

    __tablename__ = "request_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("request_messages.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    message: Mapped[RequestMessage] = relationship(back_populates="attachments")
