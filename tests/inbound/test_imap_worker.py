"""``booking worker`` itself, as a process, with BOOKING_IMAP_URL: IDLE brings new mail in at once (the
poll interval is an hour here), and SIGTERM stops the watcher with the scheduler."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.fixtures.dovecot import *  # noqa: F403  (the dovecot_server / imap_mailbox fixtures)
from tests.fixtures.dovecot import DovecotMailbox
from tests.inbound.conftest import mail

BOOKING = str(Path(sys.executable).with_name("booking"))
WAIT = 30.0


def _until(query: str, url: str) -> int:
    """Wait for ``query`` to count something (the worker writes from its own process)."""
    engine = create_engine(url)
    deadline = time.monotonic() + WAIT
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                found = int(conn.execute(text(query)).scalar() or 0)
            if found:
                return found
            time.sleep(0.05)  # polling another process's commits, not a timing assumption
        return 0
    finally:
        engine.dispose()


@pytest.mark.slow
def test_the_worker_imports_new_mail_through_idle_and_stops_on_sigterm(tmp_path: Path, imap_mailbox: DovecotMailbox):
    url = f"sqlite:///{tmp_path / 'booking.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOOKING_", "TWILIO_"))}
    env.update(
        BOOKING_DATABASE_URL=url,
        BOOKING_SECRET_KEY="test-secret-key-0123456789abcdef",
        BOOKING_INSTANCE_PATH=str(tmp_path),
        BOOKING_SUPPORT_EMAIL="support@help.example",
        BOOKING_IMAP_URL=imap_mailbox.url(),
        BOOKING_IMAP_POLL_SECONDS="3600",  # only IDLE can bring the message in within the test
    )
    upgraded = subprocess.run([BOOKING, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120)
    assert upgraded.returncode == 0, upgraded.stderr
    proc = subprocess.Popen(
        [BOOKING, "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        if not _until("SELECT count(*) FROM imap_mailboxes WHERE last_ok_at IS NOT NULL", url):
            proc.kill()
            raise AssertionError(f"no catch-up poll: {proc.communicate()}")
        imap_mailbox.append(mail(sender="someone@unknown.example").as_bytes())
        assert _until("SELECT count(*) FROM requests WHERE channel = 'email'", url) == 1
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert "booking worker: stopped" in stdout and "Traceback" not in stderr
    assert all("\\Seen" in flags for flags in imap_mailbox.flags().values())
