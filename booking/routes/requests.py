"""The SLA queue's JSON API (issue 13): list, read, triage, respond, resolve, escalate, take; the report.

Admins use the bearer ``BOOKING_ADMIN_TOKEN`` everywhere. The actions on one request (respond,
resolve, escalate, take) are also open to a signed-in agent's session for their own requests (a
senior for the senior team's), with the CSRF token in ``X-CSRFToken`` since a cookie authenticates
them. Listing, PATCH and the report are admin-only (interface.md).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel
from sqlalchemy.orm import Session

from booking import clock
from booking.core.sla import clock_state, followup_is_contractual, is_breached
from booking.core.sla_report import ReportRow, month_period
from booking.extensions import csrf, db
from booking.models import Agent, token_matches
from booking.models_requests import RequestEvent, SupportRequest
from booking.routes.admin import SECURITY, Unauthorized
from booking.routes.common import settings
from booking.routes.request_schemas import (
    EscalateBody,
    ReplyBody,
    ReplyOut,
    ReportOut,
    ReportQuery,
    RequestDetail,
    RequestList,
    RequestOut,
    RequestPatch,
    RequestPath,
    RequestQuery,
    TakeBody,
    ThreadOut,
)
from booking.routes.schemas import ErrorResponse
from booking.services import requests, sla_report
from booking.services.directory import agent_by_slug
from booking.services.errors import Forbidden, InvalidInput
from booking.services.requests import Actor, Changes
from booking.sla_chart import severity_chart

ERRORS: dict[int | str, type[BaseModel] | dict[Any, Any] | None] = {
    400: ErrorResponse,
    401: ErrorResponse,
    403: ErrorResponse,
    404: ErrorResponse,
    409: ErrorResponse,
}


def _db() -> Session:
    """The request's session, typed as the ``Session`` services take (it is a scoped proxy of one)."""
    return db.session


bp = APIBlueprint("requests", __name__, url_prefix="/api", abp_tags=[Tag(name="requests")], abp_security=SECURITY)

#: Endpoints a signed-in agent may call with their session (the rest need the admin token).
AGENT_ENDPOINTS = {
    "respond_request",
    "resolve_request",
    "escalate_request",
    "take_request",
    "reply_request",  # booking.routes.thread (issue 15)
    "call_request",  # booking.routes.phone_api (issue 16)
    "handoff_call",
}


def _actor() -> Actor:
    """The admin (bearer), or the signed-in agent on the per-request actions; 401 otherwise."""
    header = request.headers.get("Authorization", "")
    if header:
        expected = settings().admin_token
        scheme, _, given = header.partition(" ")
        if not expected or scheme.lower() != "bearer" or not token_matches(expected, given.strip()):
            raise Unauthorized("missing or wrong bearer token")
        return Actor.admin()
    endpoint = (request.endpoint or "").rsplit(".", 1)[-1]
    if endpoint in AGENT_ENDPOINTS:
        from booking.routes.agent import current_agent

        agent = current_agent()
        if agent is not None:
            csrf.protect()  # a cookie authenticates: the page must prove it is ours
            return Actor.for_agent(agent)
    raise Unauthorized("missing bearer token (or, for this action, an agent's signed-in session)")


#: the same check for the phone actions' blueprint (booking.routes.phone_api)
actor_for_request = _actor


@bp.before_request
def authenticate() -> None:
    _actor()


def _iso(moment: Any) -> str | None:
    return moment.astimezone(settings().timezone).isoformat() if moment is not None else None


def serialize_request(item: SupportRequest) -> dict[str, Any]:
    now = clock.now()
    return {
        "id": item.id,
        "channel": item.channel,
        "customer": {"id": item.customer.id, "name": item.customer.name} if item.customer else None,
        "agent": item.agent.slug if item.agent else None,
        "team": item.team,
        "severity": item.severity,
        "subject": item.subject,
        "received_at": _iso(item.received_at),
        "first_response_due_at": _iso(item.first_response_due_at),
        "first_response_at": _iso(item.first_response_at),
        "follow_up_due_at": _iso(item.follow_up_due_at),
        "follow_up_contractual": followup_is_contractual(item.severity),
        "status": item.status,
        "breached": is_breached(item.first_response_due_at, item.first_response_at, now),
        "clock": clock_state(item.first_response_due_at, now, item.first_response_at),
        "notes": item.notes,
        "callback_id": item.callback_id,
    }


