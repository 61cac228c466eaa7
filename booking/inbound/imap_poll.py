"""Poll the support mailbox (``BOOKING_IMAP_URL``): each unseen message goes to the ingest once.

One poll: connect (TLS as the URL says, timeouts), SELECT the folder, ``UID SEARCH UNSEEN``, and for
each UID not yet in ``imap_seen`` (for this UIDVALIDITY): ``UID FETCH BODY.PEEK[]`` (PEEK: fetching
does not set ``\\Seen``; 25 bodies a round trip), hand the bytes to the ingest, record the UID and
commit; only then, one ``UID STORE +FLAGS (\\Seen)`` for the poll's messages. Every write goes
through ``write_transaction`` (BEGIN IMMEDIATE on SQLite, where the worker's other jobs write
too). A crash between the commit and the STORE leaves the message unseen but recorded: the next
poll only marks it. A crash before the commit re-fetches it, and the ingest's Message-ID
idempotency keeps that from making a second request. A new UIDVALIDITY (folder restored or
re-created: every UID renumbered) drops the old UIDs and re-reads what is unseen, the Message-IDs
again keeping copies out.

A broken mailbox (wrong password, server down, TLS failure) is logged, recorded on the mailbox row
(``/metrics`` reads it) and retried with back-off; it never raises into the worker. The worker runs
this as the job ``inbound.imap_poll`` (one run at a time across workers: ``booking.jobs``), every
``BOOKING_IMAP_POLL_SECONDS`` and whenever the IDLE watcher (``imap_idle``) hears of new mail.
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking.config import Settings
from booking.db_guards import write_transaction
from booking.inbound.imap_url import ImapTarget
from booking.models_imap import INGESTED, TOO_LARGE, ImapMailbox, ImapSeen

log = logging.getLogger(__name__)

__all__ = ["Ingest", "PollResult", "connect", "imap_ingest", "poll_mailbox", "quoted"]

#: ``ingest(session, settings, raw, now)``: commits what it creates; idempotent by Message-ID
Ingest = Callable[[Session, Settings, bytes, datetime], object]

MAX_BACKOFF = timedelta(hours=1)
BATCH = 200  # messages per poll at most: a flooded mailbox is worked through over several polls
FETCH_MESSAGES = 25  # bodies per UID FETCH round trip ...
FETCH_BYTES = 8 * 1024 * 1024  # ... and about this many bytes


@dataclass
class PollResult:
    """What one poll did: ``status`` is ok, failed, backing_off or off (no mailbox configured)."""

    status: str
    imported: int = 0
    marked: int = 0  # unseen but already imported (the STORE had not happened): only marked \Seen
    failed: int = 0  # messages whose ingest raised (left unseen, tried again next poll)
    too_large: int = 0  # over BOOKING_MAIL_MAX_BYTES: recorded, never fetched, left unseen
    error: str | None = None
    uids: list[int] = field(default_factory=list)


def quoted(folder: str) -> str:
    """An IMAP quoted string (the URL parser refused quotes, backslashes and line breaks)."""
    return f'"{folder}"'


def connect(target: ImapTarget, *, timeout: float, cafile: str | None = None) -> imaplib.IMAP4:
    """A logged-in connection; raises ``imaplib.IMAP4.error`` or ``OSError`` (TLS included)."""
    context = ssl.create_default_context(cafile=cafile)
    conn: imaplib.IMAP4
    if target.tls == "ssl":
        conn = imaplib.IMAP4_SSL(target.host, target.port, ssl_context=context, timeout=timeout)
    else:
        conn = imaplib.IMAP4(target.host, target.port, timeout=timeout)
        if target.tls == "starttls":
            conn.starttls(ssl_context=context)
    try:
        conn.login(target.user, target.password)
    except BaseException:
        conn.shutdown()
        raise
    return conn


def _mailbox(session: Session, key: str) -> ImapMailbox:
    row = session.scalar(select(ImapMailbox).where(ImapMailbox.key == key))
    if row is not None:
        return row
    try:
        with write_transaction(session):
            session.add(ImapMailbox(key=key, failures=0, imported=0))
    except IntegrityError:  # another worker created it first
        pass
    return session.scalars(select(ImapMailbox).where(ImapMailbox.key == key)).one()


def _check(typ: str, data: list[Any], what: str) -> list[Any]:
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{what} failed: {data!r}"[:300])
    return data


def _uidvalidity(conn: imaplib.IMAP4) -> int:
    _, data = conn.response("UIDVALIDITY")
    value = data[0] if data else None
    if not isinstance(value, bytes) or not value.strip().isdigit():
        raise imaplib.IMAP4.error("the server sent no UIDVALIDITY on SELECT")
    return int(value)


def _fetch(conn: imaplib.IMAP4, uids: list[int]) -> dict[int, bytes]:
    """UID -> raw bytes for a chunk of UIDs (a UID expunged meanwhile is simply absent)."""
    if not uids:
        return {}
    data = _check(*conn.uid("FETCH", ",".join(map(str, uids)), "(BODY.PEEK[])"), "UID FETCH BODY.PEEK[]")
    bodies: dict[int, bytes] = {}
    for i, part in enumerate(data):
        if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
            after = data[i + 1] if i + 1 < len(data) and isinstance(data[i + 1], bytes) else b""
            uid = re.search(rb"UID (\d+)", part[0]) or re.search(rb"UID (\d+)", after)  # either side of the body
            if uid:
                bodies[int(uid.group(1))] = part[1]
    return bodies


def _sizes(conn: imaplib.IMAP4, uids: list[int]) -> dict[int, int]:
    """RFC822.SIZE of each UID, so an oversized message is never downloaded."""
    if not uids:
        return {}
    data = _check(*conn.uid("FETCH", ",".join(map(str, uids)), "(RFC822.SIZE)"), "UID FETCH RFC822.SIZE")
    sizes: dict[int, int] = {}
    for line in data:
        text = line if isinstance(line, bytes) else b""
        uid, size = re.search(rb"UID (\d+)", text), re.search(rb"RFC822\.SIZE (\d+)", text)
        if uid and size:
            sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _message_id(raw: bytes) -> str | None:
    value = BytesHeaderParser().parsebytes(raw).get("Message-ID")
    return str(value).strip()[:998] or None if value else None


def _mark_seen(conn: imaplib.IMAP4, uids: list[int]) -> None:
    if uids:
        _check(*conn.uid("STORE", ",".join(map(str, uids)), "+FLAGS.SILENT", r"(\Seen)"), "UID STORE")


def _select(session: Session, conn: imaplib.IMAP4, box: ImapMailbox, folder: str) -> int:
    """SELECT the folder; a new UIDVALIDITY forgets the old UIDs (they name other messages now)."""
    _check(*conn.select(quoted(folder)), f"SELECT {folder}")
    validity = _uidvalidity(conn)
    if box.uidvalidity is not None and box.uidvalidity != validity:
        log.warning(
            "IMAP %s: UIDVALIDITY changed %s -> %s; re-reading unseen messages (Message-IDs keep copies out)",
            box.key,
            box.uidvalidity,
            validity,
        )
    with write_transaction(session):
        if box.uidvalidity != validity:
            session.execute(delete(ImapSeen).where(ImapSeen.mailbox_id == box.id))
            box.uidvalidity = validity
    return validity


def _chunks(uids: list[int], sizes: dict[int, int]) -> list[list[int]]:
    """UIDs to FETCH together: at most FETCH_MESSAGES and about FETCH_BYTES per round trip."""
    chunks: list[list[int]] = []
    total = 0
    for uid in uids:
        if not chunks or len(chunks[-1]) >= FETCH_MESSAGES or total + sizes.get(uid, 0) > FETCH_BYTES:
            chunks.append([])
            total = 0
        chunks[-1].append(uid)
        total += sizes.get(uid, 0)
    return chunks


def _work(
    session: Session, settings: Settings, conn: imaplib.IMAP4, box: ImapMailbox, ingest: Ingest, now: datetime
) -> PollResult:
    assert settings.imap is not None
    validity = _select(session, conn, box, settings.imap.folder)
    data = _check(*conn.uid("SEARCH", "UNSEEN"), "UID SEARCH UNSEEN")
    unseen = sorted(int(u) for u in (data[0] or b"").split()) if isinstance(data[0], bytes) else []
    recorded = select(ImapSeen.uid, ImapSeen.outcome).where(
        ImapSeen.mailbox_id == box.id, ImapSeen.uidvalidity == validity
    )
    known: dict[int, str] = {uid: outcome for uid, outcome in session.execute(recorded).all()}
    stale = [u for u in unseen if known.get(u) == INGESTED]  # imported, but the STORE never happened
    _mark_seen(conn, stale)
    result = PollResult("ok", marked=len(stale))
    todo = [u for u in unseen if u not in known][:BATCH]
    sizes = _sizes(conn, todo)
    for uid in [u for u in todo if sizes.get(u, 0) > settings.mail_max_bytes]:
        log.warning(
            "IMAP %s: UID %s is %d bytes, over BOOKING_MAIL_MAX_BYTES=%d; left unseen for a person to read",
            box.key,
            uid,
            sizes[uid],
            settings.mail_max_bytes,
        )
        with write_transaction(session):
            session.add(ImapSeen(mailbox_id=box.id, uidvalidity=validity, uid=uid, outcome=TOO_LARGE))
        result.too_large += 1
    wanted = [u for u in todo if sizes.get(u, 0) <= settings.mail_max_bytes]
    try:
        for chunk in _chunks(wanted, sizes):
            bodies = _fetch(conn, chunk)
            for uid in chunk:
                if uid in bodies and _import(session, settings, box, validity, uid, bodies[uid], ingest, now):
                    result.imported += 1
                    result.uids.append(uid)
                elif uid in bodies:
                    result.failed += 1
    finally:
        # After the commits: a message is seen only once it is a request. One STORE for the poll; if
        # the connection breaks first, the next poll finds these recorded and only marks them.
        _mark_seen(conn, result.uids)
    return result


def _import(
    session: Session,
    settings: Settings,
    box: ImapMailbox,
    validity: int,
    uid: int,
    raw: bytes,
    ingest: Ingest,
    now: datetime,
) -> bool:
    """Ingest one message and record its UID; False (logged, rolled back) when the ingest raised.

    A UID recorded meanwhile by another poll (two workers past the job lock: a lock lost with its
    connection) is not an error: that poll imported it too, and the Message-ID made it one request.
    """
    try:
        ingest(session, settings, raw, now)
    except Exception:
        session.rollback()
        log.exception("IMAP %s: ingesting UID %s failed; left unseen, tried again next poll", box.key, uid)
        return False
    mid = _message_id(raw)
    try:
        with write_transaction(session):
            session.add(ImapSeen(mailbox_id=box.id, uidvalidity=validity, uid=uid, message_id=mid, outcome=INGESTED))
            box.imported += 1
    except IntegrityError:
        log.info("IMAP %s: UID %s was recorded by another poll meanwhile", box.key, uid)
    return True


def _backoff(settings: Settings, failures: int) -> timedelta:
    """Poll interval, doubled per consecutive failure, at most an hour."""
    return min(timedelta(seconds=settings.imap_poll_seconds * 2 ** min(failures - 1, 16)), MAX_BACKOFF)


def imap_ingest(session: Session, settings: Settings, raw: bytes, now: datetime) -> object:
    """The e-mail channel's one ingestion service, as the IMAP path calls it."""
    from booking.inbound.ingest import ingest_message

    return ingest_message(session, settings, raw, now, source="imap")


