"""The chat's tables (issue 17, migration 0013): one conversation per visitor of a customer's widget.

A customer's widget is embedded on an intranet many employees use, so a conversation belongs to one
*visitor*: the first message creates it and hands back a random visitor key (stored hashed, like every
link token), which the widget keeps and sends with every later call. Another employee, or anyone who
only has the customer's chat token, does not see it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.extensions import db
from booking.models import Agent, Customer, UTCDateTime, utcnow

AUTHORS = ("visitor", "agent", "system")


class ChatConversation(db.Model):  # type: ignore[name-defined]
    __tablename__ = "chat_conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    visitor_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    visitor_name: Mapped[str] = mapped_column(String(200))
    visitor_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    #: the widget's language (fr/en): system messages and the transcript mail are written in it
    locale: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    #: the ``chat`` request this conversation became (out of hours, or unanswered in time)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), nullable=True)
    #: the first visitor message the agent has not answered yet (None: nothing is waiting)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer] = relationship()
    agent: Mapped[Agent | None] = relationship()

    __table_args__ = (
        Index("ix_chat_conversations_customer", "customer_id", "updated_at"),
        Index("ix_chat_conversations_waiting", "waiting_since"),
    )


class ChatMessage(db.Model):  # type: ignore[name-defined]
    """One message; its id is the SSE event id (``Last-Event-ID`` resumes after it)."""

    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("chat_conversations.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: when the other side's screen showed it (read receipts)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    #: who wrote an agent message: loaded only for one written before the conversation changed hands
    author_agent: Mapped[Agent | None] = relationship()

    __table_args__ = (
        CheckConstraint("author IN ('visitor', 'agent', 'system')", name="author"),
        Index("ix_chat_messages_conversation", "conversation_id", "id"),
    )
