"""The IMAP poller against a real Dovecot (tests/fixtures/dovecot.py): messages APPENDed over IMAP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from booking.config import Settings
from booking.extensions import db
from booking.inbound.imap_poll import poll_mailbox
from booking.inbound.imap_url import parse_imap_url
from booking.models_imap import ImapMailbox, ImapSeen
from tests.fixtures.dovecot import *  # noqa: F403  (the dovecot_server / imap_mailbox fixtures)
from tests.fixtures.dovecot import DovecotMailbox as Mailbox

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def message(n: int, *, message_id: str | None = None, subject: str = "Printer down") -> bytes:
    mid = message_id or f"<m{n}.{id(object())}@customer.example>"
    return (
        f"From: Alice <alice@customer.example>\r\nTo: support@booking.test\r\nSubject: {subject} {n}\r\n"
        f"Message-ID: {mid}\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\nIt does not print ({n}).\r\n"
    ).encode()


class Collect:
    """An ingest stand-in for the poller's own tests: keeps the raw bytes it was handed."""

    def __init__(self, fail: bool = False) -> None:
        self.raw: list[bytes] = []
        self.fail = fail

    def __call__(self, session: Any, settings: Settings, raw: bytes, now: datetime) -> None:
        if self.fail:
            raise RuntimeError("ingest broke")
        self.raw.append(raw)


@pytest.fixture
def env_overrides(imap_mailbox: Mailbox) -> dict[str, str]:
    return {"BOOKING_IMAP_URL": imap_mailbox.url(), "BOOKING_IMAP_TIMEOUT_SECONDS": "10"}


@pytest.fixture
def settings(app: Any) -> Iterator[Settings]:
    yield app.extensions["booking.settings"]


def test_an_appended_message_is_handed_over_once_and_marked_seen(app, settings, imap_mailbox):
    raw = message(1)
    uid = imap_mailbox.append(raw)
    ingest = Collect()

    result = poll_mailbox(db.session, settings, NOW, ingest=ingest)

    assert (result.status, result.imported, result.uids) == ("ok", 1, [uid])
    assert len(ingest.raw) == 1 and b"It does not print (1)." in ingest.raw[0]
    assert "\\Seen" in imap_mailbox.flags()[uid]
    seen = db.session.scalars(select(ImapSeen)).one()
    assert (seen.uid, seen.message_id) == (uid, raw.split(b"Message-ID: ")[1].split(b"\r\n")[0].decode())
    again = poll_mailbox(db.session, settings, NOW + timedelta(minutes=1), ingest=ingest)
    assert (again.status, again.imported, again.marked) == ("ok", 0, 0)
    assert len(ingest.raw) == 1
    box = db.session.scalars(select(ImapMailbox)).one()
    assert (box.imported, box.failures, box.last_ok_at) == (1, 0, NOW + timedelta(minutes=1))


def test_a_recorded_uid_that_lost_its_seen_flag_is_only_marked_again(app, settings, imap_mailbox):
    """The crash window between the commit and the STORE: the message is not imported twice."""
    uid = imap_mailbox.append(message(1))
    ingest = Collect()
    poll_mailbox(db.session, settings, NOW, ingest=ingest)
    conn = imap_mailbox.connect()
    conn.select("INBOX")
    conn.uid("STORE", str(uid), "-FLAGS", r"(\Seen)")
    conn.logout()
    assert "\\Seen" not in imap_mailbox.flags()[uid]

    result = poll_mailbox(db.session, settings, NOW, ingest=ingest)

    assert (result.imported, result.marked, len(ingest.raw)) == (0, 1, 1)
    assert "\\Seen" in imap_mailbox.flags()[uid]


