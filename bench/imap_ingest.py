"""Messages ingested per second through real IMAP (issue 15): Dovecot and the worker's poller.

The same message mix as ``bench/mail_ingest.py`` (70 % new requests from known customers, 20 %
threaded replies, 10 % unknown senders) is APPENDed to a Dovecot mailbox (tests/fixtures/dovecot.py:
Debian's packages extracted by ``.ci/run``; needs root), then timed: the worker's poll, one call after
another as its job would run them (``BATCH`` messages per poll), until the mailbox has nothing unseen.
Each message is UID FETCHed, ingested in its own transaction, recorded in ``imap_seen`` and flagged
``\\Seen`` after the commit, so the figure is end to end over a loopback IMAP connection.

Usage: python bench/imap_ingest.py [--messages 500] [--database-url URL]
(``python bench/mail_ingest.py --imap`` prints this figure after the SMTP one.)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.fixtures.dovecot

from booking.extensions import db
from booking.inbound.imap_poll import imap_ingest, poll_mailbox
from booking.inbound.imap_url import parse_imap_url
from tests.fixtures.dovecot import DovecotMailbox, start_dovecot

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 10:00 Paris: business hours


def measure(app: Any, batch: list[EmailMessage], warm_up: list[EmailMessage] | None = None) -> str:
    """Append ``batch`` to a fresh Dovecot mailbox and time the poller through it; one line.

    ``warm_up`` messages are polled first, untimed (imports, first connection, caches).
    """
    folder = Path(tempfile.mkdtemp(prefix="bench-dovecot-"))
    folder.chmod(0o755)
    try:
        try:
            server = start_dovecot(folder)
        except FileNotFoundError as exc:
            return f"IMAP: skipped, no Dovecot ({exc})"
        try:
            server.add_user("bench", "bench")
            mailbox = DovecotMailbox(server, "bench", "bench")
            with app.app_context():
                settings = replace(app.extensions["booking.settings"], imap=parse_imap_url(mailbox.url()))
                _append(mailbox, warm_up or [])
                poll_mailbox(db.session, settings, NOW)
                _append(mailbox, batch)
                imported, polls = 0, 0
                in_ingest = [0.0]

                def timed_ingest(*args: Any) -> object:
                    began = time.perf_counter()
                    try:
                        return imap_ingest(*args)
                    finally:
                        in_ingest[0] += time.perf_counter() - began

                t0 = time.perf_counter()
                while True:
                    result = poll_mailbox(db.session, settings, NOW, ingest=timed_ingest)
                    assert result.status == "ok", result
                    polls += 1
                    imported += result.imported
                    if not result.imported:
                        break
                elapsed = time.perf_counter() - t0
                dialect = db.engine.dialect.name
                db.session.remove()
            return (
                f"{imported} messages through IMAP (Dovecot, loopback) on {dialect}, {polls} polls: "
                f"{imported / elapsed:.0f} messages/s ({elapsed * 1000 / max(imported, 1):.1f} ms each, of which "
                f"{in_ingest[0] * 1000 / max(imported, 1):.1f} ms in ingest_message)"
            )
        finally:
            server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _append(mailbox: DovecotMailbox, batch: list[EmailMessage]) -> None:
    conn = mailbox.connect()
    for msg in batch:
        assert conn.append("INBOX", None, None, msg.as_bytes())[0] == "OK"
    conn.logout()


def main() -> None:
    import random

    from mail_ingest import messages, prepared_app  # type: ignore[import-not-found]

    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    app = prepared_app(args.database_url)
    rng = random.Random(15)
    print(measure(app, messages(args.messages, 0, rng), warm_up=messages(20, 10**6, rng)))


if __name__ == "__main__":
    main()
