"""Messages ingested per second through the real SMTP gateway (issue 15).

Starts ``booking mail-gateway``'s server (aiosmtpd) on a free loopback port against a migrated
database with 50 customers, then sends N messages with smtplib: 70 % new requests from known
customers, 20 % replies threaded on an earlier message, 10 % from unknown senders (triage). Each
message is answered 250 only once it is committed (request, thread row, outbox rows), so the figure
is end-to-end: SMTP dialogue, parsing, matching, threading, the write transaction. The outbox is
not drained inline (``BOOKING_OUTBOX_INLINE=false``): sending acknowledgements is the worker's job.

Usage: python bench/mail_ingest.py [--messages 500] [--connections 1] [--database-url URL] [--imap]
(``--imap``: then the same mix through IMAP, Dovecot and the worker's poller: bench/imap_ingest.py.)
"""

from __future__ import annotations

import argparse
import random
import smtplib
import socket
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from booking import create_app
from booking.extensions import db
from booking.inbound.gateway import build_controller
from booking.inbound.models import RequestMessage
from booking.models import Agent, Customer, CustomerEmail
from booking.models_requests import SupportRequest

SUPPORT = "support@bench.example"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed() -> None:
    agent = Agent(slug="camille", name="Camille", email="c@example.com", phone="+33140000001", timezone="Europe/Paris")
    db.session.add(agent)
    db.session.flush()
    for i in range(50):
        customer = Customer(name=f"C{i}", plan="all-inclusive", dedicated_support=True, agent_id=agent.id)
        customer.emails.append(CustomerEmail(email=f"it@c{i}.example"))
        db.session.add(customer)
    db.session.commit()


def messages(n: int, offset: int, rng: random.Random) -> list[EmailMessage]:
    out: list[EmailMessage] = []
    ids: dict[int, str] = {}
    for i in range(offset, offset + n):
        msg = EmailMessage()
        kind = rng.random()
        sender = f"it@c{rng.randrange(50)}.example" if kind < 0.9 else f"someone{i}@unknown.example"
        msg["From"] = sender
        msg["To"] = SUPPORT
        ids[i] = msg["Message-ID"] = f"<bench.{i}@{sender.split('@')[1]}>"
        if 0.7 <= kind < 0.9 and i > offset:
            earlier = rng.randrange(offset, i)
            msg["Subject"] = f"Re: problem {earlier}"
            msg["In-Reply-To"] = ids[earlier]
        else:
            msg["Subject"] = f"[S{rng.randrange(1, 6)}] problem {i}"
        msg.set_content(f"Hello,\n\nproblem number {i}: the export fails.\n\nOn Monday, someone wrote:\n> old\n")
        out.append(msg)
    return out


def send_all(port: int, batch: list[EmailMessage]) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for msg in batch:
            client.send_message(msg)


def prepared_app(database_url: str | None) -> Flask:
    """An app on a migrated, seeded database (SQLite in a temp folder unless a URL is given)."""
    folder = Path(tempfile.mkdtemp())
    url = database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    env = {
        "BOOKING_DATABASE_URL": url,
        "BOOKING_INSTANCE_PATH": str(folder),
        "BOOKING_SUPPORT_EMAIL": SUPPORT,
        "BOOKING_OUTBOX_INLINE": "false",
        "BOOKING_SCHEDULER": "off",
    }
    app = create_app({"TESTING": True}, env=env)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        seed()
        db.session.remove()
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--database-url")
    parser.add_argument("--imap", action="store_true", help="then the same mix through IMAP (bench/imap_ingest.py)")
    args = parser.parse_args()
    app = prepared_app(args.database_url)
    port = free_port()
    controller = build_controller(app, "127.0.0.1", port)
    controller.start()
    rng = random.Random(15)
    per = args.messages // args.connections
    batches = [messages(per, c * per, rng) for c in range(args.connections)]
    send_all(port, messages(20, 10**6, rng))  # warm-up (imports, first connection, caches)
    threads = [threading.Thread(target=send_all, args=(port, b)) for b in batches]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    controller.stop()
    with app.app_context():
        stored = db.session.scalar(
            select(func.count()).select_from(RequestMessage).where(RequestMessage.direction == "in")
        )
        requests = db.session.scalar(select(func.count()).select_from(SupportRequest))
        dialect = db.engine.dialect.name
    sent = per * args.connections
    print(
        f"{sent} messages through SMTP on {dialect}, {args.connections} connection(s): "
        f"{sent / elapsed:.0f} messages/s ({elapsed * 1000 / sent:.1f} ms each); "
        f"{stored} stored (20 warm-up), {requests} requests"
    )
    if args.imap:
        from imap_ingest import measure

        rng = random.Random(15)
        print(measure(prepared_app(args.database_url), messages(sent, 0, rng), warm_up=messages(20, 10**6, rng)))


if __name__ == "__main__":
    main()
