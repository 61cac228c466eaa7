"""``booking mail-gateway`` as an operator runs it (a real subprocess), and the same message arriving
twice at once (two SMTP connections): one request."""

from __future__ import annotations

import shutil
import signal
import smtplib
import subprocess
import threading
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from booking.inbound.models import RequestMessage
from booking.models_requests import SupportRequest
from tests.inbound.conftest import SUPPORT, fresh, mail
from tests.test_cli_operations import BOOKING, _env, _free_port, _run, _wait_for_port


def test_mail_gateway_command_accepts_mail_and_stops_on_sigterm(tmp_path: Path, sqlite_template: Path) -> None:
    shutil.copy(sqlite_template, tmp_path / "booking.sqlite3")
    port = _free_port()
    env = _env(tmp_path, BOOKING_SUPPORT_EMAIL=SUPPORT, BOOKING_OUTBOX_INLINE="false")
    proc = subprocess.Popen(
        [BOOKING, "mail-gateway", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        _wait_for_port(port, proc)
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.send_message(mail(sender="someone@unknown.example"))
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"accepting mail for {SUPPORT}" in out
    engine = create_engine(f"sqlite:///{tmp_path / 'booking.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT channel, team FROM requests")).all() == [("email", "triage")]
    engine.dispose()


def test_mail_gateway_without_a_support_address_is_one_line(tmp_path: Path, sqlite_template: Path) -> None:
    shutil.copy(sqlite_template, tmp_path / "booking.sqlite3")
    done = _run(["mail-gateway", "--port", str(_free_port())], _env(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "booking: BOOKING_SUPPORT_EMAIL is not set: the mail gateway has no address to accept mail for"
    ]


def test_the_same_message_on_two_connections_at_once_makes_one_request(people, send, frozen):
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            barrier.wait(timeout=10)
            send(mail(subject="[S1] All down"))
        except BaseException as exc:  # an answer other than 250 would be raised here
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert fresh().scalar(select(func.count()).select_from(SupportRequest)) == 1
    kinds = fresh().scalars(select(RequestMessage.kind).order_by(RequestMessage.id)).all()
    assert kinds == ["customer", "ack"]  # Monday 08:00, before opening: one acknowledgement
