"""``booking agent import`` / ``booking customer import``: a CSV file, all rows or none.

An operator moving a customer base in wants every problem at once, by line number, not the first
one after half the file was written. So every row goes through the same checks as the API
(``booking.services.validation``, plus the database's: slug taken, phone already a customer's,
unknown agent, and the same value twice in the file); when any row is bad nothing is written, and
``dry_run`` writes nothing either. The rows are written in one transaction.

CSV columns (a header line; extra columns refused, order free):
- agents: ``slug,name,email,phone`` and optionally ``timezone,tier,on_call,language`` (``en`` or ``fr``,
  the language of the agent's e-mails and SMS; empty or absent: ``en``);
- customers: ``name,plan`` and optionally ``dedicated_support,agent,backup_agent,phones,emails`` (several phones or
  e-mails separated by ``;``). Booleans: ``true/false``, ``yes/no``, ``1/0`` or empty (false).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.config import Settings
from booking.db_guards import write_transaction
from booking.models import Agent, Customer, CustomerEmail, CustomerPhone
from booking.services import validation
from booking.services.errors import InvalidInput
from booking.vocabulary import Language

AGENT_COLUMNS = ({"slug", "name", "email", "phone"}, {"timezone", "tier", "on_call", "language"})
CUSTOMER_COLUMNS = ({"name", "plan"}, {"dedicated_support", "agent", "backup_agent", "phones", "emails"})
MAX_ROWS = 100_000


@dataclass
class ImportResult:
    """``errors`` are ``(line, message)``; ``created`` counts rows written (0 on a dry run or any error)."""

    rows: int = 0
    created: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"", "0", "false", "no", "n"}:
        return False
    if value in {"1", "true", "yes", "y"}:
        return True
    raise InvalidInput(f"{raw!r} is not true or false")


def _split(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(";") if part.strip()]


def _rows(text: str, columns: tuple[set[str], set[str]], result: ImportResult) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = set(reader.fieldnames or [])
    required, optional = columns
    missing, extra = required - header, header - required - optional
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(sorted(missing))}")
        if extra:
            parts.append(f"unknown column(s) {', '.join(sorted(extra))}")
        result.errors.append((1, "; ".join(parts)))
        return []
    rows = []
    for row in reader:
        if None in row or any(value is None for value in row.values()):
            result.errors.append((reader.line_num, "wrong number of fields"))
            continue
        rows.append((reader.line_num, {k: (v or "") for k, v in row.items()}))
        if len(rows) > MAX_ROWS:
            result.errors.append((reader.line_num, f"more than {MAX_ROWS} rows"))
            break
    result.rows = len(rows)
    return rows


def _run(
    session: Session,
    text: str,
    columns: tuple[set[str], set[str]],
    check: Callable[[Session, dict[str, str], set[tuple[str, str]]], Any],
    dry_run: bool,
) -> ImportResult:
    result = ImportResult()
    rows = _rows(text, columns, result)
    seen: set[tuple[str, str]] = set()  # what earlier rows of the file already claim (slugs, phones)
    built = []
    for line, row in rows:
        try:
            built.append(check(session, row, seen))
        except InvalidInput as exc:
            result.errors.append((line, exc.message))
    result.errors.sort(key=lambda error: error[0])
    if result.errors or dry_run:
        session.rollback()
        return result
    with write_transaction(session):
        session.add_all(built)
    result.created = len(built)
    return result


def import_agents(session: Session, settings: Settings, text: str, *, dry_run: bool = False) -> ImportResult:
    """Create every agent of the CSV ``text``, or none (see the module docstring)."""

    def check(session: Session, row: dict[str, str], seen: set[tuple[str, str]]) -> Agent:
        slug = validation.slug(row["slug"].strip())
        if ("slug", slug) in seen:
            raise InvalidInput(f"slug {slug!r} is also on another line of the file")
        if session.scalar(select(Agent.id).where(Agent.slug == slug)) is not None:
            raise InvalidInput(f"an agent with slug {slug!r} already exists")
        agent = Agent(
            slug=slug,
            name=validation.name(row["name"]),
            email=validation.email(row["email"]),
            phone=validation.agent_phone(row["phone"]),
            timezone=validation.timezone(row.get("timezone", "").strip() or settings.timezone.key),
            tier=validation.tier(row.get("tier", "").strip() or "dedicated"),
            on_call=_bool(row.get("on_call", "")),
            language=validation.language(row.get("language", "").strip() or Language.EN),
        )
        seen.add(("slug", slug))
        return agent

    return _run(session, text, AGENT_COLUMNS, check, dry_run)


def import_customers(session: Session, settings: Settings, text: str, *, dry_run: bool = False) -> ImportResult:
    """Create every customer of the CSV ``text``, or none (see the module docstring)."""

    def check(session: Session, row: dict[str, str], seen: set[tuple[str, str]]) -> Customer:
        name = validation.name(row["name"])
        plan = validation.plan(row["plan"])
        dedicated = _bool(row.get("dedicated_support", ""))
        agent_id = None
        slug = row.get("agent", "").strip()
        if slug:
            agent_id = session.scalar(select(Agent.id).where(Agent.slug == validation.slug(slug)))
            if agent_id is None:
                raise InvalidInput(f"no agent {slug!r}")
        if dedicated and agent_id is None:
            raise InvalidInput("a customer with dedicated support needs an agent")
        backup_id = None
        backup_slug = row.get("backup_agent", "").strip()
        if backup_slug:
            backup_id = session.scalar(select(Agent.id).where(Agent.slug == validation.slug(backup_slug)))
            if backup_id is None:
                raise InvalidInput(f"no agent {backup_slug!r}")
            if backup_id == agent_id:
                raise InvalidInput("the backup agent must not be the dedicated agent")
        phones = validation.customer_phones(_split(row.get("phones", "")), settings.phone_region)
        emails = validation.emails(_split(row.get("emails", "")))
        for number in phones:
            if ("phone", number) in seen:
                raise InvalidInput(f"phone {number} is also on another line of the file")
        taken = session.scalars(select(CustomerPhone.e164).where(CustomerPhone.e164.in_(phones))).all()
        if taken:
            raise InvalidInput(f"phone number already belongs to a customer: {', '.join(taken)}")
        for number in phones:
            seen.add(("phone", number))
        return Customer(
            name=name,
            plan=plan,
            dedicated_support=dedicated,
            agent_id=agent_id,
            backup_agent_id=backup_id,
            phones=[CustomerPhone(e164=p) for p in phones],
            emails=[CustomerEmail(email=e) for e in emails],
        )

    return _run(session, text, CUSTOMER_COLUMNS, check, dry_run)
