"""The chat's use cases (issue 17), one transaction each; routes publish the returned events after commit.

- A visitor writes (``post_visitor_message``): the first message opens a conversation and hands back
  its visitor key. Out of business hours, or when the customer has no agent to answer, the
  conversation becomes a ``chat`` request at once, and a system message tells the visitor when it will
  be handled; in hours the agent has ``BOOKING_CHAT_ANSWER_MINUTES`` before :func:`escalate_unanswered`
  (a periodic job) does the same.
- The agent answers from the dashboard (``post_agent_message``): the wait ends, and an open request of
  the conversation records its first response.
- Read receipts (``mark_read``), the transcript by e-mail (``request_transcript``), and the agent's
  activity for presence (``touch_agent`` / ``agent_signed_out``).

Every function returns the bus events to publish (topic, event); routes publish them after the commit,
so a stream never announces a row that is not there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from booking.chat.models import ChatConversation, ChatMessage
from booking.config import Settings
from booking.core.presence import AgentFacts, Presence, presence
from booking.db_guards import write_transaction
from booking.models import Agent, Booking, Customer, TimeOff
from booking.services import outbox, validation
from booking.services.coverage import Coverage, coverage
from booking.services.errors import InvalidInput, NotFound, ServiceError
from booking.services.requests import Actor, RequestIn, add_request, triage_alert
from booking.text import has_unsafe_chars
from booking.tokens import new_token, token_hash
from booking.vocabulary import BookingStatus

EVENT_TRANSCRIPT = "chat.transcript_requested"
TRANSCRIPT_HANDLER = "chat.transcript_email"
#: an agent's activity is written at most this often (a dashboard poll is not a write each time)
TOUCH_EVERY = timedelta(seconds=30)
MAX_ORIGINS = 20
_CONTROL_BUT_NEWLINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

Event = tuple[str, dict[str, Any]]


class MessageTooLarge(ServiceError):
    status = 413
    code = "payload_too_large"


@dataclass
class Posted:
    message: ChatMessage
    conversation: ChatConversation
    visitor_key: str | None = None  # only when this message opened the conversation
    events: list[Event] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)


def conversation_topic(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def agent_topic(agent_id: int) -> str:
    return f"agent:{agent_id}"


def presence_topic(agent_id: int | None) -> str:
    return f"presence:{agent_id or 0}"


# --- lookups -------------------------------------------------------------------------------------


def customer_for_token(session: Session, token: str) -> Customer:
    """The active customer whose chat token this is; anything else is 404 (never says which part was wrong)."""
    customer = session.scalar(select(Customer).where(Customer.chat_token_hash == token_hash(token)))
    if customer is None or customer.active is False:
        raise NotFound("no chat here", code="not_found")
    return customer


def conversation_for(session: Session, customer: Customer, visitor_key: str | None) -> ChatConversation | None:
    """The visitor's conversation with this customer's widget, or None when they have none (yet)."""
    if not visitor_key:
        return None
    found = session.scalar(
        select(ChatConversation).where(
            ChatConversation.visitor_key_hash == token_hash(visitor_key), ChatConversation.customer_id == customer.id
        )
    )
    return found


def chat_coverage(session: Session, customer: Customer, now: datetime) -> Coverage | None:
    """Who may serve an eligible customer's chat at ``now`` (``services.coverage``); None: nobody.

    Without a backup named, the dedicated agent's time off changes nobody (they serve while active),
    so it is not read: the presence answer keeps its four statements, as ``bookings.booking_agent``.
    """
    if not customer.eligible or customer.agent_id is None:
        return None
    if customer.backup_agent_id is None:
        return Coverage(customer.agent, None, [])
    return coverage(session, customer, now)


def serve_agent(session: Session, customer: Customer, now: datetime) -> Agent | None:
    """Who answers this customer's chat now: the dedicated agent of an eligible customer, or the named
    backup while the dedicated one is away (time off) or deactivated, the rule the booking page and
    the booking service follow (``coverage``); nobody for a customer without the add-on."""
    cover = chat_coverage(session, customer, now)
    return cover.serving_at(now) if cover is not None else None


def presence_topics(customer: Customer) -> list[str]:
    """The presence topics a visitor's stream follows: every agent who may serve the customer (the
    dedicated one and the backup: who serves changes while the stream is open, with time off)."""
    ids = dict.fromkeys(i for i in (customer.agent_id, customer.backup_agent_id) if i is not None)
    return [presence_topic(i) for i in ids] or [presence_topic(None)]


def agent_presence(session: Session, settings: Settings, agent: Agent | None, now: datetime) -> Presence:
    """Presence of ``agent`` at ``now`` from the facts in the database (see ``booking.core.presence``)."""
    if agent is None:
        return presence(now, settings.calendar, None, settings.chat.active_window)
    window = (now - timedelta(hours=12), now + timedelta(hours=12))
    calls = session.execute(
        select(Booking.start_at, Booking.end_at).where(
            Booking.agent_id == agent.id,
            Booking.status == BookingStatus.CONFIRMED,
            Booking.end_at > window[0],
            Booking.start_at < window[1],
        )
    ).all()
    off = session.execute(
        select(TimeOff.start_at, TimeOff.end_at).where(
            TimeOff.agent_id == agent.id, TimeOff.end_at > now, TimeOff.start_at < now + timedelta(days=62)
        )
    ).all()
    facts = AgentFacts(
        last_seen_at=agent.last_seen_at,
        calls=[(s, e) for s, e in calls],
        time_off=[(s, e) for s, e in off],
        active=agent.active,
    )
    return presence(now, settings.calendar, facts, settings.chat.active_window)


def messages_after(session: Session, conversation_id: int, after: int = 0, limit: int = 200) -> list[ChatMessage]:
    return list(
        session.scalars(
            select(ChatMessage)
            .where(ChatMessage.conversation_id == conversation_id, ChatMessage.id > after)
            .order_by(ChatMessage.id)
            .limit(limit)
        )
    )


def serialize_message(message: ChatMessage, conversation: ChatConversation, agent_name: str | None) -> dict[str, Any]:
    """``agent_name``: the conversation's agent; an answer written by another agent (before the
    conversation moved to the backup, or back) keeps its own author's name."""
    name = {"visitor": conversation.visitor_name, "agent": agent_name}.get(message.author)
    if message.author == "agent" and message.agent_id is not None and message.agent_id != conversation.agent_id:
        name = message.author_agent.name if message.author_agent is not None else name
    return {
        "id": message.id,
        "conversation": conversation.id,
        "author": message.author,
        "name": name,
        "text": message.text,
        "created_at": message.created_at.isoformat(),
        "read_at": message.read_at.isoformat() if message.read_at else None,
    }


