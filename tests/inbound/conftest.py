"""Fixtures for the e-mail channel: the real SMTP gateway on a free port, an SMTP sink for what we
send, and a customer with a dedicated agent. Mail is sent with smtplib, as an MTA would."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import pytest

from booking.extensions import db
from booking.inbound.gateway import build_controller
from tests.dashboard.conftest import client  # noqa: F401  (a fresh ``g`` per request, as in production)
from tests.fixtures.smtp import SmtpSink, _free_port

SUPPORT = "support@help.example"
AGENT_EMAIL = "camille@example.com"


@pytest.fixture
def env_overrides(smtp_sink: SmtpSink) -> dict[str, str]:
    return {
        "BOOKING_SUPPORT_EMAIL": SUPPORT,
        "BOOKING_SMTP_URL": smtp_sink.url,
        "BOOKING_MAIL_FROM": "booking@help.example",
        "BOOKING_MAIL_MAX_BYTES": str(200_000),
        "BOOKING_MAIL_ATTACHMENT_MAX_BYTES": str(1000),
        "BOOKING_TRIAGE_EMAIL": "triage@help.example",
    }


@pytest.fixture
def people(make_agent: Callable[..., dict[str, Any]], make_customer: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    agent = make_agent(slug="camille", name="Camille Martin", email=AGENT_EMAIL)
    acme = make_customer(agent["slug"], name="Acme SA", emails=["alice@acme.example"])
    beta = make_customer(agent["slug"], name="Beta SARL", emails=["@beta.example"])
    return {"agent": agent, "acme": acme, "beta": beta}


@pytest.fixture
def gateway(app: Any) -> Iterator[tuple[str, int]]:
    port = _free_port()
    controller = build_controller(app, "127.0.0.1", port)
    controller.start()
    try:
        yield ("127.0.0.1", port)
    finally:
        controller.stop()


def mail(
    sender: str = "alice@acme.example",
    subject: str = "The export fails",
    text: str = "Hello,\nthe nightly export fails since yesterday.\n",
    *,
    message_id: str | None = "<m1@acme.example>",
    to: str = SUPPORT,
    date: datetime | None = None,
    **headers: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    if date is not None:
        msg["Date"] = format_datetime(date)
    msg.set_content(text)  # before the extra headers: it drops Content-* headers set earlier
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    return msg


@pytest.fixture
def send(gateway: tuple[str, int]) -> Callable[..., dict[str, tuple[int, bytes]]]:
    """``send(msg, envelope_from=...)`` through the gateway; returns smtplib's refused recipients."""

    def deliver(msg: EmailMessage, envelope_from: str | None = None, rcpt: list[str] | None = None) -> Any:
        host, port = gateway
        with smtplib.SMTP(host, port, timeout=10) as smtp:
            sender = envelope_from if envelope_from is not None else str(msg["From"])
            return smtp.send_message(msg, from_addr=sender, to_addrs=rcpt or [str(msg["To"])])

    return deliver


def fresh() -> Any:
    """End the test's read transaction so it sees what the gateway's threads committed."""
    db.session.rollback()
    return db.session
