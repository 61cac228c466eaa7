"""The agent's chat panel (issue 17): ``/agent/chat``, behind the agent's session, CSRF on every POST.

The page lists the agent's conversations and opens one; new messages arrive by Server-Sent Events
(``/agent/chat/events``, every conversation of the agent's customers) and raise a browser notification
when the agent allowed them and the tab is hidden. The panel's heartbeat (``/agent/chat/heartbeat``)
is what keeps the agent ``available`` while the panel is open and the agent is at work; it stops
counting ``BOOKING_CHAT_ACTIVE_MINUTES`` after the last one, and signing out ends it at once.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from booking import clock
from booking.chat import streams
from booking.extensions import db, remove_session
from booking.models import Agent
from booking.routes.agent import signed_in
from booking.routes.common import settings
from booking.routes.pages import page
from booking.services import chat

bp = Blueprint("agent_chat", __name__, url_prefix="/agent/chat")


def _serialized(conversation: Any, after: int = 0) -> list[dict[str, Any]]:
    name = conversation.agent.name if conversation.agent else None
    found = chat.messages_after(db.session, conversation.id, after)
    return [chat.serialize_message(m, conversation, name) for m in found]


@bp.get("")
@signed_in
def home(agent: Agent) -> Any:
    """The panel: conversations, newest first; the script opens one and follows the stream."""
    conversations = chat.agent_conversations(db.session, agent)
    return page("agent/chat.html", agent=agent, conversations=conversations)


@bp.get("/<int(max=2147483647):conversation_id>/messages")
@signed_in
def messages(agent: Agent, conversation_id: int) -> Any:
    conversation = chat.agent_conversation(db.session, agent, conversation_id)
    after = request.args.get("after", "0")
    found = _serialized(conversation, int(after) if after.isdigit() and len(after) < 19 else 0)
    return jsonify(
        {
            "conversation": {
                "id": conversation.id,
                "visitor": conversation.visitor_name,
                "email": conversation.visitor_email,
                "customer": conversation.customer.name,
                "request_id": conversation.request_id,
            },
            "messages": found,
        }
    )


@bp.post("/<int(max=2147483647):conversation_id>/messages")
@signed_in
def post_message(agent: Agent, conversation_id: int) -> Any:
    """The agent's answer (JSON ``{"text"}`` or a form field); 201 with the message."""
    body = request.get_json(silent=True) if request.is_json else None
    text = body.get("text") if isinstance(body, dict) else request.form.get("text")
    posted = chat.post_agent_message(db.session, settings(), agent, conversation_id, text, clock.now())
    streams.publish(current_app, posted.events)
    return jsonify(chat.serialize_message(posted.message, posted.conversation, agent.name)), 201


@bp.post("/<int(max=2147483647):conversation_id>/read")
@signed_in
def read(agent: Agent, conversation_id: int) -> Any:
    conversation = chat.agent_conversation(db.session, agent, conversation_id)
    body = request.get_json(silent=True) if request.is_json else None
    up_to = body.get("up_to") if isinstance(body, dict) else None
    if not isinstance(up_to, int) or isinstance(up_to, bool) or not 0 <= up_to < 2**62:
        return jsonify({"error": {"code": "invalid_request", "message": "up_to must be a message id"}}), 400
    streams.publish(current_app, chat.mark_read(db.session, conversation, "agent", up_to, clock.now()))
    return jsonify({"ok": True})


@bp.post("/heartbeat")
@signed_in
def heartbeat(agent: Agent) -> Any:
    """The open panel says the agent is at work (``signed_in`` already recorded it)."""
    return jsonify({"ok": True})


@bp.get("/events")
@signed_in
def events(agent: Agent) -> Any:
    """Every new message and read receipt of the agent's conversations, as Server-Sent Events."""
    agent_id = agent.id
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    last = streams.last_event_id(request.headers.get("Last-Event-ID"), request.args.get("last_event_id"))
    if last == 0:
        # A fresh panel starts from now: the page itself shows what came before.
        from sqlalchemy import func, select

        from booking.chat.models import ChatMessage

        last = db.session.scalar(select(func.coalesce(func.max(ChatMessage.id), 0))) or 0
    cfg = settings().chat
    remove_session()

    def poll(after: int) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        fresh = db.session.get(Agent, agent_id)
        if fresh is None:
            return [], None
        from sqlalchemy import select

        from booking.chat.models import ChatConversation, ChatMessage

        rows = db.session.execute(
            select(ChatMessage, ChatConversation)
            .join(ChatConversation, ChatConversation.id == ChatMessage.conversation_id)
            .where(ChatConversation.agent_id == agent_id, ChatMessage.id > after)
            .order_by(ChatMessage.id)
            .limit(200)
        ).all()
        out = []
        for message, conversation in rows:
            item = chat.serialize_message(message, conversation, fresh.name)
            item["visitor"] = conversation.visitor_name
            item["customer"] = conversation.customer.name
            out.append(item)
        return out, None

    return streams.event_stream(
        app, [chat.agent_topic(agent_id)], poll, last, heartbeat=cfg.heartbeat_seconds, lifetime=cfg.stream_seconds
    )
