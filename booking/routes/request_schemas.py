"""Pydantic models of the requests API and the SLA report (issue 13; shapes from interface.md).

A module of its own beside ``routes/schemas.py`` so the queue's channels can extend it without
editing the booking API's schemas. Everything here appears in ``/api/openapi.json``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from booking.routes.schemas import Slug, Strict

Channel = Literal["phone", "email", "chat"]
Team = Literal["dedicated", "senior", "triage"]
RequestStatus = Literal["open", "responded", "resolved"]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


class RequestQuery(BaseModel):
    status: Literal["open", "responded", "resolved", "all"] = Field("open", description="default: open")
    agent: Slug | None = Field(None, description="only requests owned by this agent")
    team: Team | None = None
    channel: Channel | None = None
    customer: Id | None = Field(None, description="customer id")


class RequestPath(BaseModel):
    request_id: Id


class RequestPatch(Strict):
    customer: Id | None = Field(None, description="customer id (triage: who this really is)")
    agent: Slug | None = Field(None, description="owner; default on a new customer: their dedicated agent")
    severity: int | None = Field(None, ge=1, le=5, description="due times are recomputed from received_at")


class EscalateBody(Strict):
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] | None = Field(
        None, description="why; appended to the request's notes and logged"
    )


class TakeBody(Strict):
    agent: Slug | None = Field(None, description="the senior taking it (admin); a signed-in senior takes it themself")


class CustomerRef(BaseModel):
    id: int
    name: str


class RequestOut(BaseModel):
    id: int
    channel: Channel
    customer: CustomerRef | None = Field(description="null for an unmatched sender (team triage)")
    agent: str | None = Field(description="slug of the owning agent; null while nobody owns it")
    team: Team
    severity: int = Field(ge=1, le=5)
    subject: str
    received_at: str = Field(description="ISO-8601 in the business zone; both SLA clocks start here")
    first_response_due_at: str
    first_response_at: str | None
    follow_up_due_at: str
    follow_up_contractual: bool = Field(description="false for severity 4-5: an internal cadence, not a promise")
    status: RequestStatus
    breached: bool = Field(description="first response late, or none and past due")
    clock: Literal["on_time", "due_soon", "late"] = Field(description="countdown state (due soon = 15 min left)")
    notes: str | None
    callback_id: int | None = Field(description="the phone request's callback (GET /api/callbacks)")


class EventOut(BaseModel):
    id: int
    kind: str
    actor: str
    at: str
    details: dict[str, Any]


class RequestDetail(RequestOut):
    events: list[EventOut] = Field(description="the request's log, oldest first")


class RequestList(BaseModel):
    requests: list[RequestOut]


class ReportQuery(BaseModel):
    month: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}$")] | None = Field(
        None, description="YYYY-MM, a calendar month in the business zone (instead of from/to)"
    )
    from_: date | None = Field(None, alias="from", description="first day (business zone), inclusive")
    to: date | None = Field(None, description="last day (business zone), exclusive")
    customer: Id | None = None
    format: Literal["json", "csv", "svg"] = Field("json", description="csv: a spreadsheet; svg: the chart")


class Figures(BaseModel):
    count: int
    responded_in_time: int
    breached: int
    open: int = Field(description="still awaiting a first response")
    median_first_response_minutes: float | None = Field(description="wall-clock minutes, received → first response")
    p90_first_response_minutes: float | None = Field(description="nearest-rank 90th percentile")


class SeverityRow(Figures):
    severity: int


class CustomerRow(Figures):
    customer: CustomerRef | None = Field(description="null: requests nobody matched (triage)")


class ReportOut(BaseModel):
    from_: str = Field(alias="from")
    to: str
    timezone: str
    severities: list[SeverityRow] = Field(description="one row per severity 1-5, zeros included")
    customers: list[CustomerRow]
    total: Figures


class ReplyBody(Strict):
    """An agent's answer to an e-mail request (issue 15): plain text, sent threaded from the support address."""

    text: str = Field(max_length=20_000)


class MessageOut(BaseModel):
    """One message of an e-mail request's thread."""

    id: int
    direction: Literal["in", "out"]
    kind: Literal["customer", "ack", "reply"]
    message_id: str
    sender: str
    recipient: str | None
    subject: str
    text: str
    at: str
    sent_at: str | None
    attachments: list[dict[str, Any]]


class ReplyOut(BaseModel):
    message: MessageOut
    request: RequestOut


class ThreadOut(BaseModel):
    messages: list[MessageOut] = Field(description="the e-mail thread, oldest first (empty for other channels)")
