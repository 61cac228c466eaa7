"""The chat button's public side (issue 17): ``/chat/widget.js`` and the visitor's JSON/SSE API.

Who may call: anyone holding the customer's chat token (it is in the intranet page's snippet), from
the customer's ``chat_origins`` (CORS) or from no browser origin at all (a server, curl). A browser
request from any other origin is refused with 403 before anything is read or written, and never gets
an ``Access-Control-Allow-Origin``. A visitor's conversation additionally needs its visitor key (the
``X-Chat-Visitor`` header, or ``visitor=`` where ``EventSource`` cannot send headers).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from booking import clock, links
from booking.chat import streams
from booking.chat.models import ChatConversation
from booking.extensions import db, remove_session
from booking.i18n import current_locale
from booking.models import Customer
from booking.routes.common import external_url, json_error, settings
from booking.routes.schemas import ErrorResponse, Responses, Strict
from booking.services import chat
from booking.services.errors import NotFound
from booking.tokens import TokenUnreadable

bp = APIBlueprint("chat_api", __name__, url_prefix="/api/chat", abp_tags=[Tag(name="chat")])
widget_bp = Blueprint("chat", __name__, url_prefix="/chat")

ERRORS: Responses = {
    400: ErrorResponse,
    403: ErrorResponse,
    404: ErrorResponse,
    413: ErrorResponse,
    429: ErrorResponse,
    503: ErrorResponse,
}
WIDGET = Path(__file__).resolve().parent.parent / "chat" / "widget.js"
VISITOR_HEADER = "X-Chat-Visitor"


class ChatPath(BaseModel):
    chat_token: str = Field(min_length=1, max_length=200)


class VisitorQuery(BaseModel):
    visitor: str | None = Field(None, max_length=200, description="the visitor key (or the X-Chat-Visitor header)")


class MessagesQuery(VisitorQuery):
    after: int = Field(0, ge=0, le=2**62, description="only messages with a larger id")


class EventsQuery(VisitorQuery):
    last_event_id: int | None = Field(None, ge=0, le=2**62, description="as the Last-Event-ID header")


class MessageIn(Strict):
    name: str = Field(description="the visitor's name, one line")
    email: str | None = Field(None, description="to be answered by e-mail if need be")
    text: str = Field(description="plain text, at most BOOKING_CHAT_MAX_MESSAGE_BYTES bytes (413 above)")


class ReadIn(Strict):
    up_to: int = Field(ge=0, le=2**62)


class TranscriptIn(Strict):
    email: str


class AgentName(BaseModel):
    name: str


class PresenceOut(BaseModel):
    agent: AgentName | None
    presence: str = Field(description="available | in_call | away | closed")
    back_at: str | None = Field(None, description="ISO-8601: end of the call, of the time off, or next opening")
    next_opening: str
    booking_url: str | None = Field(None, description="the customer's booking page (offered when not available)")


class MessageOut(BaseModel):
    id: int
    conversation: int
    author: str = Field(description="visitor | agent | system")
    name: str | None
    text: str
    created_at: str
    read_at: str | None
    visitor_key: str | None = Field(None, description="only when this message opened the conversation: keep it")


class MessageList(BaseModel):
    messages: list[MessageOut]


class Done(BaseModel):
    ok: bool


# --- CORS ------------------------------------------------------------------------------------------


def own_origin() -> str:
    base = settings().public_url or request.url_root.rstrip("/")
    return base.rstrip("/")


def _customer() -> Customer:
    """The token's customer, looked up once per request (the CORS check needs it before the view)."""
    if "chat_customer" not in g:
        token = (request.view_args or {}).get("chat_token", "")
        g.chat_customer = chat.customer_for_token(db.session, str(token))
    customer: Customer = g.chat_customer
    return customer


def _origin_allowed(origin: str) -> bool:
    # Our own pages (the booking page's button): the public URL, or the very host the request was sent
    # to (a browser sets both Host and Origin; another site cannot make them match).
    if origin in (own_origin(), request.host_url.rstrip("/")):
        return True
    try:
        customer = _customer()
    except NotFound:
        return False
    return origin in (customer.chat_origins or [])


@bp.before_request
def check_origin() -> Any:
    origin = request.headers.get("Origin")
    if origin and not _origin_allowed(origin):
        return json_error(403, "origin_not_allowed", "this origin may not use this chat (see chat_origins)")
    return None


