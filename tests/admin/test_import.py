"""Issue 14: ``booking agent import`` / ``booking customer import``: every bad row by line, all or none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import Agent, Customer, CustomerPhone
from booking.services import importing

AGENTS = """slug,name,email,phone,tier
camille,Camille Martin,camille@example.com,+33 1 40 00 00 01,dedicated
dana,Dana Petit,dana@example.com,+33140000002,senior
"""
CUSTOMERS = """name,plan,dedicated_support,agent,phones,emails
Acme SA,all-inclusive,yes,camille,06 12 34 56 99;+33 6 12 34 56 98,it@acme.example
Initech,standard,,,,help@initech.example
"""


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_good_files_are_imported_with_phones_in_e164(app):
    settings = app.extensions["booking.settings"]
    agents = importing.import_agents(db.session, settings, AGENTS)
    assert agents.errors == [] and agents.created == 2
    customers = importing.import_customers(db.session, settings, CUSTOMERS)
    assert customers.errors == [] and customers.created == 2
    assert sorted(db.session.scalars(select(CustomerPhone.e164))) == ["+33612345698", "+33612345699"]
    acme = db.session.scalar(select(Customer).where(Customer.name == "Acme SA"))
    assert acme.eligible and acme.agent.slug == "camille"


def test_dry_run_writes_nothing(app):
    settings = app.extensions["booking.settings"]
    result = importing.import_agents(db.session, settings, AGENTS, dry_run=True)
    assert result.errors == [] and result.rows == 2 and result.created == 0
    assert _count(Agent) == 0


def test_every_bad_row_is_reported_by_line_and_nothing_is_written(app):
    settings = app.extensions["booking.settings"]
    importing.import_agents(db.session, settings, AGENTS)
    text = (
        "name,plan,dedicated_support,agent,phones,emails\n"
        "Good SA,all-inclusive,yes,camille,06 11 11 11 11,\n"  # line 2: fine
        "Typo SA,all-inclusve,yes,camille,,\n"  # 3: plan
        "Short SA,standard,,,0612,\n"  # 4: phone
        "Ghost SA,all-inclusive,yes,ghost,,\n"  # 5: unknown agent
        "Twice SA,standard,,,+33611111111,\n"  # 6: same phone as line 2
        ",standard,,,,\n"  # 7: empty name
        "Mail SA,standard,maybe,,,nope\n"  # 8: boolean
        "Fields SA,standard\n"  # 9: too few fields
    )
    result = importing.import_customers(db.session, settings, text)
    assert [line for line, _ in result.errors] == [3, 4, 5, 6, 7, 8, 9], result.errors
    messages = dict(result.errors)
    assert "all-inclusve" in messages[3] and "0612" in messages[4] and "ghost" in messages[5]
    assert result.created == 0 and _count(Customer) == 0


def test_agents_file_duplicates_and_taken_slugs(app):
    settings = app.extensions["booking.settings"]
    importing.import_agents(db.session, settings, AGENTS)
    text = (
        "slug,name,email,phone\n"
        "noa,Noa,noa@example.com,+33140000003\n"
        "noa,Noa Bis,noa2@example.com,+33140000004\n"
        "camille,Camille,c@example.com,+33140000005\n"
        "Bad Slug,X,x@example.com,+33140000006\n"
        "eve,Eve,eve@example.com,0612345678\n"
    )
    result = importing.import_agents(db.session, settings, text)
    assert [line for line, _ in result.errors] == [3, 4, 5, 6]
    assert _count(Agent) == 2


def test_agents_file_language_column_optional_default_en_and_checked(app):
    """Issue 18's agent field in the CSV: ``language`` optional (empty or absent: en), checked as the API does."""
    settings = app.extensions["booking.settings"]
    text = (
        "slug,name,email,phone,language\n"
        "noa,Noa,noa@example.com,+33140000003,fr\n"
        "eve,Eve,eve@example.com,+33140000004,\n"
        "ines,Ines,ines@example.com,+33140000005, FR \n"
    )
    result = importing.import_agents(db.session, settings, text)
    assert result.errors == [] and result.created == 3
    languages = {slug: language for slug, language in db.session.execute(select(Agent.slug, Agent.language))}
    assert languages == {"noa": "fr", "eve": "en", "ines": "fr"}
    assert importing.import_agents(db.session, settings, AGENTS).errors == []  # no column at all: en
    assert db.session.scalar(select(Agent.language).where(Agent.slug == "camille")) == "en"
    bad = importing.import_agents(
        db.session, settings, "slug,name,email,phone,language\nzoe,Zoe,z@example.com,+33140000009,de\n"
    )
    assert bad.errors == [(2, "language must be 'en' or 'fr', not 'de'")] and bad.created == 0


def test_wrong_columns_are_one_error_on_line_1(app):
    result = importing.import_agents(db.session, app.extensions["booking.settings"], "slug,name,colour\na,b,c\n")
    assert result.errors == [(1, "missing column(s) email, phone; unknown column(s) colour")]


BOOKING = [sys.executable, "-c", "from booking.cli import main; main()"]


@pytest.mark.slow
def test_cli_import(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")}
    env["BOOKING_INSTANCE_PATH"] = str(tmp_path / "instance")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(BOOKING + list(args), env=env, capture_output=True, text=True, timeout=120)

    assert run("db", "upgrade").returncode == 0
    agents = tmp_path / "agents.csv"
    agents.write_text(AGENTS, encoding="utf-8")
    dry = run("agent", "import", str(agents), "--dry-run")
    assert dry.returncode == 0 and "2 agent(s) would be imported" in dry.stdout, dry.stderr
    assert run("agent", "import", str(agents)).returncode == 0
    bad = tmp_path / "customers.csv"
    bad.write_text("name,plan\nAcme,standard\nTypo,all-inclusve\nOk,standard\n,standard\n", encoding="utf-8")
    result = run("customer", "import", str(bad))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"{bad}:3: ") and lines[1].startswith(f"{bad}:5: ")
    assert lines[-1] == "booking: 2 bad row(s); nothing was imported" and len(lines) == 3
    missing = run("customer", "import", str(tmp_path / "nothing.csv"))
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
