"""Through the real SMTP gateway (aiosmtpd on a free port, mail sent with smtplib): one request per
message, replays included; replies join; other recipients and oversized mail are refused."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from booking.inbound.models import RequestMessage
from booking.models_requests import RequestEvent, SupportRequest
from tests.inbound.conftest import fresh, mail

TUESDAY_10 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 10:00 Paris, business hours


def _requests() -> list[SupportRequest]:
    return list(fresh().scalars(select(SupportRequest).order_by(SupportRequest.id)))


def test_a_message_opens_one_request_and_a_replay_opens_none(people, send, frozen):
    frozen(TUESDAY_10)
    send(mail(subject="[S2] The export fails"))
    send(mail(subject="[S2] The export fails"))  # the MTA retried: same Message-ID
    (request,) = _requests()
    assert (request.channel, request.customer_id, request.team, request.severity) == (
        "email",
        people["acme"]["id"],
        "dedicated",
        2,
    )
    assert request.received_at == TUESDAY_10
    assert request.agent is not None and request.agent.slug == "camille"
    assert fresh().scalar(select(func.count()).select_from(RequestMessage)) == 1


def test_a_reply_joins_its_request_by_in_reply_to_and_is_logged(people, send, frozen):
    frozen(TUESDAY_10)
    send(mail())
    send(
        mail(
            subject="Re: The export fails",
            text="Any news?\n",
            message_id="<m2@acme.example>",
            In_Reply_To="<m1@acme.example>",
            References="<m1@acme.example>",
        )
    )
    (request,) = _requests()
    messages = fresh().scalars(select(RequestMessage).where(RequestMessage.request_id == request.id)).all()
    assert [m.message_id for m in messages] == ["<m1@acme.example>", "<m2@acme.example>"]
    kinds = fresh().scalars(select(RequestEvent.kind).where(RequestEvent.request_id == request.id)).all()
    assert kinds == ["created", "message"]


def test_a_request_tag_in_the_subject_threads_a_mail_without_headers(people, send, frozen):
    frozen(TUESDAY_10)
    send(mail())
    (request,) = _requests()
    send(mail(subject=f"More on [#R{request.id}]", message_id="<m3@acme.example>"))
    # A stranger quoting the tag does not get into the thread.
    send(mail(sender="mallory@evil.example", subject=f"Re: [#R{request.id}]", message_id="<x@evil.example>"))
    rows = _requests()
    assert len(rows) == 2 and rows[1].team == "triage"
    assert (
        fresh().scalar(select(func.count()).select_from(RequestMessage).where(RequestMessage.request_id == request.id))
        == 2
    )


def test_a_domain_listed_on_a_customer_matches_its_senders(people, send, frozen):
    frozen(TUESDAY_10)
    send(mail(sender="bob@beta.example", message_id="<b1@beta.example>"))
    (request,) = _requests()
    assert request.customer_id == people["beta"]["id"] and request.team == "dedicated"


def test_an_unknown_sender_lands_in_triage(people, send, frozen, smtp_sink):
    frozen(TUESDAY_10)
    send(mail(sender="someone@unknown.example", message_id="<u1@unknown.example>"))
    (request,) = _requests()
    assert (request.team, request.customer_id, request.agent_id, request.severity) == ("triage", None, None, 3)
    assert smtp_sink.to("triage@help.example"), "the triage address is told"


def test_other_recipients_are_refused_with_550(people, gateway):
    with smtplib.SMTP(*gateway, timeout=10) as client, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        client.send_message(mail(to="sales@help.example"))
    assert refused.value.recipients["sales@help.example"][0] == 550
    assert _requests() == []


def test_a_message_over_the_size_limit_is_refused_with_552(people, gateway):
    big = mail(text="x" * 300_000)
    refusals = (smtplib.SMTPDataError, smtplib.SMTPSenderRefused)
    with smtplib.SMTP(*gateway, timeout=10) as client, pytest.raises(refusals) as refused:
        client.send_message(big)
    assert refused.value.smtp_code == 552
    assert _requests() == []


def test_a_storage_failure_answers_451_and_the_retry_is_stored(people, gateway, monkeypatch):
    from booking.inbound import ingest

    real = ingest.ingest_message
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest, "ingest_message", failing)
    with smtplib.SMTP(*gateway, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.send_message(mail())
        assert refused.value.smtp_code == 451
    with smtplib.SMTP(*gateway, timeout=10) as client:
        client.send_message(mail())
    assert len(_requests()) == 1


def test_html_only_mail_is_read_as_text_and_attachments_are_kept_capped(people, send, frozen):
    frozen(TUESDAY_10)
    msg = mail(text="unused")
    msg.set_content(
        "<html><body><p>Bonjour,</p><p>l&rsquo;export <b>plante</b>.</p><script>x()</script></body></html>",
        subtype="html",
    )
    msg.add_attachment(b"small log", maintype="text", subtype="plain", filename="log.txt")
    msg.add_attachment(b"\0" * 5000, maintype="application", subtype="octet-stream", filename="dump.bin")
    send(msg)
    row = fresh().scalars(select(RequestMessage)).one()
    assert row.text == "Bonjour,\n\nl\u2019export plante."  # the script's text dropped
    assert row.html is not None and "<b>plante</b>" in row.html
    files = {a.filename: (a.size, a.content) for a in row.attachments}
    assert files == {"log.txt": (9, b"small log"), "dump.bin": (5000, None)}


def test_an_answer_to_a_resolved_request_opens_a_follow_up_that_later_answers_join(people, send, frozen, client, admin):
    frozen(TUESDAY_10)
    send(mail())
    (first,) = _requests()
    assert client.post(f"/api/requests/{first.id}/resolve", headers=admin).status_code == 200
    send(mail(subject="Re: The export fails", message_id="<m2@acme.example>", In_Reply_To="<m1@acme.example>"))
    send(mail(subject="Re: The export fails", message_id="<m3@acme.example>", References="<m1@acme.example>"))
    old, follow_up = _requests()
    assert (old.id, old.status) == (first.id, "resolved")
    assert (follow_up.status, follow_up.customer_id, follow_up.team) == ("open", people["acme"]["id"], "dedicated")
    created = fresh().scalars(select(RequestEvent).where(RequestEvent.request_id == follow_up.id)).first()
    assert created is not None and created.details["follows"] == first.id
    rows = fresh().scalars(select(RequestMessage.message_id).where(RequestMessage.request_id == follow_up.id)).all()
    assert rows == ["<m2@acme.example>", "<m3@acme.example>"]


def test_oversized_headers_are_stored_not_refused(people, send, frozen):
    """A Message-ID or an address longer than its column must not make every retry fail (451 for ever)."""
    frozen(TUESDAY_10)
    long_id = f"<{'x' * 600}@acme.example>"
    send(mail(message_id=long_id, In_Reply_To=f"<{'y' * 600}@acme.example>"))
    send(mail(message_id=long_id))  # the replay is still recognised
    (row,) = fresh().scalars(select(RequestMessage)).all()
    assert row.message_id.startswith("<sha256.") and len(row.in_reply_to or "") == 500
