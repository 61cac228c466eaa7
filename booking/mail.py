"""Outgoing e-mail behind a small Protocol: real SMTP when ``BOOKING_SMTP_URL`` is set, a logging
sender otherwise (development), so no code path needs to know which one it has.

``BOOKING_SMTP_URL`` forms: ``smtp://host:25``, ``smtp+starttls://user:pass@host:587``,
``smtps://user:pass@host:465``. Messages are sent from outbox handlers, after the commit.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Protocol
from urllib.parse import unquote, urlsplit

from booking.text import one_line

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "text"
    subtype: str = "calendar"
    params: dict[str, str] = field(default_factory=dict)  # e.g. {"method": "REQUEST"}


@dataclass(frozen=True)
class Mail:
    to: Sequence[str]
    subject: str
    text: str
    html: str | None = None
    attachments: Sequence[Attachment] = ()
    cc: Sequence[str] = ()
    reply_to: str | None = None
    from_name: str | None = None
    message_id: str | None = None  # stable per outbox row, so a duplicate delivery is recognisable
    #: the From address when not the configured sender (e-mail requests are answered from BOOKING_SUPPORT_EMAIL)
    from_address: str | None = None
    #: extra headers (threading: In-Reply-To, References; Auto-Submitted on an acknowledgement)
    headers: Mapping[str, str] = field(default_factory=dict)


class Mailer(Protocol):
    def send(self, mail: Mail) -> str:
        """Send and return the Message-ID; raise on failure so the outbox retries."""


def build_message(mail: Mail, sender: str) -> EmailMessage:
    """A multipart/alternative text + HTML message; calendar parts also inline for clients that want it."""
    msg = EmailMessage()
    sender = mail.from_address or sender
    # Headers are normalised to one line (booking.text): a name with U+2028 or any control character
    # that slipped past the entry checks must not make this message fail on every retry.
    from_name = one_line(mail.from_name) if mail.from_name else None
    msg["From"] = formataddr((from_name, sender)) if from_name else sender
    msg["To"] = ", ".join(one_line(a) for a in mail.to)
    if mail.cc:
        msg["Cc"] = ", ".join(one_line(a) for a in mail.cc)
    if mail.reply_to:
        msg["Reply-To"] = one_line(mail.reply_to)
    msg["Subject"] = one_line(mail.subject)
    domain = sender.rsplit("@", 1)[-1] or "booking"
    msg["Message-ID"] = mail.message_id or make_msgid(domain=domain)
    for header, value in mail.headers.items():
        msg[header] = one_line(value)
    msg.set_content(mail.text)
    if mail.html:
        msg.add_alternative(mail.html, subtype="html")
    for att in mail.attachments:
        params = dict(att.params)
        if att.maintype == "text":
            # Without a charset a standard MIME decoder reads the bytes as ASCII/Latin-1 and garbles
            # accented names (issue 10 item 12); everything the service builds is UTF-8.
            params.setdefault("charset", "utf-8")
        msg.add_attachment(
            att.content, maintype=att.maintype, subtype=att.subtype, filename=att.filename, params=params
        )
    return msg


class SmtpMailer:
    """Plain SMTP, SMTPS or STARTTLS, with optional login; a fresh connection per message."""

    def __init__(self, url: str, sender: str, timeout: float = 15.0) -> None:
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.host = parts.hostname or "localhost"
        self.port = parts.port or {"smtps": 465, "smtp+starttls": 587}.get(parts.scheme, 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.timeout = timeout

    def send(self, mail: Mail) -> str:
        msg = build_message(mail, self.sender)
        if self.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(msg)
        return str(msg["Message-ID"])


class LoggingMailer:
    """Development sender: logs the message instead of sending it, and keeps it for inspection."""

    def __init__(self, sender: str) -> None:
        self.sender = sender
        self.sent: list[EmailMessage] = []

    def send(self, mail: Mail) -> str:
        msg = build_message(mail, self.sender)
        self.sent.append(msg)
        # The whole text is logged: in development this is how a sign-in link or a manage link is read.
        log.info("mail (BOOKING_SMTP_URL unset, not sent) to %s: %s\n%s", msg["To"], msg["Subject"], mail.text)
        return str(msg["Message-ID"])


def mailer_for(smtp_url: str | None, sender: str) -> Mailer:
    return SmtpMailer(smtp_url, sender) if smtp_url else LoggingMailer(sender)
