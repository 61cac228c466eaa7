"""Agents and customers: creation and lookup, shared by the admin API, the CLI and the demo data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking.config import Settings
from booking.db_guards import write_transaction
from booking.models import Agent, Booking, Customer, CustomerEmail, CustomerPhone, new_token
from booking.services import validation
from booking.services.errors import Conflict, InvalidInput, NotFound
from booking.vocabulary import BookingStatus, Tier


def agent_by_slug(session: Session, slug: str) -> Agent:
    agent = session.scalar(select(Agent).where(Agent.slug == slug))
    if agent is None:
        raise NotFound(f"no agent {slug!r}", code="unknown_agent")
    return agent


def create_agent(
    session: Session,
    settings: Settings,
    *,
    slug: str,
    name: str,
    email: str,
    phone: str,
    timezone: str | None = None,
    tier: str = Tier.DEDICATED,
    working_hours: Mapping[str, Sequence[str]] | None = None,
    on_call: bool = False,
    admin: bool = False,
    language: str = "en",
    buffer_minutes: int | None = None,
    max_calls_per_day: int | None = None,
) -> Agent:
    """Create an agent; 409 when the slug is taken, 400 (``booking.services.validation``) for bad input."""
    slug = validation.slug(slug)
    name = validation.name(name)
    email = validation.email(email)
    phone = validation.agent_phone(phone)
    zone = validation.timezone(timezone or settings.timezone.key)
    hours = validation.working_hours(working_hours)
    tier = validation.tier(tier)
    rules = agent_rules(language, buffer_minutes, max_calls_per_day)
    try:
        with write_transaction(session):  # the write lock up front: never "database is locked" on SQLite
            agent = Agent(
                slug=slug,
                name=name,
                email=email,
                phone=phone,
                timezone=zone,
                tier=tier,
                working_hours=hours,
                on_call=on_call,
                admin=admin,
                **rules,
            )
            session.add(agent)
    except IntegrityError as exc:
        raise Conflict(f"an agent with slug {slug!r} already exists", code="agent_exists") from exc
    return agent


#: The most an agent's own buffer (minutes) and daily cap may be (issue 18).
MAX_BUFFER_MINUTES = 240
MAX_CALLS_PER_DAY = 100


def agent_rules(language: str, buffer_minutes: int | None, max_calls_per_day: int | None) -> dict[str, Any]:
    """An agent's language and own booking rules, checked (None: the deployment's default)."""
    return {
        "language": validation.language(language),
        "buffer_minutes": validation.minutes_or_default(buffer_minutes, "buffer_minutes", MAX_BUFFER_MINUTES),
        "max_calls_per_day": validation.minutes_or_default(max_calls_per_day, "max_calls_per_day", MAX_CALLS_PER_DAY),
    }


def create_customer(
    session: Session,
    *,
    name: str,
    plan: str,
    dedicated_support: bool,
    agent_slug: str | None,
    phones: Sequence[str] = (),
    emails: Sequence[str] = (),
    phone_region: str = validation.DEFAULT_PHONE_REGION,
    backup_agent_slug: str | None = None,
) -> Customer:
    """Create a customer; the booking token is generated and unguessable.

    Phones are stored in E.164 (national numbers read in ``phone_region``): callers are recognised by
    comparing Twilio's E.164 ``From`` with them.
    """
    name = validation.name(name)
    plan = validation.plan(plan)
    unique_phones = validation.customer_phones(phones, phone_region)
    unique_emails = validation.emails(emails)
    try:
        with write_transaction(session):  # the checks below and the insert, under the write lock
            agent = None
            if agent_slug is not None:
                agent = session.scalar(select(Agent).where(Agent.slug == agent_slug))
                if agent is None:
                    raise InvalidInput(f"no agent {agent_slug!r}", code="unknown_agent")
            if dedicated_support and agent is None:
                raise InvalidInput("a customer with dedicated support needs an agent", code="agent_required")
            backup = _backup_agent(session, backup_agent_slug, agent)
            taken = session.scalars(select(CustomerPhone.e164).where(CustomerPhone.e164.in_(unique_phones))).all()
            if taken:
                raise Conflict(f"phone number already belongs to a customer: {', '.join(taken)}", code="phone_taken")
            customer = Customer(
                name=name,
                plan=plan,
                dedicated_support=dedicated_support,
                agent_id=agent.id if agent else None,
                backup_agent_id=backup.id if backup else None,
                phones=[CustomerPhone(e164=p) for p in unique_phones],
                emails=[CustomerEmail(email=e) for e in unique_emails],
            )
            session.add(customer)
    except IntegrityError as exc:
        raise Conflict("phone number already belongs to a customer", code="phone_taken") from exc
    return customer


def _backup_agent(session: Session, slug: str | None, dedicated: Agent | None) -> Agent | None:
    """The agent who covers while the dedicated one is away: an existing agent other than the dedicated one."""
    if slug is None:
        return None
    backup = session.scalar(select(Agent).where(Agent.slug == validation.slug(slug)))
    if backup is None:
        raise InvalidInput(f"no agent {slug!r}", code="unknown_agent")
    if dedicated is not None and backup.id == dedicated.id:
        raise InvalidInput("the backup agent must not be the dedicated agent", code="bad_backup_agent")
    return backup


def rotate_booking_token(session: Session, customer_id: int) -> Customer:
    """Replace a customer's booking link (a leaked one): the old link answers 404 from now on.

    Manage links of calls already booked are separate tokens and keep working.
    """
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}", code="unknown_customer")
    customer.booking_token = new_token()
    session.commit()
    return customer


# --- the admin console (issue 14): list, change, deactivate ----------------------------------------

#: What ``PATCH /api/agents/<slug>`` may change; the slug is the agent's address (URLs, feed) and stays.
AGENT_FIELDS = frozenset(
    {"name", "email", "phone", "timezone", "tier", "working_hours", "on_call", "admin", "active"}
    | {"language", "buffer_minutes", "max_calls_per_day"}
)
#: What ``PATCH /api/customers/<id>`` may change; the booking link changes only by rotation.
CUSTOMER_FIELDS = frozenset(
    {"name", "plan", "dedicated_support", "agent", "backup_agent", "phones", "emails", "active", "chat_origins"}
)


T = TypeVar("T", Agent, Customer)


@dataclass(frozen=True)
class Changed(Generic[T]):
    """A changed agent or customer, and, when this change deactivated it, its bookings still to come.

    Deactivation never cancels anything: the bookings are kept and listed so an admin can move them.
    """

    item: T
    future_bookings: list[Booking] | None = None


def list_agents(session: Session) -> list[Agent]:
    return list(session.scalars(select(Agent).order_by(Agent.slug)))


def future_bookings(
    session: Session, now: datetime, *, agent_id: int | None = None, customer_id: int | None = None
) -> list[Booking]:
    """Confirmed calls and callback reservations that have not ended yet, by start."""
    stmt = select(Booking).where(Booking.status == BookingStatus.CONFIRMED, Booking.end_at > now)
    if agent_id is not None:
        stmt = stmt.where(Booking.agent_id == agent_id)
    if customer_id is not None:
        stmt = stmt.where(Booking.customer_id == customer_id)
    return list(session.scalars(stmt.order_by(Booking.start_at, Booking.id)))


def update_agent(session: Session, slug: str, changes: Mapping[str, Any], now: datetime) -> Changed[Agent]:
    """Apply the given fields (absent = unchanged; ``working_hours: None`` = the business hours).

    Every value goes through ``booking.services.validation`` before anything is written.
    """
    unknown = set(changes) - AGENT_FIELDS
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
    checked: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "working_hours":
            checked[field] = validation.working_hours(value)
        elif field == "buffer_minutes":  # null: the deployment's BOOKING_BUFFER_MINUTES again
            checked[field] = validation.minutes_or_default(value, field, MAX_BUFFER_MINUTES)
        elif field == "max_calls_per_day":  # null: BOOKING_MAX_CALLS_PER_DAY again
            checked[field] = validation.minutes_or_default(value, field, MAX_CALLS_PER_DAY)
        elif value is None:
            raise InvalidInput(f"{field} cannot be null")
        elif field == "name":
            checked[field] = validation.name(value)
        elif field == "email":
            checked[field] = validation.email(value)
        elif field == "phone":
            checked[field] = validation.agent_phone(value)
        elif field == "timezone":
            checked[field] = validation.timezone(value)
        elif field == "tier":
            checked[field] = validation.tier(value)
        elif field == "language":
            checked[field] = validation.language(value)
        else:  # on_call, admin, active: booleans, checked by the schema
            checked[field] = bool(value)
    with write_transaction(session):
        agent = agent_by_slug(session, slug)
        deactivating = agent.active and checked.get("active") is False
        for field, value in checked.items():
            setattr(agent, field, value)
        pending = future_bookings(session, now, agent_id=agent.id) if deactivating else None
    return Changed(agent, pending)


def deactivate_agent(session: Session, slug: str, now: datetime) -> Changed[Agent]:
    """The agent leaves: no sign-in, no feed, no new bookings; history and future bookings are kept."""
    with write_transaction(session):
        agent = agent_by_slug(session, slug)
        agent.active = False
        pending = future_bookings(session, now, agent_id=agent.id)
    return Changed(agent, pending)


def customer_by_id(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}", code="unknown_customer")
    return customer


def list_customers(session: Session, agent_slug: str | None = None) -> list[Customer]:
    stmt = select(Customer).order_by(Customer.id)
    if agent_slug is not None:
        stmt = stmt.where(Customer.agent_id == agent_by_slug(session, agent_slug).id)
    return list(session.scalars(stmt))


def update_customer(
    session: Session,
    customer_id: int,
    changes: Mapping[str, Any],
    now: datetime,
    phone_region: str = validation.DEFAULT_PHONE_REGION,
) -> Changed[Customer]:
    """Apply the given fields (absent = unchanged; ``agent: None`` = no agent); phones and e-mails are
    replaced as a whole. The result must still hold together: dedicated support needs an agent."""
    unknown = set(changes) - CUSTOMER_FIELDS
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
    checked: dict[str, Any] = {}
    for field, value in changes.items():
        if value is None and field not in ("agent", "backup_agent"):
            raise InvalidInput(f"{field} cannot be null")
        if field == "name":
            checked[field] = validation.name(value)
        elif field == "plan":
            checked[field] = validation.plan(value)
        elif field == "phones":
            checked[field] = validation.customer_phones(value, phone_region)
        elif field == "emails":
            checked[field] = validation.emails(value)
        elif field in ("agent", "backup_agent"):
            checked[field] = None if value is None else validation.slug(value)
        elif field == "chat_origins":
            from booking.services.chat import origins

            checked[field] = origins(value)
        else:  # dedicated_support, active
            checked[field] = bool(value)
    try:
        with write_transaction(session):
            customer = customer_by_id(session, customer_id)
            deactivating = customer.active and checked.get("active") is False
            if "agent" in checked:
                slug = checked.pop("agent")
                if slug is None:
                    customer.agent_id = None
                else:
                    agent = session.scalar(select(Agent).where(Agent.slug == slug))
                    if agent is None:
                        raise InvalidInput(f"no agent {slug!r}", code="unknown_agent")
                    customer.agent_id = agent.id
            if "backup_agent" in checked:
                backup_slug = checked.pop("backup_agent")
                backup = _backup_agent(session, backup_slug, None)
                customer.backup_agent_id = backup.id if backup else None
            if customer.backup_agent_id is not None and customer.backup_agent_id == customer.agent_id:
                raise InvalidInput("the backup agent must not be the dedicated agent", code="bad_backup_agent")
            if "phones" in checked:
                phones = checked.pop("phones")
                taken = session.scalars(
                    select(CustomerPhone.e164).where(
                        CustomerPhone.e164.in_(phones), CustomerPhone.customer_id != customer.id
                    )
                ).all()
                if taken:
                    raise Conflict(
                        f"phone number already belongs to a customer: {', '.join(taken)}", code="phone_taken"
                    )
                kept = {p.e164: p for p in customer.phones}
                customer.phones = [kept.get(p) or CustomerPhone(e164=p) for p in phones]
            if "emails" in checked:
                addresses = checked.pop("emails")
                customer.emails = [CustomerEmail(email=e) for e in addresses]
            for field, value in checked.items():
                setattr(customer, field, value)
            if customer.dedicated_support and customer.agent_id is None:
                raise InvalidInput("a customer with dedicated support needs an agent", code="agent_required")
            pending = future_bookings(session, now, customer_id=customer.id) if deactivating else None
    except IntegrityError as exc:
        raise Conflict("phone number already belongs to a customer", code="phone_taken") from exc
    return Changed(customer, pending)


def deactivate_customer(session: Session, customer_id: int, now: datetime) -> Changed[Customer]:
    """The customer leaves: the booking link stops working; history and booked calls are kept."""
    with write_transaction(session):
        customer = customer_by_id(session, customer_id)
        customer.active = False
        pending = future_bookings(session, now, customer_id=customer.id)
    return Changed(customer, pending)
