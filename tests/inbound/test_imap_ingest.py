"""Through real IMAP (Dovecot, messages APPENDed) and the worker's job: the e-mail channel's ingest."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import func, select

from booking.effects import JOBS
from booking.inbound.imap_poll import PollResult
from booking.inbound.models import RequestMessage
from booking.jobs import run_job, scheduled_jobs
from booking.models_imap import ImapSeen
from booking.models_requests import SupportRequest
from tests.fixtures.dovecot import *  # noqa: F403  (the dovecot_server / imap_mailbox fixtures)
from tests.fixtures.dovecot import DovecotMailbox
from tests.inbound.conftest import fresh, mail

TUESDAY_10 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 10:00 Paris, business hours
CHRISTMAS_EVE_19 = datetime(2026, 12, 24, 18, 0, tzinfo=UTC)  # Thursday 19:00 Paris
POLL = next(job for job in JOBS if job.name == "inbound.imap_poll")


@pytest.fixture
def env_overrides(env_overrides: dict[str, str], imap_mailbox: DovecotMailbox) -> dict[str, str]:
    """The e-mail channel's settings (tests/inbound/conftest.py) plus the Dovecot mailbox."""
    return {**env_overrides, "BOOKING_IMAP_URL": imap_mailbox.url(folder="Support")}


@pytest.fixture
def mailbox(imap_mailbox: DovecotMailbox) -> DovecotMailbox:
    conn = imap_mailbox.connect()
    assert conn.create("Support")[0] == "OK"
    conn.logout()
    return imap_mailbox


def append(mailbox: DovecotMailbox, msg: EmailMessage) -> int:
    return mailbox.append(msg.as_bytes(), folder="Support")


def poll(app: Any) -> PollResult:
    """One tick of the worker's job, as the scheduler runs it (job lock, outbox drained after)."""
    result = run_job(app, POLL)
    assert isinstance(result, PollResult), result
    return result


def requests() -> list[SupportRequest]:
    return list(fresh().scalars(select(SupportRequest).order_by(SupportRequest.id)))


def test_the_worker_schedules_the_poll_at_the_configured_interval(app):
    (job,) = [job for job in scheduled_jobs() if job.name == "inbound.imap_poll"]
    assert job.seconds(app.extensions["booking.settings"]) == 60


def test_an_appended_message_becomes_exactly_one_request_and_is_seen(app, people, mailbox, frozen):
    frozen(TUESDAY_10)
    uid = append(mailbox, mail(subject="[S2] The export fails"))

    assert poll(app).imported == 1

    (request,) = requests()
    assert (request.channel, request.customer_id, request.severity) == ("email", people["acme"]["id"], 2)
    assert request.received_at == TUESDAY_10
    assert "\\Seen" in mailbox.flags("Support")[uid]
    assert (poll(app).imported, len(requests())) == (0, 1)  # polling again imports nothing


def test_the_same_message_id_under_two_uids_is_one_request(app, people, mailbox, frozen):
    frozen(TUESDAY_10)
    first, second = append(mailbox, mail()), append(mailbox, mail())  # e.g. delivered twice by a forward
    assert first != second

    assert poll(app).imported == 2  # both handed over (and both marked seen) ...

    assert len(requests()) == 1  # ... one request: the ingest knows the Message-ID
    assert fresh().scalar(select(func.count()).select_from(RequestMessage)) == 1
    assert {uid for uid, flags in mailbox.flags("Support").items() if "\\Seen" in flags} == {first, second}
    assert fresh().scalar(select(func.count()).select_from(ImapSeen)) == 2


def test_a_reply_joins_its_request(app, people, mailbox, frozen):
    frozen(TUESDAY_10)
    append(mailbox, mail())
    poll(app)
    append(
        mailbox,
        mail(
            subject="Re: The export fails",
            text="Any news?\n",
            message_id="<m2@acme.example>",
            In_Reply_To="<m1@acme.example>",
            References="<m1@acme.example>",
        ),
    )

    assert poll(app).imported == 1

    (request,) = requests()
    thread = fresh().scalars(select(RequestMessage.message_id).where(RequestMessage.request_id == request.id))
    assert list(thread) == ["<m1@acme.example>", "<m2@acme.example>"]


def test_a_recreated_folder_replaying_old_mail_opens_nothing_new(app, people, mailbox, frozen):
    frozen(TUESDAY_10)
    append(mailbox, mail())
    poll(app)
    mailbox.recreate("Support")  # a restore: new UIDVALIDITY, the same messages again, unseen
    uid = append(mailbox, mail())

    assert poll(app).uids == [uid]

    assert len(requests()) == 1
    assert "\\Seen" in mailbox.flags("Support")[uid]


def test_after_hours_mail_gets_one_acknowledgement_naming_the_next_opening(app, people, mailbox, frozen, smtp_sink):
    frozen(CHRISTMAS_EVE_19)
    append(mailbox, mail())
    poll(app)
    append(mailbox, mail(message_id="<m2@acme.example>", In_Reply_To="<m1@acme.example>", subject="Re: again"))
    poll(app)

    (ack,) = smtp_sink.to("alice@acme.example")
    body = ack.get_payload(decode=True).decode() if not ack.is_multipart() else ack.get_payload(0).get_content()
    assert "lundi 28 décembre 2026 à 09:00" in body or "Monday 28 December 2026 at 09:00" in body
    assert ack["Auto-Submitted"] == "auto-replied"


def test_an_unknown_sender_lands_in_triage(app, people, mailbox, frozen):
    frozen(TUESDAY_10)
    append(mailbox, mail(sender="someone@unknown.example", message_id="<u1@unknown.example>"))
    poll(app)
    (request,) = requests()
    assert (request.team, request.customer_id) == ("triage", None)
