"""The ``booking`` processes as an operator runs them (issue 11, item 7), through real subprocesses.

* start-up errors are one line on stderr and a non-zero status (they were 45 and 152 lines);
* ``booking serve`` logs JSON with the request id and one access line per request, and on SIGTERM
  finishes the request it is receiving, answers it, refuses new connections and exits 0;
* ``booking worker`` exits 0 on SIGTERM after its running job.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SECRET

BOOKING = str(Path(sys.executable).with_name("booking"))


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOOKING_", "TWILIO_"))}
    env.update(
        BOOKING_DATABASE_URL=f"sqlite:///{tmp_path / 'booking.sqlite3'}",
        BOOKING_SECRET_KEY=SECRET,
        BOOKING_INSTANCE_PATH=str(tmp_path),
        BOOKING_SCHEDULER="false",
    )
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BOOKING, *args], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def test_a_bad_setting_is_one_line_and_a_failure_even_for_help(tmp_path: Path) -> None:
    """Before: Flask's --help printed the ConfigError's 45-line traceback and exited 0."""
    done = _run(["--help"], _env(tmp_path, BOOKING_TIMEZONE="Mars/Base"))
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "booking: configuration error: BOOKING_TIMEZONE='Mars/Base' is not an IANA time zone (e.g. Europe/Paris)"
    ]


@pytest.mark.parametrize("command", [["db", "upgrade"], ["serve", "--no-scheduler"]])
def test_an_unreachable_database_is_one_line_and_a_failure(tmp_path: Path, command: list[str]) -> None:
    """Before: up to 152 lines of traceback."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/booking"
    done = _run(command, _env(tmp_path, BOOKING_DATABASE_URL=url))
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("booking: database unavailable: ")
    assert "Traceback" not in done.stderr + done.stdout


def _wait_for_port(port: int, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("booking serve did not start listening")


def _read_response(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@pytest.mark.slow
def test_serve_logs_json_and_finishes_in_flight_requests_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = _env(tmp_path, BOOKING_LOG_FORMAT="json")
    proc = subprocess.Popen(
        [BOOKING, "serve", "--no-scheduler", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        _wait_for_port(port, proc)
        with socket.create_connection(("127.0.0.1", port)) as probe:
            probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-ID: probe-42\r\nConnection: close\r\n\r\n")
            head = _read_response(probe)
        assert head.startswith(b"HTTP/1.1 200") and b"x-request-id: probe-42" in head.lower()

        body = json.dumps({"token": "t" * 24, "start": "2026-12-01T10:00:00+01:00", "topic": "help"}).encode()
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(
            b"POST /api/bookings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nX-Request-ID: slow-7\r\n\r\n".encode()
            + body[:10]
        )
        time.sleep(0.5)  # the request is being received when SIGTERM arrives
        proc.send_signal(signal.SIGTERM)
        time.sleep(1.5)  # the serving loop notices within 0.5 s
        assert proc.poll() is None, "serve exited with a request in flight"
        with pytest.raises(OSError):  # no new connections once stopping
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        slow.sendall(body[10:])
        answer = _read_response(slow)
        slow.close()
        assert answer.startswith(b"HTTP/1.1 4"), answer[:200]  # a real answer (here: a validation error)
        assert b"x-request-id: slow-7" in answer.lower()
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    entries = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    access = [e for e in entries if e["logger"] == "booking.access"]
    assert {(e["request_id"], e["route"], e["status"]) for e in access} >= {
        ("probe-42", "/healthz", 200),
        ("slow-7", "/api/bookings", access[-1]["status"]),
    }
    assert all("ts" in e and "level" in e for e in entries)
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_worker_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert _run(["db", "upgrade"], env).returncode == 0
    proc = subprocess.Popen(
        [BOOKING, "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("booking worker: jobs")
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert "booking worker: stopped" in stdout
    assert "Traceback" not in stderr
