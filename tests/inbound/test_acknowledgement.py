"""The one honest acknowledgement (issue 15, item 3), through the real gateway and the SMTP sink.

Out of hours a person's message gets one acknowledgement per thread naming the next business
opening; automatic mail, bounces, bulk mail and our own messages get none; a sender gets at most
BOOKING_MAIL_ACK_PER_DAY; two auto-responders stop after one message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.header import decode_header, make_header

import pytest
from sqlalchemy import select

from booking.inbound.models import RequestMessage
from booking.models_requests import SupportRequest
from tests.inbound.conftest import SUPPORT, fresh, mail

CHRISTMAS_EVE_19 = datetime(2026, 12, 24, 18, 0, tzinfo=UTC)  # Thursday 19:00 Paris
TUESDAY_10 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_christmas_eve_evening_gets_one_ack_naming_monday_28_at_nine(people, send, frozen, smtp_sink):
    frozen(CHRISTMAS_EVE_19)
    send(mail(Content_Language="en"))
    send(mail())  # a replay: nothing more
    send(mail(subject="Re: The export fails", message_id="<m2@acme.example>", In_Reply_To="<m1@acme.example>"))
    (ack,) = smtp_sink.to("alice@acme.example")
    body = ack.get_payload(decode=True).decode()
    assert "Monday 28 December 2026 at 09:00 (Europe/Paris)" in body
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == "<m1@acme.example>"
    assert ack["Message-ID"].startswith("<booking.ack.") and ack["Message-ID"].endswith("@help.example>")
    assert SUPPORT in ack["From"]
    request = fresh().scalars(select(SupportRequest)).one()
    assert f"[#R{request.id}]" in ack["Subject"]
    # The agent is not mailed out of hours; the clock still runs from receipt (business time).
    assert smtp_sink.to("camille@example.com") == []
    assert request.received_at == CHRISTMAS_EVE_19


def test_the_ack_is_in_french_by_default(people, send, frozen, smtp_sink):
    frozen(CHRISTMAS_EVE_19)
    send(mail())
    (ack,) = smtp_sink.to("alice@acme.example")
    body = ack.get_payload(decode=True).decode()
    assert "lundi 28 décembre 2026 à 09:00 (Europe/Paris)" in body
    assert str(make_header(decode_header(ack["Subject"]))).startswith("Bien reçu : The export fails")


def test_in_business_hours_no_ack_but_the_agent_is_mailed_at_once(people, send, frozen, smtp_sink):
    frozen(TUESDAY_10)
    send(mail())
    assert smtp_sink.to("alice@acme.example") == []
    (note,) = smtp_sink.to("camille@example.com")
    body = note.get_payload(decode=True).decode()
    assert "the nightly export fails" in body and "http://booking.test/agent/requests/" in body


AUTOMATIC = {
    "auto-replied": {"Auto_Submitted": "auto-replied"},
    "auto-generated": {"Auto_Submitted": "auto-generated"},
    "bulk": {"Precedence": "bulk"},
    "junk": {"Precedence": "junk"},
    "list": {"List_Id": "<news.acme.example>"},
    "x-autoreply": {"X_Autoreply": "yes"},
    "exchange": {"X_Auto_Response_Suppress": "All"},
}


@pytest.mark.parametrize("headers", AUTOMATIC.values(), ids=AUTOMATIC.keys())
def test_automatic_mail_gets_no_ack(people, send, frozen, smtp_sink, headers):
    frozen(CHRISTMAS_EVE_19)
    send(mail(**headers))
    assert fresh().scalars(select(SupportRequest)).one().channel == "email"  # still a request
    assert smtp_sink.messages == []


def test_auto_submitted_no_is_a_person(people, send, frozen, smtp_sink):
    frozen(CHRISTMAS_EVE_19)
    send(mail(Auto_Submitted="no"))
    assert len(smtp_sink.to("alice@acme.example")) == 1


def test_bounces_get_no_ack(people, send, frozen, smtp_sink):
    frozen(CHRISTMAS_EVE_19)
    send(mail(sender="MAILER-DAEMON@mx.acme.example", subject="Undelivered Mail Returned to Sender"), envelope_from="")
    send(mail(subject="Delivery failure", message_id="<bounce2@acme.example>"), envelope_from="")  # empty Return-Path
    assert len(fresh().scalars(select(SupportRequest)).all()) == 2
    # The daemon is unknown: the triage address hears of it; nobody else gets anything.
    assert [m["To"] for m in smtp_sink.messages] == ["triage@help.example"]


def test_our_own_messages_coming_back_make_nothing(people, send, frozen, smtp_sink):
    frozen(CHRISTMAS_EVE_19)
    send(mail(sender=SUPPORT, message_id="<x1@help.example>"))
    send(mail(sender="someone@acme.example", message_id="<booking.ack.7@help.example>"))
    assert fresh().scalars(select(SupportRequest)).all() == []
    assert smtp_sink.messages == []


def test_a_sender_gets_at_most_the_daily_cap_of_acks(people, send, frozen, smtp_sink):
    frozen(CHRISTMAS_EVE_19)
    for n in range(6):
        send(mail(subject=f"Problem {n}", message_id=f"<p{n}@acme.example>"))
    assert len(fresh().scalars(select(SupportRequest)).all()) == 6
    assert len(smtp_sink.to("alice@acme.example")) == 3  # BOOKING_MAIL_ACK_PER_DAY default


def test_a_loop_between_two_auto_responders_stops_after_one_message(people, send, frozen, smtp_sink):
    """A badly behaved responder (no Auto-Submitted) answers everything it gets, threaded or not."""
    frozen(CHRISTMAS_EVE_19)
    send(mail(subject="Out of office", message_id="<ooo1@acme.example>"))
    for n in range(2, 8):
        (last, *_) = reversed(smtp_sink.to("alice@acme.example"))
        send(
            mail(
                subject=f"Out of office: {last['Subject']}",
                message_id=f"<ooo{n}@acme.example>",
                In_Reply_To=last["Message-ID"],
                References=last["Message-ID"],
            )
        )
    assert len(smtp_sink.to("alice@acme.example")) == 1  # our side of the loop: one message
    (request,) = fresh().scalars(select(SupportRequest)).all()
    rows = fresh().scalars(select(RequestMessage).where(RequestMessage.request_id == request.id)).all()
    assert [r.kind for r in rows].count("ack") == 1 and len(rows) == 8


def test_a_severity_1_ack_names_the_wall_clock_due_time_and_the_agent_is_mailed_at_once(
    people, send, frozen, smtp_sink
):
    frozen(CHRISTMAS_EVE_19)
    send(mail(subject="[S1] Everything is down", Content_Language="en"))
    (ack,) = smtp_sink.to("alice@acme.example")
    body = ack.get_payload(decode=True).decode()
    assert "severity 1" in body and "due by Thursday 24 December 2026 at 20:00 (Europe/Paris)" in body
    assert "Monday" not in body
    assert len(smtp_sink.to("camille@example.com")) == 1