@bp.after_request
def cors_headers(response: Response) -> Response:
    origin = request.headers.get("Origin")
    if origin and response.status_code != 403 and _origin_allowed(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = f"Content-Type, {VISITOR_HEADER}, Last-Event-ID"
        response.headers["Access-Control-Max-Age"] = "600"
    response.vary.add("Origin")
    return response


def _visitor_key(query_value: str | None) -> str | None:
    return request.headers.get(VISITOR_HEADER) or query_value or None


def _conversation(query_value: str | None) -> ChatConversation | None:
    key = _visitor_key(query_value)
    conversation = chat.conversation_for(db.session, _customer(), key)
    if key and conversation is None:
        raise NotFound("no such conversation", code="not_found")
    return conversation


def _booking_url(customer: Customer) -> str | None:
    return external_url(links.book_path(customer)) if customer.eligible else None


def _presence_dict(customer: Customer, booking_url: str | None) -> dict[str, Any]:
    """The presence answer; ``booking_url`` is built in the request (a stream's polls run outside it)."""
    now = clock.now()
    agent = chat.serve_agent(db.session, customer, now)
    found = chat.agent_presence(db.session, settings(), agent, now)
    return {"agent": {"name": agent.name} if agent else None, **found.as_dict(), "booking_url": booking_url}


# --- routes ----------------------------------------------------------------------------------------


@bp.get("/<chat_token>", responses={200: PresenceOut, **ERRORS})
def presence(path: ChatPath) -> Any:
    """The agent's name and honest presence (from business time, activity and the calendar)."""
    customer = _customer()
    return _presence_dict(customer, _booking_url(customer))


@bp.post("/<chat_token>/messages", responses={201: MessageOut, **ERRORS})
def post_message(path: ChatPath, body: MessageIn) -> Any:
    """A visitor's message; the first one opens a conversation and returns its ``visitor_key``."""
    posted = chat.post_visitor_message(
        db.session,
        settings(),
        path.chat_token,
        _visitor_key(None),
        body.model_dump(),
        clock.now(),
        locale=str(request.args.get("lang") or current_locale()),
    )
    streams.publish(current_app, posted.events)
    out = chat.serialize_message(posted.message, posted.conversation, None)
    out["visitor_key"] = posted.visitor_key
    return out, 201


@bp.get("/<chat_token>/messages", responses={200: MessageList, **ERRORS})
def list_messages(path: ChatPath, query: MessagesQuery) -> Any:
    """The polling fallback: the visitor's messages after ``after`` (none without a visitor key)."""
    conversation = _conversation(query.visitor)
    if conversation is None:
        return {"messages": []}
    agent_name = conversation.agent.name if conversation.agent else None
    found = chat.messages_after(db.session, conversation.id, query.after)
    return {"messages": [chat.serialize_message(m, conversation, agent_name) for m in found]}


@bp.get(
    "/<chat_token>/events",
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}, **ERRORS},
)
def events(path: ChatPath, query: EventsQuery) -> Any:
    """Server-Sent Events: ``message`` (``id:`` = message id; ``Last-Event-ID`` resumes), ``presence``, ``read``."""
    customer = _customer()
    conversation = _conversation(query.visitor)
    customer_id, topics = customer.id, chat.presence_topics(customer)
    booking_url = _booking_url(customer)
    conversation_id = conversation.id if conversation else None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    last = streams.last_event_id(request.headers.get("Last-Event-ID"), str(query.last_event_id or ""))
    cfg = settings().chat
    remove_session()  # the stream holds no connection

    def poll(after: int) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        fresh = db.session.get(Customer, customer_id)
        if fresh is None or fresh.active is False:
            return [], None
        messages: list[dict[str, Any]] = []
        if conversation_id is not None:
            conv = db.session.get(ChatConversation, conversation_id)
            if conv is not None:
                name = conv.agent.name if conv.agent else None
                found = chat.messages_after(db.session, conv.id, after)
                messages = [chat.serialize_message(m, conv, name) for m in found]
        return messages, _presence_dict(fresh, booking_url if fresh.eligible else None)

    if conversation_id is not None:
        topics.append(chat.conversation_topic(conversation_id))
    return streams.event_stream(app, topics, poll, last, heartbeat=cfg.heartbeat_seconds, lifetime=cfg.stream_seconds)


@bp.post("/<chat_token>/read", responses={200: Done, **ERRORS})
def read(path: ChatPath, query: VisitorQuery, body: ReadIn) -> Any:
    """Read receipt: the visitor has seen the agent's messages up to ``up_to``."""
    conversation = _conversation(query.visitor)
    if conversation is None:
        raise NotFound("no such conversation", code="not_found")
    streams.publish(current_app, chat.mark_read(db.session, conversation, "visitor", body.up_to, clock.now()))
    return {"ok": True}


@bp.post("/<chat_token>/transcript", responses={202: Done, **ERRORS})
def transcript(path: ChatPath, query: VisitorQuery, body: TranscriptIn) -> Any:
    """Mail the conversation to ``email`` (queued; sent after the answer)."""
    conversation = _conversation(query.visitor)
    if conversation is None:
        raise NotFound("no such conversation", code="not_found")
    chat.request_transcript(db.session, conversation, body.email, clock.now())
    return {"ok": True}, 202


# --- the widget ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _widget() -> tuple[bytes, str]:
    body = WIDGET.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@widget_bp.get("/widget.js")
def widget() -> Any:
    """The embeddable button: plain JavaScript, no build step, cached for a day, revalidated by ETag."""
    body, etag = _widget()
    if request.if_none_match.contains(etag.strip('"')):
        response = Response(status=304)
    else:
        response = Response(body, mimetype="text/javascript")
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "public, max-age=86400, stale-while-revalidate=604800"
    # Any intranet may load the script itself; what it may *do* is decided per customer by CORS.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def page_chat_token(customer: Customer) -> str | None:
    """The token for the booking page's button, or None (no button) when it cannot be unsealed: a
    rotated BOOKING_SECRET_KEY before ``booking reseal`` must not take the booking page down."""
    try:
        return customer.chat_token
    except TokenUnreadable:
        return None


def snippet(customer: Customer) -> str:
    """The ``<script>`` tag an admin pastes into the customer's intranet page."""
    src = external_url(links.chat_widget_path())
    return f'<script src="{src}" data-chat-token="{customer.chat_token}" async></script>'
