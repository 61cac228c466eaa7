"""The one service both inbound paths call (SMTP gateway, IMAP poller): a raw message becomes a request.

``ingest_message`` owns its transaction (``write_transaction``; the caller commits nothing) and is
idempotent by Message-ID: a replayed or re-polled message finds its ``request_messages`` row and
returns the existing result, creating nothing (the unique ``message_id`` is the final word when two
processes ingest the same message at once). A message without a Message-ID is named by a digest of
its bytes, so its replays are recognised too.

What happens, in one transaction:
- a reply (``In-Reply-To`` / ``References`` naming a message of a thread, else a ``[#R123]`` tag from
  a sender already in that thread or of its customer) joins its request and is logged as a
  ``message`` event; an answer to a resolved request opens a follow-up request instead (``follows``
  in its ``created`` event), which later answers to that old thread join;
- otherwise a request opens on channel ``email`` (``services.requests.add_request``, the entry point
  for a channel's own transaction, received at ``now``): the sender's customer (an address listed on
  the customer, else ``@domain``) and their dedicated agent, or ``triage``;
- outside business hours, one acknowledgement per thread (its Message-ID is derived from the request,
  unique in the database) naming the next business opening, unless the message is automatic, is one
  of ours, or its sender already had BOOKING_MAIL_ACK_PER_DAY acknowledgements in the last 24 hours;
- in business hours, the request's agent is mailed at once (the SLA clock runs from receipt anyway);
  severity 1-2 run on the wall clock, so their agent is mailed at any hour and their acknowledgement
  names the first-response due time rather than the next opening.
Mail is sent by outbox handlers (``booking.inbound.outgoing``) after the commit.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking.config import Settings
from booking.core.sla import Severity
from booking.db_guards import write_transaction
from booking.i18n import DEFAULT_LOCALE
from booking.inbound import acknowledgement
from booking.inbound.models import RequestAttachment, RequestMessage
from booking.inbound.parse import ParsedMail, parse
from booking.inbound.threads import customer_for, find_message, language_for, open_follow_up, thread_of
from booking.models_requests import SupportRequest
from booking.services import outbox
from booking.services.requests import Actor, RequestIn, add_request, log_event, triage_alert
from booking.services.schedule import dedicated_agent

log = logging.getLogger(__name__)

#: an outgoing row of ``request_messages`` to send (acknowledgement or agent reply)
EVENT_MAIL_QUEUED = "email.message_queued"
#: a customer's message the request's agent should read now (business hours)
EVENT_MAIL_RECEIVED = "email.received"
SOURCES = ("smtp", "imap")


@dataclass(frozen=True)
class IngestResult:
    """What one message did. ``duplicate``: seen before, nothing created; ``ignored``: why it made no request."""

    message_id: str
    request_id: int | None = None
    row_id: int | None = None
    created: bool = False  # a new request was opened
    joined: bool = False  # added to an existing request's thread
    duplicate: bool = False
    acknowledged: bool = False
    ignored: str | None = None
    outbox_ids: list[int] = field(default_factory=list)


def our_domain(settings: Settings) -> str:
    return (settings.support_email or settings.mail_from).rsplit("@", 1)[-1].lower()


def our_message_id(settings: Settings, kind: str, name: str) -> str:
    """Message-IDs we write start ``<booking.``; a message carrying one is never answered automatically."""
    return f"<booking.{kind}.{name}@{our_domain(settings)}>"


def is_ours(parsed: ParsedMail, settings: Settings) -> bool:
    """Mail we sent coming back (a forward loop, a Cc to the support address): never a request."""
    ours = {a for a in (settings.support_email, settings.mail_from.lower()) if a}
    if parsed.sender in ours:
        return True
    mid = (parsed.message_id or "").lower()
    return mid.endswith(f"@{our_domain(settings)}>") and mid.startswith(("<booking.", "<outbox."))


def _fallback_id(raw: bytes) -> str:
    return f"<sha256.{hashlib.sha256(raw).hexdigest()[:40]}@inbound.invalid>"


def _store(
    session: Session,
    settings: Settings,
    request: SupportRequest,
    parsed: ParsedMail,
    mid: str,
    raw: bytes,
    **kw: object,
) -> RequestMessage:
    row = RequestMessage(
        request_id=request.id,
        direction="in",
        kind="customer",
        message_id=mid,
        in_reply_to=parsed.in_reply_to[0][:500] if parsed.in_reply_to else None,
        refs=" ".join(parsed.references) or None,
        sender=(parsed.sender or "(unknown)")[:320],
        sender_name=parsed.sender_name[:200] or None,
        recipient=settings.support_email,
        reply_to=parsed.reply_to[:320] if parsed.reply_to else None,
        subject=parsed.subject[:300],
        text=parsed.text,
        display_text=parsed.display_text,
        html=parsed.html,
        automatic=(parsed.automatic or "")[:200] or None,
        size=len(raw),
        **kw,
    )
    cap = settings.mail_attachment_max_bytes
    for item in parsed.attachments:
        row.attachments.append(
            RequestAttachment(
                filename=item.filename[:255],
                content_type=item.content_type[:120],
                size=item.size,
                content=item.content if item.size <= cap else None,
            )
        )
    session.add(row)
    session.flush()
    return row


def _acks_today(session: Session, address: str, now: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(RequestMessage)
            .where(
                RequestMessage.recipient == address,
                RequestMessage.kind == "ack",
                RequestMessage.created_at > now - timedelta(days=1),
            )
        )
        or 0
    )


def _may_acknowledge(
    session: Session, settings: Settings, request: SupportRequest, parsed: ParsedMail, now: datetime
) -> str | None:
    """None when an acknowledgement goes out; otherwise why not (logged)."""
    if settings.calendar.is_open(now):
        return "in business hours"
    if parsed.automatic:
        return f"automatic mail ({parsed.automatic})"
    if request.first_response_at is not None or request.status == "resolved":
        return "already answered"
    if find_message(session, our_message_id(settings, "ack", str(request.id))) is not None:
        return "thread already acknowledged"
    if _acks_today(session, parsed.reply_to or parsed.sender, now) >= settings.mail_ack_per_day:
        return "sender's daily acknowledgement cap reached"
    return None


def _acknowledge(
    session: Session, settings: Settings, request: SupportRequest, incoming: RequestMessage, now: datetime, *, to: str
) -> list[int]:
    language = incoming.language or DEFAULT_LOCALE
    urgent = Severity(request.severity).wall_clock  # 1-2: the clock runs now, the ack says until when
    opening = request.first_response_due_at if urgent else settings.calendar.next_opening(now)
    subject, text = acknowledgement.render(language, request.id, incoming.subject, opening, settings, request.severity)
    row = RequestMessage(
        request_id=request.id,
        direction="out",
        kind="ack",
        source="system",
        message_id=our_message_id(settings, "ack", str(request.id)),
        in_reply_to=incoming.message_id,
        refs=" ".join([*(incoming.refs or "").split(), incoming.message_id]),
        sender=settings.support_email or settings.mail_from,
        recipient=to,
        subject=subject[:300],
        text=text,
        display_text=text,
        language=language,
        actor="system:acknowledgement",
        size=len(text.encode()),
        received_at=now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return outbox.emit(session, EVENT_MAIL_QUEUED, {"message_row": row.id}, f"request_message:{row.id}", now)


def ingest_message(session: Session, settings: Settings, raw: bytes, now: datetime, *, source: str) -> IngestResult:
    """Turn one raw message into a request (or a reply on one); see the module docstring."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    parsed = parse(raw)
    mid = parsed.message_id or _fallback_id(raw)
    if len(mid) > 500:  # longer than the column: still one stable name per message
        mid = _fallback_id(mid.encode())
    seen = find_message(session, mid)
    if seen is not None:
        return IngestResult(mid, seen.request_id, seen.id, duplicate=True)
    if is_ours(parsed, settings):
        log.info("inbound mail %s is one of ours: ignored", mid)
        return IngestResult(mid, ignored="our own message")
    try:
        with write_transaction(session):
            result = _ingest(session, settings, parsed, mid, raw, now, source)
    except IntegrityError:
        # Another process stored the same Message-ID between our check and our commit.
        session.rollback()
        seen = find_message(session, mid)
        if seen is None:
            raise
        return IngestResult(mid, seen.request_id, seen.id, duplicate=True)
    return result