# --- validation ----------------------------------------------------------------------------------


def message_text(value: object, max_bytes: int) -> str:
    """Plain text, 1..max_bytes bytes of UTF-8; newlines kept, other control characters refused."""
    if not isinstance(value, str):
        raise InvalidInput("text must be a string", code="bad_text")
    if len(value.encode("utf-8", "surrogatepass")) > max_bytes:
        raise MessageTooLarge(f"a message is at most {max_bytes} bytes")
    if _CONTROL_BUT_NEWLINES.search(value):
        raise InvalidInput("text must be plain text without control characters", code="bad_text")
    text = value.replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput("text must not be empty", code="bad_text")
    return text


def origins(values: object) -> list[str]:
    """``chat_origins``: scheme://host[:port] origins (no path); http only for loopback development."""
    if not isinstance(values, list) or len(values) > MAX_ORIGINS:
        raise InvalidInput(f"chat_origins must be a list of at most {MAX_ORIGINS} origins", code="bad_origin")
    result: list[str] = []
    for raw in values:
        if not isinstance(raw, str) or has_unsafe_chars(raw) or " " in raw or ";" in raw or "," in raw:
            raise InvalidInput(f"{raw!r} is not an origin such as https://intranet.example.com", code="bad_origin")
        try:
            parts = urlsplit(raw.strip().rstrip("/"))
            port = parts.port
        except ValueError as exc:
            raise InvalidInput(f"{raw!r} is not an origin", code="bad_origin") from exc
        host = (parts.hostname or "").lower()
        loopback = host in {"127.0.0.1", "localhost", "::1"}
        if (
            parts.scheme not in ("https", "http")
            or not host
            or parts.path
            or parts.query
            or parts.fragment
            or parts.username is not None
            or (parts.scheme == "http" and not loopback)
        ):
            raise InvalidInput(
                f"{raw!r} is not an origin such as https://intranet.example.com (http only for localhost)",
                code="bad_origin",
            )
        origin = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
        if origin not in result:
            result.append(origin)
    return result


