"""The SLA queue's tables (issue 13): one ``requests`` row per contact awaiting an answer, and its
append-only ``request_events`` log, which the SLA report reads.

A module of its own beside ``booking.models`` so the queue can grow (e-mail threads, chat
conversations hang off a request) without every channel editing one file. Callbacks stay rows of
``callbacks`` (their reservation a row of ``bookings``); a phone request points at its callback.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.extensions import db
from booking.models import Agent, Callback, Customer, UTCDateTime, utcnow

CHANNELS = ("phone", "email", "chat")
TEAMS = ("dedicated", "senior", "triage")
STATUSES = ("open", "responded", "resolved")
#: ``warned`` is the T-15 min notice and ``taken`` a senior picking up an escalated request;
#: ``message`` is an e-mail joining its thread (issue 15); ``called`` is a "Call now" attempt's outcome,
#: ``handoff`` a dedicated agent bringing a senior into a live call, ``joined``/``left`` who came and went
#: in its conference (issue 16); the others are the issue's list.
EVENT_KINDS = (
    "created",
    "responded",
    "escalated",
    "moved",
    "assigned",
    "taken",
    "warned",
    "resolved",
    "breached",
    "message",
    "called",
    "handoff",
    "joined",
    "left",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class SupportRequest(db.Model):  # type: ignore[name-defined]
    """A contact awaiting an answer, on one channel, with its two SLA clocks.

    ``team`` says who owns it: the customer's ``dedicated`` agent, the ``senior`` team (escalated,
    or a critical call the on-call senior took), or ``triage`` when no customer or agent could be
    matched (every admin sees it; it is never dropped). The due times come from ``core.sla`` and
    are recomputed from ``received_at`` when the severity changes.
    """

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), nullable=True)
    team: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    severity: Mapped[int] = mapped_column(Integer, default=3)
    subject: Mapped[str] = mapped_column(String(300))
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_response_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    follow_up_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    callback_id: Mapped[int | None] = mapped_column(ForeignKey("callbacks.id"), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped[Customer | None] = relationship()
    agent: Mapped[Agent | None] = relationship()
    callback: Mapped[Callback | None] = relationship()
    events: Mapped[list[RequestEvent]] = relationship(
        back_populates="request", order_by="RequestEvent.id", viewonly=True
    )

    __table_args__ = (
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("team", TEAMS), name="team"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint("severity BETWEEN 1 AND 5", name="severity"),
        Index("ix_requests_status_due", "status", "first_response_due_at"),
        Index("ix_requests_received", "received_at"),
    )


class RequestEvent(db.Model):  # type: ignore[name-defined]
    """Who did what to a request, when; rows are only ever added.

    ``key`` (unique when set) makes a once-only event once-only in the database itself: the breach
    scan keys its ``warned`` and ``breached`` events on the request and its due time, so two
    workers scanning at the same minute log (and notify) one of each.
    """

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"))
    kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)

    request: Mapped[SupportRequest] = relationship(back_populates="events")

    __table_args__ = (
        CheckConstraint(_in("kind", EVENT_KINDS), name="kind"),
        Index("ix_request_events_request", "request_id", "id"),
    )