def _event(event: RequestEvent) -> dict[str, Any]:
    return {"id": event.id, "kind": event.kind, "actor": event.actor, "at": _iso(event.at), "details": event.details}


def _detail(item: SupportRequest) -> dict[str, Any]:
    return {**serialize_request(item), "events": [_event(e) for e in requests.events_of(_db(), item.id)]}


@bp.get("/requests", responses={200: RequestList, **ERRORS})
def list_requests(query: RequestQuery) -> Any:
    """The queue across channels, soonest first-response due first (default: open requests)."""
    rows = requests.list_requests(
        _db(),
        status=query.status,
        agent_slug=query.agent,
        team=query.team,
        channel=query.channel,
        customer_id=query.customer,
    )
    return {"requests": [serialize_request(r) for r in rows]}


@bp.get("/requests/<int:request_id>", responses={200: RequestDetail, **ERRORS})
def get_request(path: RequestPath) -> Any:
    """One request with its event log."""
    return _detail(requests.get_request(_db(), path.request_id))


@bp.patch("/requests/<int:request_id>", responses={200: RequestDetail, **ERRORS})
def patch_request(path: RequestPath, body: RequestPatch) -> Any:
    """Triage: set customer / agent / severity. A new severity recomputes both due times (and a phone
    request's callback follows: severity, due time, reservation)."""
    changes = Changes(customer_id=body.customer, agent_slug=body.agent, severity=body.severity)
    item, ids = requests.assign(_db(), settings(), path.request_id, changes, _actor(), clock.now())
    return _detail(item)


@bp.post("/requests/<int:request_id>/respond", responses={200: RequestOut, **ERRORS})
def respond_request(path: RequestPath) -> Any:
    """Record the first response (a repeat keeps the first time); a phone request's callback is done."""
    item, ids = requests.respond(_db(), path.request_id, _actor(), clock.now())
    return serialize_request(item)


@bp.post("/requests/<int:request_id>/resolve", responses={200: RequestOut, **ERRORS})
def resolve_request(path: RequestPath) -> Any:
    """Close the request."""
    return serialize_request(requests.resolve(_db(), path.request_id, _actor(), clock.now()))


@bp.post("/requests/<int:request_id>/escalate", responses={200: RequestOut, **ERRORS})
def escalate_request(path: RequestPath, body: EscalateBody) -> Any:
    """Hand it to the senior team (customer, notes, due times kept); severity 1-2 pages the on-call senior."""
    item, ids = requests.escalate(_db(), path.request_id, body.note, _actor(), clock.now())
    return serialize_request(item)


@bp.post("/requests/<int:request_id>/take", responses={200: RequestOut, **ERRORS})
def take_request(path: RequestPath, body: TakeBody) -> Any:
    """A senior agent takes an escalated request (admin: ``{"agent": slug}``; a signed-in senior: ``{}``)."""
    actor = _actor()
    agent: Agent
    if actor.kind == "agent":
        own = _db().get(Agent, actor.agent_id)
        assert own is not None
        if body.agent is not None and body.agent != own.slug:
            raise Forbidden("a senior takes requests for themself", code="not_yours")
        agent = own
    elif body.agent is None:
        raise InvalidInput("agent: the senior taking the request is required", code="invalid_request")
    else:
        agent = agent_by_slug(_db(), body.agent)
    return serialize_request(requests.take(_db(), path.request_id, agent, actor, clock.now()))


@bp.post("/requests/<int:request_id>/reply", responses={201: ReplyOut, **ERRORS})
def reply_request(path: RequestPath, body: ReplyBody) -> Any:
    """Answer an e-mail request: the reply goes out threaded (In-Reply-To / References) from the
    support address, is stored on the thread, and is the first response if none was recorded."""
    from booking.inbound.reply import reply
    from booking.inbound.views import serialize_message

    row, ids = reply(_db(), settings(), path.request_id, body.text, _actor(), clock.now())
    item = requests.get_request(_db(), path.request_id)
    return {"message": serialize_message(row), "request": serialize_request(item)}, 201


