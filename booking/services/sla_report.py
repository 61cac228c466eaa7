"""The SLA report's data: requests received in a period, with their first response taken from the log.

The first response is the earliest ``responded`` event, and a ``breached`` event counts as a breach
(the scan saw it); ``core.sla_report`` does the arithmetic. Periods are local dates in the business
zone. Severity is the request's current one (the last re-assessment is what the customer was owed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from booking.core.intervals import Interval, to_utc
from booking.core.sla_report import ReportRow, RequestFacts, group_by, in_period, period_bounds, summarize
from booking.models import Customer
from booking.models_requests import RequestEvent, SupportRequest
from booking.services.errors import InvalidInput

MAX_DAYS = 366


@dataclass(frozen=True)
class CustomerFigures:
    customer_id: int | None
    customer_name: str | None
    figures: ReportRow


@dataclass(frozen=True)
class Report:
    first: date
    end: date
    timezone: str
    severities: list[tuple[int, ReportRow]]
    customers: list[CustomerFigures]
    total: ReportRow


def facts_in(session: Session, bounds: Interval, customer_id: int | None = None) -> list[RequestFacts]:
    """One fact per request received inside ``bounds`` (UTC), first response and breach from the log."""
    start, end = bounds
    first_response = (
        select(RequestEvent.request_id, func.min(RequestEvent.at).label("at"))
        .where(RequestEvent.kind == "responded")
        .group_by(RequestEvent.request_id)
        .subquery()
    )
    breach = (
        select(RequestEvent.request_id)
        .where(RequestEvent.kind == "breached")
        .group_by(RequestEvent.request_id)
        .subquery()
    )
    # Columns, not ORM objects: a month can hold thousands of requests and the report needs six fields.
    query = (
        select(
            SupportRequest.id,
            SupportRequest.severity,
            SupportRequest.customer_id,
            Customer.name,
            SupportRequest.received_at,
            SupportRequest.first_response_due_at,
            SupportRequest.status,
            first_response.c.at,
            breach.c.request_id,
        )
        .outerjoin(Customer, Customer.id == SupportRequest.customer_id)
        .outerjoin(first_response, first_response.c.request_id == SupportRequest.id)
        .outerjoin(breach, breach.c.request_id == SupportRequest.id)
        .where(SupportRequest.received_at >= start, SupportRequest.received_at < end)
        .order_by(SupportRequest.id)
    )
    if customer_id is not None:
        query = query.where(SupportRequest.customer_id == customer_id)
    facts = [
        RequestFacts(
            request_id=row[0],
            severity=row[1],
            customer_id=row[2],
            customer_name=row[3],
            received_at=row[4],
            first_response_due_at=row[5],
            first_response_at=_aware(row[7]),
            breach_logged=row[8] is not None,
            resolved=row[6] == "resolved",
        )
        for row in session.execute(query)
    ]
    return in_period(facts, bounds)


def _aware(value: datetime | str | None) -> datetime | None:
    """``min()`` over a column loses the column type on SQLite (naive UTC text comes back)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else to_utc(value)


def build(
    session: Session, tz: ZoneInfo, first: date, end: date, now: datetime, customer_id: int | None = None
) -> Report:
    """Figures per severity (1-5, zeros included), per customer, and in total for ``[first, end)``."""
    if end <= first:
        raise InvalidInput("the period must end after it starts (to is exclusive)", code="bad_period")
    if (end - first).days > MAX_DAYS:
        raise InvalidInput(f"the period may span at most {MAX_DAYS} days", code="bad_period")
    try:
        bounds = period_bounds(first, end, tz)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="bad_period") from exc
    facts = facts_in(session, bounds, customer_id)
    by_severity = group_by(facts, lambda f: f.severity)
    by_customer = group_by(facts, lambda f: (f.customer_id, f.customer_name))
    customers = [
        CustomerFigures(cid, name, summarize(items, now))
        for (cid, name), items in sorted(by_customer.items(), key=lambda kv: (kv[0][0] is None, kv[0][1] or ""))
    ]
    return Report(
        first=first,
        end=end,
        timezone=tz.key,
        severities=[(s, summarize(by_severity.get(s, []), now)) for s in range(1, 6)],
        customers=customers,
        total=summarize(facts, now),
    )