# --- system messages -----------------------------------------------------------------------------

_SYSTEM = {
    "closed": {
        "en": "We are closed right now. Your message is request #{id}: your agent will answer from {when}.",
        "fr": "Nous sommes fermés. Votre message est la demande n° {id} : votre agent vous répondra dès {when}.",
    },
    "nobody": {
        "en": "Nobody can answer live right now. Your message is request #{id}: we will answer by {when}.",
        "fr": "Personne ne peut répondre en direct. Votre message est la demande n° {id} : réponse d'ici {when}.",
    },
    "late": {
        "en": "Your agent could not answer within {minutes} minutes. Your message is request #{id}: "
        "you will get an answer by {when}, here or by e-mail.",
        "fr": "Votre agent n'a pas pu répondre en {minutes} minutes. Votre message est la demande n° {id} : "
        "réponse d'ici {when}, ici ou par e-mail.",
    },
}


def _local(moment: datetime, settings: Settings, locale: str) -> str:
    local = moment.astimezone(settings.timezone)
    zone = local.tzname() or ""
    if locale == "fr":
        days = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
        return f"{days[local.weekday()]} {local.day:02d}/{local.month:02d} {local:%H:%M} {zone}".strip()
    return f"{local:%A %d %b %H:%M} {zone}".strip()


def _become_request(
    session: Session, settings: Settings, conversation: ChatConversation, reason: str, now: datetime
) -> tuple[ChatMessage, list[int]]:
    """Open the conversation's ``chat`` request (inside the caller's transaction) and tell the visitor."""
    customer = conversation.customer
    # The request goes to whoever has the conversation in their panel (so their answer is its first
    # response), or to whoever serves the customer now when that agent has left.
    owner = conversation.agent
    agent = owner if owner is not None and owner.active else serve_agent(session, customer, now)
    first = session.scalar(
        select(ChatMessage)
        .where(ChatMessage.conversation_id == conversation.id, ChatMessage.author == "visitor")
        .order_by(ChatMessage.id)
        .limit(1)
    )
    snippet = " ".join((first.text if first else "").split())[:120]
    request = add_request(
        session,
        settings.calendar,
        RequestIn(
            channel="chat",
            received_at=conversation.waiting_since or now,
            subject=f"Chat from {conversation.visitor_name} ({customer.name}): {snippet}",
            customer_id=customer.id,
            agent_id=agent.id if agent else None,
            details={"conversation_id": conversation.id, "reason": reason},
        ),
        Actor.system("chat"),
        now,
    )
    conversation.request_id = request.id
    locale = conversation.locale if conversation.locale in ("en", "fr") else "en"
    when = settings.calendar.next_opening(now) if reason == "closed" else request.first_response_due_at
    text = _SYSTEM[reason][locale].format(
        id=request.id, when=_local(when, settings, locale), minutes=settings.chat.answer_minutes
    )
    note = ChatMessage(conversation_id=conversation.id, author="system", text=text, created_at=now)
    session.add(note)
    session.flush()
    return note, triage_alert(session, request, now)


def _message_events(conversation: ChatConversation, message: ChatMessage, agent_name: str | None) -> list[Event]:
    data = {
        "type": "message",
        **serialize_message(message, conversation, agent_name),
        "visitor": conversation.visitor_name,
        "customer": conversation.customer.name,
    }
    owner = conversation.agent_id
    events: list[Event] = [(conversation_topic(conversation.id), data)]
    if owner is not None:
        events.append((agent_topic(owner), data))
    return events


# --- visitor side --------------------------------------------------------------------------------


