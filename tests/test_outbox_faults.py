"""Fault test: two worker processes drain 300 queued side effects; one is SIGKILLed mid-dispatch.

Every item must still be delivered, counted where it lands (the local Twilio REST stand-in and the
aiosmtpd sink), and duplicates stay within the documented window: at most one per killed worker per
lane (the one row it was sending when it died, retried once its lease ran out).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from booking.extensions import db
from booking.models import Agent, Call, OutboxMessage
from booking.services import outbox
from tests.conftest import base_env

ROOT = Path(__file__).resolve().parents[1]
SMS_ITEMS = 150
MAIL_ITEMS = 150
LEASE_SECONDS = 2


@pytest.fixture
def env_overrides(smtp_sink, fake_twilio):
    return {"BOOKING_SMTP_URL": smtp_sink.url, **fake_twilio.env()}


def _queue(app, make_agent) -> None:
    """150 on-call pages (SMS) and 150 sign-in mails, each its own outbox row."""
    slug = make_agent(phone="+33140000001", email="oncall@vendor.example")["slug"]
    agent = db.session.query(Agent).filter_by(slug=slug).one()
    agent.sign_in_nonce = "nonce-fault-test"
    now = datetime.now(UTC)
    for n in range(SMS_ITEMS):
        db.session.add(Call(call_sid=f"CA{n:032d}", from_number=f"+3361200{n:04d}", received_at=now, severity=1))
    db.session.commit()
    for n in range(SMS_ITEMS):
        payload = {"agent_id": agent.id, "call_sid": f"CA{n:032d}", "due_at": now.isoformat()}
        outbox.emit(db.session, "phone.critical", payload, f"fault-sms-{n}", now)
    for n in range(MAIL_ITEMS):
        payload = {
            "agent_id": agent.id,
            "nonce": "nonce-fault-test",
            "issued_at": now.isoformat(),
            "base_url": "http://booking.test",
            "locale": "en",
        }
        outbox.emit(db.session, "agent.sign_in_requested", payload, f"fault-mail-{n}", now)
    db.session.commit()
    assert db.session.query(OutboxMessage).filter_by(status="pending").count() == SMS_ITEMS + MAIL_ITEMS


def _worker(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    code = "import sys; from booking.cli import main; sys.argv = ['booking', *sys.argv[1:]]; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "outbox", "drain", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_two_workers_one_killed_mid_dispatch_deliver_everything_with_bounded_duplicates(
    app, database_url, tmp_path, make_agent, fake_twilio, smtp_sink
):
    _queue(app, make_agent)
    fake_twilio.latency_seconds = 0.01  # the killed worker is very likely inside a send
    env = base_env(
        database_url,
        tmp_path,
        BOOKING_SMTP_URL=smtp_sink.url,
        BOOKING_OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS),
        **fake_twilio.env(),
    )
    doomed = _worker(env, "--lane", "sms")
    survivors = [_worker(env, "--lane", "sms", "--wait", "60"), _worker(env, "--lane", "email", "--wait", "60")]
    deadline = time.monotonic() + 60
    while len(fake_twilio.messages) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    for worker in survivors:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, (out, err)

    sms = Counter(message.body for message in fake_twilio.messages)
    assert len(sms) == SMS_ITEMS  # every page delivered
    assert sum(sms.values()) - len(sms) <= 1  # at most the one the killed worker was sending
    mail_ids = Counter(str(message["Message-ID"]) for message in smtp_sink.to("oncall@vendor.example"))
    assert len(mail_ids) == MAIL_ITEMS
    assert sum(mail_ids.values()) == MAIL_ITEMS  # nobody died in the e-mail lane: no duplicate at all
    db.session.rollback()  # a fresh snapshot (SQLite keeps the old one while a read is open)
    assert db.session.query(OutboxMessage).filter(OutboxMessage.status != "done").count() == 0