def test_a_failing_ingest_leaves_the_message_unseen_for_the_next_poll(app, settings, imap_mailbox, caplog):
    uid = imap_mailbox.append(message(1))
    broken = poll_mailbox(db.session, settings, NOW, ingest=Collect(fail=True))
    assert (broken.status, broken.imported, broken.failed) == ("ok", 0, 1)
    assert "\\Seen" not in imap_mailbox.flags()[uid]
    assert "ingesting UID" in caplog.text
    assert db.session.scalars(select(ImapSeen)).all() == []

    ingest = Collect()
    fixed = poll_mailbox(db.session, settings, NOW, ingest=ingest)
    assert (fixed.imported, len(ingest.raw)) == (1, 1)


def test_several_messages_in_one_poll_each_once(app, settings, imap_mailbox):
    uids = [imap_mailbox.append(message(n)) for n in range(5)]
    ingest = Collect()
    assert poll_mailbox(db.session, settings, NOW, ingest=ingest).uids == uids
    assert sorted(raw.split(b"(")[-1][:1] for raw in ingest.raw) == [b"0", b"1", b"2", b"3", b"4"]
    assert all("\\Seen" in flags for flags in imap_mailbox.flags().values())


def test_a_new_uidvalidity_drops_the_old_uids_and_rereads_unseen_mail(app, settings, imap_mailbox, caplog):
    first = imap_mailbox.append(message(1))
    poll_mailbox(db.session, settings, NOW, ingest=Collect())
    # The stored state says the folder had another UIDVALIDITY (it was restored / re-created since):
    db.session.execute(update(ImapMailbox).values(uidvalidity=imap_mailbox.uidvalidity() - 1))
    db.session.commit()
    second = imap_mailbox.append(message(2))
    ingest = Collect()

    result = poll_mailbox(db.session, settings, NOW, ingest=ingest)

    assert "UIDVALIDITY changed" in caplog.text
    assert result.uids == [second]  # the first one is seen: only unseen mail is re-read
    box = db.session.scalars(select(ImapMailbox)).one()
    assert box.uidvalidity == imap_mailbox.uidvalidity()
    assert [s.uid for s in db.session.scalars(select(ImapSeen))] == [second]
    assert first != second


def test_a_wrong_password_is_logged_and_backed_off_never_raised(app, settings, imap_mailbox, caplog):
    wrong = replace(settings, imap=parse_imap_url(imap_mailbox.url(password="not-it")))
    imap_mailbox.append(message(1))

    result = poll_mailbox(db.session, wrong, NOW, ingest=Collect())

    assert result.status == "failed" and "AUTHENTICATIONFAILED" in (result.error or "")
    assert "poll failed" in caplog.text and "not-it" not in caplog.text
    box = db.session.scalars(select(ImapMailbox)).one()
    assert (box.failures, box.next_attempt_at) == (1, NOW + timedelta(seconds=60))
    assert poll_mailbox(db.session, wrong, NOW + timedelta(seconds=30), ingest=Collect()).status == "backing_off"
    assert poll_mailbox(db.session, wrong, NOW + timedelta(seconds=60), ingest=Collect()).status == "failed"
    db.session.refresh(box)
    assert (box.failures, box.next_attempt_at) == (2, NOW + timedelta(seconds=180))  # 60 s, then 120 s

    ingest = Collect()
    healed = poll_mailbox(db.session, settings, NOW + timedelta(seconds=180), ingest=ingest)
    assert (healed.status, healed.imported) == ("ok", 1)
    db.session.refresh(box)
    assert (box.failures, box.last_error, box.next_attempt_at) == (0, None, None)


def test_a_server_that_is_down_is_a_failure_not_a_crash(app, settings, imap_mailbox):
    target = settings.imap
    assert target is not None
    down = replace(settings, imap=replace(target, port=1))  # nothing listens on port 1
    result = poll_mailbox(db.session, down, NOW, ingest=Collect())
    assert result.status == "failed" and "Connection refused" in (result.error or "")