@bp.get("/requests/<int:request_id>/messages", responses={200: ThreadOut, **ERRORS})
def request_messages(path: RequestPath) -> Any:
    """An e-mail request's thread: what came in (quoted history stripped) and what went out."""
    from booking.inbound.reply import thread_of
    from booking.inbound.views import serialize_message

    item = requests.get_request(_db(), path.request_id)
    return {"messages": [serialize_message(m) for m in thread_of(_db(), item.id)]}


def _figures(row: ReportRow) -> dict[str, Any]:
    return {
        "count": row.count,
        "responded_in_time": row.responded_in_time,
        "breached": row.breached,
        "open": row.open,
        "median_first_response_minutes": row.median_first_response_minutes,
        "p90_first_response_minutes": row.p90_first_response_minutes,
    }


FIGURE_COLUMNS = list(_figures(ReportRow(0, 0, 0, 0, None, None)))


def _cell(text: str) -> str:
    """A name as a spreadsheet cell that never runs as a formula (=, +, -, @ lead a formula)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def report_as_csv(report: sla_report.Report) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["group", "severity", "customer_id", "customer", *FIGURE_COLUMNS])
    for severity, row in report.severities:
        writer.writerow(["severity", severity, "", "", *_figures(row).values()])
    for item in report.customers:
        writer.writerow(
            ["customer", "", item.customer_id or "", _cell(item.customer_name or ""), *_figures(item.figures).values()]
        )
    writer.writerow(["total", "", "", "", *_figures(report.total).values()])
    name = f"sla-{report.first.isoformat()}-{report.end.isoformat()}.csv"
    return Response(
        out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.get(
    "/sla/report",
    responses={200: ReportOut, **ERRORS},
)
def report(query: ReportQuery) -> Any:
    """First-response figures per severity and per customer for requests received in a period.

    ``month=YYYY-MM`` or ``from``/``to`` (``to`` exclusive), local dates in the business zone;
    ``format=csv`` for a spreadsheet, ``format=svg`` for the chart (drawn on the server).
    """
    if query.month is not None:
        if query.from_ is not None or query.to is not None:
            raise InvalidInput("give either month or from/to, not both", code="bad_period")
        try:
            first, end = month_period(query.month)
        except ValueError as exc:
            raise InvalidInput(str(exc), code="bad_period") from exc
    elif query.from_ is not None and query.to is not None:
        first, end = query.from_, query.to
    else:
        raise InvalidInput("give month=YYYY-MM, or from and to (YYYY-MM-DD)", code="bad_period")
    cfg = settings()
    result = sla_report.build(_db(), cfg.timezone, first, end, clock.now(), query.customer)
    if query.format == "csv":
        return report_as_csv(result)
    if query.format == "svg":
        title = f"First responses, {result.first.isoformat()} to {result.end.isoformat()} ({result.timezone})"
        return Response(severity_chart(result.severities, title), mimetype="image/svg+xml")
    return {
        "from": result.first.isoformat(),
        "to": result.end.isoformat(),
        "timezone": result.timezone,
        "severities": [{"severity": s, **_figures(row)} for s, row in result.severities],
        "customers": [
            {
                "customer": {"id": c.customer_id, "name": c.customer_name} if c.customer_id is not None else None,
                **_figures(c.figures),
            }
            for c in result.customers
        ],
        "total": _figures(result.total),
    }


def register(app: Any) -> None:
    """Mount the API (bearer or session auth, CSRF checked by hand for sessions) and the queue's
    page (its side effects and the breach-scan job are declared with all the others, in effects.py)."""
    from booking.routes import phone_api, queue, thread

    csrf.exempt(bp)
    app.register_api(bp)
    phone_api.register(app)  # issue 16: "Call now" and the warm hand-off
    app.register_blueprint(queue.bp)  # the agent's queue page: cookie session, CSRF-protected forms
    app.register_blueprint(thread.bp)  # one request's page: its e-mail thread and the reply form
