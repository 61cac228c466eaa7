"""CLI commands and start-up validation, run as a user would (subprocesses where it matters)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from booking.config import ConfigError, load_settings

BOOKING = [sys.executable, "-c", "from booking.cli import main; main()"]


def _run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(BOOKING + args, env=env, capture_output=True, text=True, timeout=timeout)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")}
    env.update({"BOOKING_INSTANCE_PATH": str(tmp_path / "instance")}, **extra)
    return env


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("BOOKING_TIMEZONE", "Mars/Olympus", "BOOKING_TIMEZONE"),
        ("BOOKING_TIMEZONE", "localtime", "BOOKING_TIMEZONE"),
        ("BOOKING_BUSINESS_HOURS", "17:00-09:00", "BOOKING_BUSINESS_HOURS"),
        ("BOOKING_BUSINESS_HOURS", "nine to five", "BOOKING_BUSINESS_HOURS"),
        ("BOOKING_BUSINESS_DAYS", "mon-funday", "BOOKING_BUSINESS_DAYS"),
        ("BOOKING_HOLIDAYS", "XX", "BOOKING_HOLIDAYS"),
        ("BOOKING_SLOT_MINUTES", "0", "BOOKING_SLOT_MINUTES"),
        ("BOOKING_PUBLIC_URL", "booking.example.com", "BOOKING_PUBLIC_URL"),
    ],
)
def test_bad_configuration_is_one_clear_line(tmp_path, variable, value, fragment):
    with pytest.raises(ConfigError) as info:
        load_settings({variable: value}, instance_path=tmp_path)
    assert fragment in str(info.value)
    result = _run(["demo"], _env(tmp_path, **{variable: value}))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("booking: configuration error:"), result.stderr
    assert "Traceback" not in result.stderr


def test_defaults_and_secret_key_generated_once(tmp_path):
    s1 = load_settings({}, instance_path=tmp_path)
    s2 = load_settings({}, instance_path=tmp_path)
    assert s1.secret_key == s2.secret_key and len(s1.secret_key) >= 32
    assert s1.timezone.key == "Europe/Paris" and s1.slot_minutes == 30 and s1.horizon_days == 60
    assert s1.database_url.startswith("sqlite:///")
    assert load_settings({"BOOKING_HOLIDAYS": ""}, instance_path=tmp_path).holidays_spec == ""
    assert load_settings({"BOOKING_HOLIDAYS": "FR-57"}, instance_path=tmp_path).holidays_spec == "FR-57"


def test_db_upgrade_demo_is_idempotent_and_agent_customer_add(tmp_path):
    env = _env(tmp_path)
    assert _run(["db", "upgrade"], env).returncode == 0
    first = _run(["demo"], env)
    second = _run(["demo"], env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert "/book/" in first.stdout and "Acme SA" in first.stdout
    added = _run(
        ["agent", "add", "--slug", "noa", "--name", "Noa", "--email", "noa@example.com", "--phone", "+33140000042"],
        env,
    )
    assert added.returncode == 0, added.stderr
    dup = _run(
        ["agent", "add", "--slug", "noa", "--name", "Noa", "--email", "noa@example.com", "--phone", "+33140000042"],
        env,
    )
    assert dup.returncode != 0 and "already exists" in dup.stderr
    customer = _run(["customer", "add", "--name", "Beta", "--agent", "noa", "--phone", "+33611112222"], env)
    assert customer.returncode == 0 and "/book/" in customer.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_honours_host_and_port(tmp_path):
    port = _free_port()
    env = _env(tmp_path, BOOKING_SCHEDULER="false")
    process = subprocess.Popen(
        BOOKING + ["serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        response = None
        while time.monotonic() < deadline:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/api/openapi.json", timeout=2)
                break
            except requests.ConnectionError:
                if process.poll() is not None:
                    break
                time.sleep(0.1)  # polling a starting server, not timing anything
        assert response is not None and response.status_code == 200, process.stdout
        assert response.json()["info"]["title"] == "booking"
        assert response.headers["Server"] == "booking"  # waitress, not the development server
    finally:
        process.terminate()
        process.wait(timeout=20)