def poll_mailbox(session: Session, settings: Settings, now: datetime, *, ingest: Ingest = imap_ingest) -> PollResult:
    """One poll of ``settings.imap``; never raises for the mailbox's own failures (see module doc)."""
    target = settings.imap
    if target is None:
        return PollResult("off")
    box = _mailbox(session, target.key)
    if box.next_attempt_at is not None and now < box.next_attempt_at:
        return PollResult("backing_off", error=box.last_error)
    with write_transaction(session):
        box.last_poll_at = now
    try:
        conn = connect(target, timeout=settings.imap_timeout_seconds, cafile=settings.imap_cafile)
    except (imaplib.IMAP4.error, OSError) as exc:
        return _failed(session, settings, box, now, exc)
    try:
        result = _work(session, settings, conn, box, ingest, now)
    except (imaplib.IMAP4.error, OSError) as exc:
        session.rollback()
        return _failed(session, settings, box, now, exc)
    finally:
        _close(conn)
    with write_transaction(session):
        box.failures, box.last_error, box.next_attempt_at, box.last_ok_at = 0, None, None, now
    if result.imported or result.failed:
        log.info("IMAP %s: %d imported, %d failed", box.key, result.imported, result.failed)
    return result


def _close(conn: imaplib.IMAP4) -> None:
    try:
        conn.logout()
    except (imaplib.IMAP4.error, OSError):
        conn.shutdown()


_SECRET = re.compile(r"(?i)(pass(word)?\W+)\S+")


def _failed(session: Session, settings: Settings, box: ImapMailbox, now: datetime, exc: BaseException) -> PollResult:
    error = _SECRET.sub(r"\1***", f"{type(exc).__name__}: {exc}")[:500]
    with write_transaction(session):
        box.failures += 1
        box.last_error = error
        box.next_attempt_at = now + _backoff(settings, box.failures)
    log.warning(
        "IMAP %s: poll failed (%s); failure %d in a row, next attempt at %s",
        box.key,
        error,
        box.failures,
        box.next_attempt_at.isoformat(),
    )
    return PollResult("failed", error=error)
