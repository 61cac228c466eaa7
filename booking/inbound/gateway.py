"""``booking mail-gateway``: an SMTP server (aiosmtpd) that turns mail to BOOKING_SUPPORT_EMAIL into requests.

For operators who point a forward or an MX at the service. It refuses every other recipient with
550 at RCPT (so nothing is accepted that nobody would read), refuses messages over
BOOKING_MAIL_MAX_BYTES with 552 (announced in EHLO as SIZE, checked on MAIL FROM and on DATA), and
offers STARTTLS when BOOKING_MAIL_GATEWAY_CERT / _KEY are set. Each message is ingested
(``inbound.ingest.ingest_message``) BEFORE the 250 is answered: a failure answers 451, so the
sending MTA keeps the message and retries - an accepted message is never lost, and a retried one
is recognised by its Message-ID. The envelope sender becomes ``Return-Path`` as a final MTA would
write it (``<>`` for a bounce), which is what the no-auto-reply rules read.

Ingestion runs in one of ``INGEST_THREADS`` worker threads (``run_in_executor``), each with its own
app context and session, so a slow database holds one connection, not the whole server, and the
gateway never holds more than that many connections (docs/deploy.md, "Connection budget").
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from flask import Flask

from booking import clock
from booking.config import Settings

log = logging.getLogger(__name__)

#: Messages ingested at once (each holds one database connection while it is stored).
INGEST_THREADS = 4


def _settings(app: Flask) -> Settings:
    settings: Settings = app.extensions["booking.settings"]
    return settings


@dataclass
class SupportHandler:
    """aiosmtpd handler: RCPT policy and DATA ingestion; ``ingested`` counts messages (the benchmark)."""

    app: Flask
    ingested: int = 0
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=INGEST_THREADS, thread_name_prefix="mail-ingest")
    )

    @property
    def address(self) -> str:
        return (_settings(self.app).support_email or "").lower()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if not self.address or address.strip().lower() != self.address:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")
        if len(raw) > _settings(self.app).mail_max_bytes:
            return "552 5.3.4 Message too big"
        sender = (envelope.mail_from or "").strip().strip("<>")  # aiosmtpd keeps "<>" for a null sender
        raw = f"Return-Path: <{sender}>\r\n".encode() + raw
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.executor, self._ingest, raw)
        except Exception:
            log.exception("mail-gateway: could not store a message from %r; answered 451 (the sender retries)", sender)
            return "451 4.3.0 Could not store the message now, please retry"
        self.ingested += 1
        return "250 2.0.0 Message accepted"

    def _ingest(self, raw: bytes) -> None:
        from booking import wiring
        from booking.extensions import db, remove_session
        from booking.inbound.ingest import ingest_message

        with self.app.app_context():
            try:
                result = ingest_message(db.session, _settings(self.app), raw, clock.now(), source="smtp")
                ids = list(result.outbox_ids)
            finally:
                remove_session()
            # After the commit, as a web request does: the acknowledgement goes out now when it can
            # (the worker's outbox job retries whatever fails). Never fails the SMTP answer.
            try:
                wiring.drain_now(self.app, ids)
            except Exception:
                log.exception("mail-gateway: inline outbox drain failed; the worker retries")
            finally:
                remove_session()


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    if not settings.mail_gateway_cert or not settings.mail_gateway_key:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.mail_gateway_cert, settings.mail_gateway_key)
    return context


def build_controller(app: Flask, host: str = "127.0.0.1", port: int = 2525) -> Controller:
    """The gateway, not yet started (``.start()`` runs it in a thread; ``.stop()`` ends it)."""
    settings = _settings(app)
    if not settings.support_email:
        raise ValueError("BOOKING_SUPPORT_EMAIL is not set: the mail gateway has no address to accept mail for")
    kwargs: dict[str, Any] = {"data_size_limit": settings.mail_max_bytes, "ident": "booking mail-gateway"}
    context = tls_context(settings)
    if context is not None:
        kwargs["tls_context"] = context
    return Controller(SupportHandler(app), hostname=host, port=port, **kwargs)