def post_visitor_message(
    session: Session,
    settings: Settings,
    token: str,
    visitor_key: str | None,
    body: dict[str, Any],
    now: datetime,
    locale: str = "en",
) -> Posted:
    """A visitor's message (``{"name", "email"?, "text"}``); opens the conversation on the first one."""
    text = message_text(body.get("text"), settings.chat.max_message_bytes)
    raw_name = body.get("name")
    if not isinstance(raw_name, str):
        raise InvalidInput("name must be a string", code="bad_name")
    name = validation.name(raw_name)
    raw_email = body.get("email")
    if raw_email is not None and not isinstance(raw_email, str):
        raise InvalidInput("email must be a string", code="bad_email")
    email = validation.email(raw_email) if raw_email else None
    new_key: str | None = None
    with write_transaction(session):
        customer = customer_for_token(session, token)
        conversation = conversation_for(session, customer, visitor_key)
        if visitor_key and conversation is None:
            raise NotFound("no such conversation", code="not_found")
        cover = chat_coverage(session, customer, now)
        agent = cover.serving_at(now) if cover is not None else None
        if conversation is None:
            new_key = new_token()
            conversation = ChatConversation(
                customer_id=customer.id,
                agent_id=agent.id if agent else None,
                visitor_key_hash=token_hash(new_key),
                visitor_name=name,
                visitor_email=email,
                locale=locale if locale in ("en", "fr") else "en",
                created_at=now,
                updated_at=now,
            )
            session.add(conversation)
            session.flush()
        else:
            conversation.visitor_name = name
            conversation.visitor_email = email or conversation.visitor_email
            conversation.updated_at = now
            if cover is not None and agent is not None and not cover.can_serve(conversation.agent_id, now):
                # Its agent went away (time off, deactivated) or no longer serves this customer: the
                # conversation moves to the panel of whoever serves now, instead of waiting unseen.
                conversation.agent_id = agent.id
        message = ChatMessage(conversation_id=conversation.id, author="visitor", text=text, created_at=now)
        session.add(message)
        session.flush()
        if conversation.waiting_since is None:
            conversation.waiting_since = now
        posted = Posted(message, conversation, new_key)
        posted.events = _message_events(conversation, message, None)
        if conversation.request_id is None and (not settings.calendar.is_open(now) or agent is None):
            reason = "closed" if not settings.calendar.is_open(now) else "nobody"
            note, posted.outbox_ids = _become_request(session, settings, conversation, reason, now)
            posted.events += _message_events(conversation, note, None)
    return posted


def mark_read(session: Session, conversation: ChatConversation, reader: str, up_to: int, now: datetime) -> list[Event]:
    """The reader's screen showed everything up to ``up_to``: the other side's messages are read."""
    others = ("agent", "system") if reader == "visitor" else ("visitor",)
    with write_transaction(session):
        result = session.execute(
            update(ChatMessage)
            .where(
                ChatMessage.conversation_id == conversation.id,
                ChatMessage.id <= up_to,
                ChatMessage.author.in_(others),
                ChatMessage.read_at.is_(None),
            )
            .values(read_at=now)
        )
    if not result.rowcount:  # type: ignore[attr-defined]
        return []
    event = {"type": "read", "conversation": conversation.id, "by": reader, "up_to": up_to, "at": now.isoformat()}
    events: list[Event] = [(conversation_topic(conversation.id), event)]
    if conversation.agent_id is not None:
        events.append((agent_topic(conversation.agent_id), event))
    return events


def request_transcript(session: Session, conversation: ChatConversation, email: object, now: datetime) -> list[int]:
    """Queue the transcript mail (outbox, e-mail lane) to the visitor's address."""
    if not isinstance(email, str):
        raise InvalidInput("email must be a string", code="bad_email")
    address = validation.email(email)
    with write_transaction(session):
        return outbox.emit(
            session,
            EVENT_TRANSCRIPT,
            {"conversation_id": conversation.id, "email": address, "requested_at": now.isoformat()},
            f"chat:{conversation.id}:transcript:{now.isoformat()}",
            now,
        )


# --- agent side ----------------------------------------------------------------------------------


