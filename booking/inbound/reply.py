"""An agent answers an e-mail request (issue 15, item 4): from the request page or the API.

The reply is a ``request_messages`` row written in one transaction with its ``message`` event and
its outbox row, so the thread shows it at once and it is sent after the commit with
``In-Reply-To`` (the customer's latest message) and ``References`` (that message's chain), from
BOOKING_SUPPORT_EMAIL, with ``[#R<id>]`` in the subject so a reply whose headers a client dropped
still finds its request. The first reply is the request's first response
(``services.requests.respond``, which keeps the first time on a repeat).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.config import Settings
from booking.db_guards import write_transaction
from booking.inbound.ingest import EVENT_MAIL_QUEUED, our_message_id
from booking.inbound.models import RequestMessage
from booking.models import Agent
from booking.services import outbox, requests
from booking.services.errors import Conflict, InvalidInput
from booking.services.requests import Actor
from booking.text import has_unsafe_chars

MAX_REPLY = 20_000
MAX_REFERENCES = 20
_PREFIX = re.compile(r"^\s*((re|tr|fwd?|aw)\s*:\s*)+", re.IGNORECASE)


def thread_of(session: Session, request_id: int) -> list[RequestMessage]:
    return list(
        session.scalars(
            select(RequestMessage).where(RequestMessage.request_id == request_id).order_by(RequestMessage.id)
        )
    )


def reply_subject(subject: str, request_id: int) -> str:
    base = _PREFIX.sub("", subject).strip() or "-"
    tag = f"[#R{request_id}]"
    return f"Re: {base}" if tag.lower() in base.lower() else f"Re: {base} {tag}"


def _check_text(text: str) -> str:
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput("text: the reply must not be empty", code="bad_text")
    if len(text) > MAX_REPLY:
        raise InvalidInput(f"text: at most {MAX_REPLY} characters", code="bad_text")
    if has_unsafe_chars(text.replace("\n", " ").replace("\t", " ")):
        raise InvalidInput("text: control characters are not allowed", code="bad_text")
    return text


def reply(
    session: Session, settings: Settings, request_id: int, text: str, actor: Actor, now: datetime
) -> tuple[RequestMessage, list[int]]:
    """Queue the agent's answer on the thread; returns the row and the outbox ids to drain."""
    text = _check_text(text)
    if not settings.support_email:
        raise Conflict("the e-mail channel is off (BOOKING_SUPPORT_EMAIL is not set)", code="email_off")
    if actor.kind == "agent":
        agent = session.get(Agent, actor.agent_id)
        assert agent is not None
        requests.owned_request(session, agent, request_id)  # 404 for someone else's request
    author = session.get(Agent, actor.agent_id) if actor.agent_id is not None else None
    with write_transaction(session):
        request = requests.locked_request(session, request_id)
        if request.status == "resolved":
            raise Conflict("this request is resolved", code="resolved")
        last = session.scalar(
            select(RequestMessage)
            .where(RequestMessage.request_id == request.id, RequestMessage.direction == "in")
            .order_by(RequestMessage.id.desc())
            .limit(1)
        )
        if last is None:
            raise Conflict("this request has no e-mail to answer", code="not_email")
        chain = [*(last.refs or "").split(), last.message_id][-MAX_REFERENCES:]
        row = RequestMessage(
            request_id=request.id,
            direction="out",
            kind="reply",
            source="agent",
            message_id=our_message_id(settings, "reply", f"{request.id}.{secrets.token_hex(8)}"),
            in_reply_to=last.message_id,
            refs=" ".join(chain),
            sender=settings.support_email,
            sender_name=(author.name if author else None),
            recipient=last.reply_to or last.sender,
            subject=reply_subject(last.subject or request.subject, request.id)[:300],
            text=text,
            display_text=text,
            language=last.language,
            actor=actor.label,
            size=len(text.encode()),
            received_at=now,
            created_at=now,
        )
        session.add(row)
        session.flush()
        request.updated_at = now
        requests.log_event(session, request, "message", actor, now, {"direction": "out", "message_id": row.message_id})
        ids = outbox.emit(session, EVENT_MAIL_QUEUED, {"message_row": row.id}, f"request_message:{row.id}", now)
    _, more = requests.respond(session, request_id, actor, now)
    return row, [*ids, *more]