def _ingest(
    session: Session, settings: Settings, parsed: ParsedMail, mid: str, raw: bytes, now: datetime, source: str
) -> IngestResult:
    if find_message(session, mid) is not None:  # stored while we waited for the write lock
        seen = find_message(session, mid)
        assert seen is not None
        return IngestResult(mid, seen.request_id, seen.id, duplicate=True)
    customer = customer_for(session, parsed.sender)
    request = thread_of(session, parsed, customer)
    follows: SupportRequest | None = None
    if request is not None and request.status == "resolved":
        # A closed request is not reopened behind the queue's back: the answer opens a follow-up
        # (its own clock, in the open queue), which later answers to the old thread join.
        follows, request = request, open_follow_up(session, request)
        if customer is None:
            customer = follows.customer
    ids: list[int] = []
    created = request is None
    if request is None:
        agent = dedicated_agent(session, customer)
        request = add_request(
            session,
            settings.calendar,
            RequestIn(
                channel="email",
                received_at=now,
                subject=parsed.subject or f"E-mail from {parsed.sender or 'unknown sender'}",
                severity=parsed.severity,
                customer_id=customer.id if customer else None,
                agent_id=agent.id if agent else None,
                details={
                    "message_id": mid,
                    "from": parsed.sender,
                    "source": source,
                    **({"follows": follows.id} if follows is not None else {}),
                },
            ),
            Actor.system(f"email:{source}"),
            now,
        )
        ids += triage_alert(session, request, now)
    row = _store(
        session,
        settings,
        request,
        parsed,
        mid,
        raw,
        source=source,
        language=language_for(session, parsed, customer),
        received_at=now,
        created_at=now,
    )
    if not created:
        request.updated_at = now
        log_event(
            session,
            request,
            "message",
            Actor.system(f"email:{source}"),
            now,
            {"message_id": mid, "from": parsed.sender, "automatic": parsed.automatic},
        )
    acknowledged = False
    reason = _may_acknowledge(session, settings, request, parsed, now)
    if reason is None:
        ids += _acknowledge(session, settings, request, row, now, to=parsed.reply_to or parsed.sender)
        acknowledged = True
    else:
        log.info("inbound mail %s on request %s: no acknowledgement (%s)", mid, request.id, reason)
    at_once = settings.calendar.is_open(now) or Severity(request.severity).wall_clock
    if at_once and request.agent_id is not None and not parsed.automatic:
        payload = {"request_id": request.id, "message_row": row.id}
        ids += outbox.emit(session, EVENT_MAIL_RECEIVED, payload, f"request_message:{row.id}:agent", now)
    return IngestResult(
        mid, request.id, row.id, created=created, joined=not created, acknowledged=acknowledged, outbox_ids=ids
    )
