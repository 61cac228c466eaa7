"""Agents and customers: creation and lookup, shared by the admin API, the CLI and the demo data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking.config import Settings
from booking.core.business_time import iana_zone, validate_weekly_hours
from booking.db_guards import write_transaction
from booking.models import Agent, Customer, CustomerEmail, CustomerPhone, new_token
from booking.services.errors import Conflict, InvalidInput, NotFound
from booking.text import has_unsafe_chars
from booking.vocabulary import Tier


def _one_line(field: str, value: str) -> None:
    """Names end up in e-mail headers and calendar properties: no line break, no control character."""
    if has_unsafe_chars(value):
        raise InvalidInput(f"{field} must be one line of text without control characters", code="bad_text")


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
) -> Agent:
    """Create an agent; 409 when the slug is taken, 400 for a bad zone or working hours."""
    _one_line("name", name)
    zone = timezone or settings.timezone.key
    try:
        iana_zone(zone)
    except ValueError as exc:
        raise InvalidInput(f"unknown time zone {zone!r}", code="bad_timezone") from exc
    hours = None
    if working_hours is not None:
        try:
            hours = validate_weekly_hours(working_hours)
        except ValueError as exc:
            raise InvalidInput(f"working_hours: {exc}", code="bad_working_hours") from exc
    if tier not in tuple(Tier):
        raise InvalidInput("tier must be 'dedicated' or 'senior'")
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
            )
            session.add(agent)
    except IntegrityError as exc:
        raise Conflict(f"an agent with slug {slug!r} already exists", code="agent_exists") from exc
    return agent


def create_customer(
    session: Session,
    *,
    name: str,
    plan: str,
    dedicated_support: bool,
    agent_slug: str | None,
    phones: Sequence[str] = (),
    emails: Sequence[str] = (),
) -> Customer:
    """Create a customer; the booking token is generated and unguessable."""
    _one_line("name", name)
    _one_line("plan", plan)
    unique_phones = list(dict.fromkeys(phones))
    try:
        with write_transaction(session):  # the checks below and the insert, under the write lock
            agent = None
            if agent_slug is not None:
                agent = session.scalar(select(Agent).where(Agent.slug == agent_slug))
                if agent is None:
                    raise InvalidInput(f"no agent {agent_slug!r}", code="unknown_agent")
            if dedicated_support and agent is None:
                raise InvalidInput("a customer with dedicated support needs an agent", code="agent_required")
            taken = session.scalars(select(CustomerPhone.e164).where(CustomerPhone.e164.in_(unique_phones))).all()
            if taken:
                raise Conflict(f"phone number already belongs to a customer: {', '.join(taken)}", code="phone_taken")
            customer = Customer(
                name=name,
                plan=plan,
                dedicated_support=dedicated_support,
                agent_id=agent.id if agent else None,
                phones=[CustomerPhone(e164=p) for p in unique_phones],
                emails=[CustomerEmail(email=e) for e in dict.fromkeys(emails)],
            )
            session.add(customer)
    except IntegrityError as exc:
        raise Conflict("phone number already belongs to a customer", code="phone_taken") from exc
    return customer


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
