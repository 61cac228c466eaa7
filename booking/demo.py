"""Idempotent demo data: two agents and three customers, so a fresh install shows every journey.

Running ``booking demo`` twice changes nothing the second time; links stay the same.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from booking import links
from booking.config import Settings
from booking.models import Agent, Customer
from booking.services import directory
from booking.vocabulary import Plan, Tier

AGENTS: list[dict[str, Any]] = [
    {
        "slug": "camille-martin",
        "name": "Camille Martin",
        "email": "camille.martin@example.com",
        "phone": "+33140000001",
        "timezone": "Europe/Paris",
        "tier": Tier.DEDICATED,
    },
    {
        "slug": "lea-dubois",
        "name": "Léa Dubois",
        "email": "lea.dubois@example.com",
        "phone": "+33140000002",
        "timezone": "Europe/Paris",
        "tier": Tier.SENIOR,
        "on_call": True,
    },
]

CUSTOMERS: list[dict[str, Any]] = [
    {
        "name": "Acme SA",
        "plan": Plan.ALL_INCLUSIVE,
        "dedicated_support": True,
        "agent_slug": "camille-martin",
        "phones": ["+33612345678"],
        "emails": ["it@acme.example"],
    },
    {
        "name": "Globex GmbH",
        "plan": Plan.ALL_INCLUSIVE,
        "dedicated_support": True,
        "agent_slug": "camille-martin",
        "phones": ["+4930123456"],
        "emails": ["ops@globex.example"],
    },
    {
        "name": "Initech (Standard plan)",
        "plan": Plan.STANDARD,
        "dedicated_support": False,
        "agent_slug": None,
        "phones": ["+33698765432"],
        "emails": ["help@initech.example"],
    },
]


def _base(settings: Settings) -> str:
    return settings.public_url or "http://127.0.0.1:8000"


def booking_link(settings: Settings, customer: Customer) -> str | None:
    if not customer.eligible:
        return None
    return links.absolute(_base(settings), links.book_path(customer))


def load_demo(session: Session, settings: Settings) -> list[str]:
    """Create what is missing and return printable lines with every booking link."""
    for spec in AGENTS:
        if session.scalar(select(Agent).where(Agent.slug == spec["slug"])) is None:
            directory.create_agent(session, settings, **spec)
    lines = []
    for spec in CUSTOMERS:
        customer = session.scalar(select(Customer).where(Customer.name == spec["name"]))
        if customer is None:
            customer = directory.create_customer(session, **spec)
        link = booking_link(settings, customer)
        lines.append(f"{customer.name}: {link or 'no dedicated support (no booking page)'}")
    where = "your inbox" if settings.smtp_url else "the server log (BOOKING_SMTP_URL is unset)"
    lines.append(
        f"Agent dashboard: {_base(settings)}/agent/sign-in as {AGENTS[0]['email']}; the sign-in link goes to {where}"
    )
    return lines