@pytest.mark.parametrize("scheme", ["imaps", "imap+starttls"])
def test_tls_mailboxes_with_the_configured_ca(app, settings, imap_mailbox, scheme):
    secure = replace(
        settings, imap=parse_imap_url(imap_mailbox.url(scheme)), imap_cafile=str(imap_mailbox.server.cafile)
    )
    imap_mailbox.append(message(1))
    ingest = Collect()
    assert poll_mailbox(db.session, secure, NOW, ingest=ingest).imported == 1

    untrusted = replace(secure, imap_cafile=None)  # a self-signed certificate is refused by default
    result = poll_mailbox(db.session, untrusted, NOW, ingest=ingest)
    assert result.status == "failed" and "CERTIFICATE_VERIFY_FAILED" in (result.error or "")


def test_a_message_over_the_size_cap_is_never_downloaded_and_stays_unseen(app, settings, imap_mailbox, caplog):
    small = replace(settings, mail_max_bytes=400)
    big = imap_mailbox.append(message(1) + b"x" * 1000 + b"\r\n")
    fits = imap_mailbox.append(message(2))
    ingest = Collect()

    result = poll_mailbox(db.session, small, NOW, ingest=ingest)

    assert (result.imported, result.too_large, result.uids) == (1, 1, [fits])
    assert "over BOOKING_MAIL_MAX_BYTES" in caplog.text
    assert "\\Seen" not in imap_mailbox.flags()[big]  # left for a person to read in the mailbox
    again = poll_mailbox(db.session, small, NOW, ingest=ingest)
    assert (again.imported, again.too_large, again.marked, len(ingest.raw)) == (0, 0, 0, 1)
    assert "\\Seen" not in imap_mailbox.flags()[big]


def _gauges(client: Any) -> dict[tuple[str, str], float]:
    from prometheus_client.parser import text_string_to_metric_families

    body = client.get("/metrics").get_data(as_text=True)
    return {
        (sample.name, sample.labels.get("mailbox", "")): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name.startswith("booking_imap_")
    }


def test_metrics_show_the_last_poll_of_the_mailbox(app, client, settings, imap_mailbox):
    label = f"127.0.0.1:{imap_mailbox.server.port}/INBOX"  # the mailbox without its user
    wrong = replace(settings, imap=parse_imap_url(imap_mailbox.url(password="not-it")))
    poll_mailbox(db.session, wrong, NOW, ingest=Collect())
    gauges = _gauges(client)
    assert gauges[("booking_imap_poll_ok", label)] == 0
    assert gauges[("booking_imap_consecutive_failures", label)] == 1

    imap_mailbox.append(message(1))
    poll_mailbox(db.session, settings, NOW + timedelta(minutes=5), ingest=Collect())
    gauges = _gauges(client)
    assert gauges[("booking_imap_poll_ok", label)] == 1
    assert gauges[("booking_imap_consecutive_failures", label)] == 0
    assert gauges[("booking_imap_imported_messages", label)] == 1
    assert gauges[("booking_imap_last_poll_timestamp_seconds", label)] == (NOW + timedelta(minutes=5)).timestamp()
    assert imap_mailbox.user not in client.get("/metrics").get_data(as_text=True)


def test_two_polls_racing_past_the_job_lock_record_each_uid_once(app, settings, imap_mailbox):
    """Another worker's poll runs while this one is ingesting: neither fails, the UID is recorded once."""
    from sqlalchemy.orm import Session

    uid = imap_mailbox.append(message(1))
    other = Collect()
    outer = Collect()

    def ingest_while_another_poll_runs(session: Any, s: Settings, raw: bytes, now: datetime) -> None:
        outer(session, s, raw, now)
        session.rollback()  # end this poll's read (SQLite): the other worker writes now
        with Session(db.engine) as elsewhere:
            assert poll_mailbox(elsewhere, s, now, ingest=other).uids == [uid]

    result = poll_mailbox(db.session, settings, NOW, ingest=ingest_while_another_poll_runs)

    assert (result.status, result.imported, result.failed) == ("ok", 1, 0)
    assert (len(outer.raw), len(other.raw)) == (1, 1)  # both handed it over: the ingest's Message-ID decides
    assert [s.uid for s in db.session.scalars(select(ImapSeen))] == [uid]
    assert "\\Seen" in imap_mailbox.flags()[uid]
