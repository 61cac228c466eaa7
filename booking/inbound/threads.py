"""Which request and customer an inbound message belongs to (issue 15): lookups only, no writes.

- ``customer_for``: the address listed on a customer, else ``@domain``; active customers first.
- ``thread_of``: ``In-Reply-To`` / ``References`` against every stored message (ours included), then
  a ``[#R123]`` subject tag, accepted only from a sender of that thread or of its customer.
- ``open_follow_up``: the unresolved request an earlier answer to a resolved thread opened.
- ``language_for``: the message's declared language, the customer's last booking's, or French.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from booking.i18n import DEFAULT_LOCALE, LOCALES
from booking.inbound.models import RequestMessage
from booking.inbound.parse import ParsedMail
from booking.models import Booking, Customer, CustomerEmail
from booking.models_requests import SupportRequest


def customer_for(session: Session, address: str) -> Customer | None:
    """The customer listing this address, else the one listing ``@domain``; active customers first."""
    if "@" not in address:
        return None
    domain = "@" + address.rsplit("@", 1)[1]
    for wanted in (address, domain):
        customer = session.scalar(
            select(Customer)
            .join(CustomerEmail, CustomerEmail.customer_id == Customer.id)
            .where(func.lower(CustomerEmail.email) == wanted)
            .order_by(Customer.active.desc(), Customer.id)
            .limit(1)
        )
        if customer is not None:
            return customer
    return None


def find_message(session: Session, message_id: str) -> RequestMessage | None:
    return session.scalar(select(RequestMessage).where(RequestMessage.message_id == message_id))


def thread_of(session: Session, parsed: ParsedMail, customer: Customer | None) -> SupportRequest | None:
    for ref in parsed.thread_ids:
        row = find_message(session, ref)
        if row is not None:
            return row.request
    if parsed.request_tag is None:
        return None
    request = session.get(SupportRequest, parsed.request_tag)
    if request is None or request.channel != "email":
        return None
    # A tag alone is easy to type: it joins only from a sender of that thread or of its customer.
    same_customer = customer is not None and request.customer_id == customer.id
    known = session.scalar(
        select(func.count())
        .select_from(RequestMessage)
        .where(RequestMessage.request_id == request.id, RequestMessage.sender == parsed.sender)
    )
    return request if same_customer or known else None


def open_follow_up(session: Session, resolved: SupportRequest) -> SupportRequest | None:
    """The unresolved request already opened by an answer to ``resolved``'s thread, if any."""
    thread = select(RequestMessage.message_id).where(RequestMessage.request_id == resolved.id)
    row = session.scalar(
        select(RequestMessage)
        .join(SupportRequest, SupportRequest.id == RequestMessage.request_id)
        .where(SupportRequest.status != "resolved", RequestMessage.in_reply_to.in_(thread))
        .order_by(RequestMessage.id.desc())
        .limit(1)
    )
    return row.request if row is not None else None


def language_for(session: Session, parsed: ParsedMail, customer: Customer | None) -> str:
    """The message's declared language, else the customer's last booking's, else the default (fr)."""
    if parsed.language in LOCALES:
        return str(parsed.language)
    if customer is not None:
        locale = session.scalar(
            select(Booking.locale)
            .where(Booking.customer_id == customer.id, Booking.locale.is_not(None))
            .order_by(Booking.id.desc())
            .limit(1)
        )
        if locale in LOCALES:
            return str(locale)
    return DEFAULT_LOCALE