def agent_conversation(session: Session, agent: Agent, conversation_id: int) -> ChatConversation:
    conversation = session.get(ChatConversation, conversation_id)
    if conversation is None or conversation.agent_id != agent.id:
        raise NotFound("no such conversation", code="not_found")
    return conversation


def agent_conversations(session: Session, agent: Agent, limit: int = 50) -> list[ChatConversation]:
    return list(
        session.scalars(
            select(ChatConversation)
            .where(ChatConversation.agent_id == agent.id)
            .order_by(ChatConversation.updated_at.desc(), ChatConversation.id.desc())
            .limit(limit)
        )
    )


def post_agent_message(
    session: Session, settings: Settings, agent: Agent, conversation_id: int, raw_text: object, now: datetime
) -> Posted:
    """The agent answers: the wait ends; the conversation's open request records its first response."""
    text = message_text(raw_text, settings.chat.max_message_bytes)
    with write_transaction(session):
        conversation = agent_conversation(session, agent, conversation_id)
        message = ChatMessage(
            conversation_id=conversation.id, author="agent", agent_id=agent.id, text=text, created_at=now
        )
        session.add(message)
        session.flush()
        conversation.waiting_since = None
        conversation.updated_at = now
        request_id = conversation.request_id
        posted = Posted(message, conversation, events=_message_events(conversation, message, agent.name))
    if request_id is not None:
        from booking.services import requests

        try:
            requests.respond(session, request_id, Actor.for_agent(agent), now)
        except ServiceError:  # resolved, or re-assigned to someone else: the chat answer stands anyway
            session.rollback()
    return posted


def touch_agent(session: Session, agent: Agent, now: datetime) -> list[Event]:
    """Record the agent's activity (at most every TOUCH_EVERY); announce it when they were away."""
    seen = agent.last_seen_at
    if seen is not None and timedelta(0) <= now - seen < TOUCH_EVERY:
        return []
    agent_id, window = agent.id, timedelta(minutes=1)
    session.commit()
    with write_transaction(session):
        session.execute(update(Agent).where(Agent.id == agent_id).values(last_seen_at=now))
    was_away = seen is None or now - seen > window or now < seen
    return [(presence_topic(agent_id), {"type": "presence_changed"})] if was_away else []


def agent_signed_out(session: Session, agent_id: int) -> list[Event]:
    """Signed out: not available from now on, whatever tab stays open."""
    session.commit()
    with write_transaction(session):
        session.execute(update(Agent).where(Agent.id == agent_id).values(last_seen_at=None))
    return [(presence_topic(agent_id), {"type": "presence_changed"})]


def rotate_chat_token(session: Session, customer_id: int) -> Customer:
    """A new chat token; the old one answers 404 from now on (conversations stay, with their keys)."""
    with write_transaction(session):
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFound(f"no customer {customer_id}", code="unknown_customer")
        customer.chat_token = new_token()
    return customer


# --- the SLA job ---------------------------------------------------------------------------------


def escalate_unanswered(session: Session, settings: Settings, now: datetime, limit: int = 100) -> list[int]:
    """In-hours conversations unanswered for BOOKING_CHAT_ANSWER_MINUTES become ``chat`` requests.

    Each is claimed under the write lock (``request_id IS NULL`` re-checked inside the transaction), so
    two workers scanning at once open one request. Out-of-hours conversations are caught too (a message
    whose immediate hand-over failed). Returns the outbox ids to drain.
    """
    cutoff = now - settings.chat.answer_within
    candidates = session.scalars(
        select(ChatConversation.id)
        .where(
            ChatConversation.request_id.is_(None),
            ChatConversation.waiting_since.is_not(None),
            ChatConversation.waiting_since <= cutoff,
        )
        .order_by(ChatConversation.waiting_since)
        .limit(limit)
    ).all()
    session.commit()
    ids: list[int] = []
    for conversation_id in candidates:
        with write_transaction(session):
            conversation = session.get(ChatConversation, conversation_id, populate_existing=True)
            if conversation is None or conversation.request_id is not None or conversation.waiting_since is None:
                continue
            _, queued = _become_request(session, settings, conversation, "late", now)
            ids += queued
    return ids
