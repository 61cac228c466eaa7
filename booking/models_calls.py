"""Outbound and shared phone calls (issue 16): "Call now" attempts and warm hand-offs to a senior.

A module of its own beside ``booking.models`` and ``booking.models_requests``: both tables hang off
a request, and both exist so that a webhook Twilio retries, a double click or a replayed press
changes nothing twice. ``call_attempts`` is unique on (request, attempt number) and its row is
written before Twilio is asked, so one press is at most one outbound call; ``handoffs`` is unique on
the CallSid of the call being handed off, so one live call gets one conference.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.extensions import db
from booking.models import Agent, UTCDateTime, utcnow
from booking.models_requests import SupportRequest
from booking.vocabulary import AttemptStatus, one_of


class CallAttempt(db.Model):  # type: ignore[name-defined]
    """One press of "Call now" on a phone request: the agent's phone rings first, then the customer's.

    ``call_sid`` is the agent's leg (what ``calls.create`` returned); ``outcome`` Twilio's word for
    how it ended (``busy``, ``no-answer``, ``failed``, ``canceled``, or ``in-progress`` on answer).
    """

    __tablename__ = "call_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    agent_phone: Mapped[str] = mapped_column(String(32))
    customer_phone: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=AttemptStatus.QUEUED)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    call_sid: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[SupportRequest] = relationship()
    agent: Mapped[Agent] = relationship()

    __table_args__ = (
        UniqueConstraint("request_id", "attempt"),
        CheckConstraint(one_of("status", AttemptStatus), name="status"),
        CheckConstraint("attempt >= 1", name="attempt"),
    )


class Handoff(db.Model):  # type: ignore[name-defined]
    """A live call moved into a conference so a senior can join: who asked, who was dialled.

    The legs' CallSids are filled in as Twilio reports them, so the conference's join/leave
    callbacks can say who came and went.
    """

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    conference: Mapped[str] = mapped_column(String(100), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    senior_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    agent_leg_sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    senior_leg_sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[SupportRequest] = relationship()
    agent: Mapped[Agent] = relationship(foreign_keys=[agent_id])
    senior: Mapped[Agent] = relationship(foreign_keys=[senior_id])
