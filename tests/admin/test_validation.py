"""Issue 14 items 1-2: one validation path; plans as an enum; phones normalised to E.164 on the way in.

The API and the CLI call ``booking.services.validation``; these tests hold both to the same answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from booking.services import validation
from booking.services.errors import InvalidInput

BOOKING = [sys.executable, "-c", "from booking.cli import main; main()"]


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("06 12 34 56 99", "FR", "+33612345699"),
        ("06.12.34.56.99", "FR", "+33612345699"),
        ("+33 6 12 34 56 99", "FR", "+33612345699"),
        ("0032 470 12 34 56", "FR", "+32470123456"),
        ("0470 12 34 56", "BE", "+32470123456"),
        # full international form of a possible length is kept even where the library knows no range
        ("+33 690 00 00 00", "FR", "+33690000000"),
    ],
)
def test_phone_is_normalised_to_e164(raw, region, e164):
    assert validation.phone(raw, region) == e164


@pytest.mark.parametrize("raw", ["0612", "", "anonymous", "+33 6 12\n34 56 99", "06 12 34 56 99 99 99"])
def test_bad_phones_are_refused(raw):
    with pytest.raises(InvalidInput) as caught:
        validation.phone(raw)
    assert caught.value.code == "bad_phone"


def test_unknown_plan_is_refused_with_the_known_ones():
    with pytest.raises(InvalidInput) as caught:
        validation.plan("all-inclusve")
    assert caught.value.code == "bad_plan" and "all-inclusive" in caught.value.message
    assert validation.plan("standard") == "standard"


def test_api_refuses_an_unknown_plan(client, admin):
    response = client.post("/api/customers", json={"name": "Typo SA", "plan": "all-inclusve"}, headers=admin)
    assert response.status_code == 400 and response.is_json
    assert "plan" in response.get_json()["error"]["message"]


def test_api_refuses_a_phone_that_is_no_number(client, admin):
    response = client.post(
        "/api/customers", json={"name": "Short", "plan": "standard", "phones": ["0612"]}, headers=admin
    )
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_phone"


def test_api_stores_phones_in_e164_and_counts_two_spellings_once(client, admin, make_agent):
    agent = make_agent()
    body = {
        "name": "Acme",
        "plan": "all-inclusive",
        "dedicated_support": True,
        "agent": agent["slug"],
        "phones": ["06 12 34 56 99", "+33 6 12 34 56 99"],
    }
    created = client.post("/api/customers", json=body, headers=admin)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["phones"] == ["+33612345699"]
    again = client.post("/api/customers", json=dict(body, name="Other", phones=["0612345699"]), headers=admin)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "phone_taken"


def test_api_agent_phone_written_internationally_is_normalised(client, admin):
    body = {"slug": "noa", "name": "Noa", "email": "noa@example.com", "phone": "+33 1 40 00 00 42"}
    created = client.post("/api/agents", json=body, headers=admin)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["phone"] == "+33140000042"


def test_bad_phone_region_is_a_configuration_error(tmp_path):
    from booking.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="BOOKING_PHONE_REGION"):
        load_settings({"BOOKING_PHONE_REGION": "XX"}, instance_path=tmp_path)


# -- the CLI refuses what the API refuses, with one line and exit 2 ------------------------------


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")}
    env["BOOKING_INSTANCE_PATH"] = str(tmp_path / "instance")
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(BOOKING + args, env=env, capture_output=True, text=True, timeout=120)


AGENT = ["agent", "add", "--slug", "noa", "--name", "Noa", "--email", "noa@example.com", "--phone", "+33140000042"]


def _replace(args: list[str], option: str, value: str) -> list[str]:
    out = list(args)
    out[out.index(option) + 1] = value
    return out


@pytest.mark.slow
def test_cli_refuses_bad_input_with_one_line_and_exit_2(tmp_path):
    env = _env(tmp_path)
    assert _run(["db", "upgrade"], env).returncode == 0
    bad_agents = [
        _replace(AGENT, "--slug", "Bad Slug"),
        _replace(AGENT, "--name", "   "),
        _replace(AGENT, "--email", "nope"),
        _replace(AGENT, "--phone", "0612"),
        _replace(AGENT, "--phone", "0612345678"),
        _replace(AGENT, "--timezone" if "--timezone" in AGENT else "--name", "Noa") + ["--timezone", "Mars/Olympus"],
        AGENT + ["--tier", "boss"],
    ]
    customer = ["customer", "add", "--name", "Beta", "--no-dedicated-support", "--plan", "standard"]
    bad_customers = [
        _replace(customer, "--plan", "all-inclusve"),
        _replace(customer, "--name", ""),
        customer + ["--phone", "0612"],
        customer + ["--email", "not-an-address"],
    ]
    for args in bad_agents + bad_customers:
        result = _run(args, env)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("booking: "), (args, result.stderr)
        assert "Traceback" not in result.stderr
    ok = _run(AGENT, env)
    assert ok.returncode == 0, ok.stderr
    national = _run(["customer", "add", "--name", "Acme", "--agent", "noa", "--phone", "06 12 34 56 99"], env)
    assert national.returncode == 0, national.stderr
    from booking import create_app

    app = create_app({"TESTING": True}, env={**env, "BOOKING_SCHEDULER": "false"})
    with app.app_context():
        from sqlalchemy import select

        from booking.extensions import db
        from booking.models import CustomerPhone

        assert db.session.scalars(select(CustomerPhone.e164)).all() == ["+33612345699"]
