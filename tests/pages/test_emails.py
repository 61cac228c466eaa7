"""Booking e-mails over real SMTP (aiosmtpd): text + HTML, localized, with the invitation attached."""

from __future__ import annotations

from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message

import icalendar
import pytest

from booking import clock
from booking.extensions import db
from booking.models import Booking
from booking.services import outbox
from tests.pages.forms import hidden

SLOT = "2026-12-01T09:00:00+00:00"  # Tuesday 10:00 Paris
LATER = "2026-12-02T13:00:00+00:00"
CONTACT = "alice@customer.example"
AGENT = "camille@vendor.example"


@pytest.fixture
def env_overrides(smtp_sink):
    return {"BOOKING_SMTP_URL": smtp_sink.url, "BOOKING_MAIL_FROM": "support@vendor.example"}


def _book(client, customer, lang: str = "fr") -> Booking:
    url = f"/book/{customer['booking_token']}?lang={lang}"
    html = client.get(url).get_data(as_text=True)
    response = client.post(
        url,
        data={
            "csrf_token": hidden(html, "csrf_token"),
            "idempotency_key": hidden(html, "idempotency_key"),
            "duration": "30",
            "start": SLOT,
            "topic": "setup-changes",
            "name": "Alice Dupont",
            "email": CONTACT,
            "notes": "Nouvelle règle de routage",
        },
    )
    assert response.status_code == 303
    return db.session.query(Booking).one()


def _manage(client, booking: Booking, **data: str) -> None:
    url = f"/bookings/{booking.id}/manage?token={booking.manage_token}"
    html = client.get(url).get_data(as_text=True)
    response = client.post(url, data={"csrf_token": hidden(html, "csrf_token"), **data})
    assert response.status_code == 303, response.get_data(as_text=True)


def _subject(message: Message) -> str:
    """The Subject as the reader sees it (the sink keeps the RFC 2047 encoded words)."""
    return str(make_header(decode_header(message["Subject"])))


def _parts(message: Message) -> dict[str, Message]:
    return {part.get_content_type(): part for part in message.walk()}


def _invitation(message: Message) -> tuple[str, icalendar.cal.Component]:
    part = _parts(message)["text/calendar"]
    cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
    assert part.get_param("method") == str(cal["METHOD"])
    (event,) = cal.walk("VEVENT")
    return str(cal["METHOD"]), event


def test_confirmation_reaches_the_contact_and_the_agent_with_the_invitation(client, customer, smtp_sink):
    booking = _book(client, customer, lang="fr")
    (mail,) = smtp_sink.to(CONTACT)
    assert _subject(mail).startswith("Votre appel avec Camille Martin est réservé : mardi 1 décembre 2026, 10:00")
    assert "Camille Martin" in mail["From"] and mail["Reply-To"] == AGENT
    parts = _parts(mail)
    text = parts["text/plain"].get_payload(decode=True).decode()
    html = parts["text/html"].get_payload(decode=True).decode()
    assert "Bonjour Alice Dupont," in text and "Des changements dans votre configuration" in text
    assert f"http://booking.test/bookings/{booking.id}/manage?token={booking.manage_token}" in text
    assert '<html lang="fr">' in html and "Modifier ou annuler" in html

    method, event = _invitation(mail)
    assert method == "REQUEST"
    assert str(event["UID"]) == booking.uid
    assert event.decoded("DTSTART") == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert str(event["ORGANIZER"]).lower() == f"mailto:{AGENT}"
    assert str(event["ATTENDEE"]).lower() == f"mailto:{CONTACT}"
    assert int(event.get("SEQUENCE", 0)) == 0
    assert event.walk("VALARM"), "the invitation reminds the contact"

    (copy,) = smtp_sink.to(AGENT)
    assert _subject(copy).startswith("Nouvel appel réservé par Acme Industries")
    assert copy["Reply-To"] == CONTACT
    assert "Nouvelle règle de routage" in _parts(copy)["text/plain"].get_payload(decode=True).decode()
    assert str(_invitation(copy)[1]["UID"]) == booking.uid


def test_english_booking_gets_english_mail(client, customer, smtp_sink):
    _book(client, customer, lang="en")
    (mail,) = smtp_sink.to(CONTACT)
    assert _subject(mail).startswith("Your call with Camille Martin is booked: Tuesday, December 1, 2026")
    assert "Hello Alice Dupont," in _parts(mail)["text/plain"].get_payload(decode=True).decode()


def test_reschedule_sends_an_update_and_cancel_a_cancel_for_the_same_uid(client, customer, smtp_sink):
    booking = _book(client, customer)
    _manage(client, booking, action="reschedule", start=LATER)
    _manage(client, booking, action="cancel")
    mails = smtp_sink.to(CONTACT)
    assert len(mails) == 3
    invitations = [_invitation(m) for m in mails]
    assert {str(event["UID"]) for _, event in invitations} == {booking.uid}
    assert [(method, int(event["SEQUENCE"])) for method, event in invitations] == [
        ("REQUEST", 0),
        ("REQUEST", 1),
        ("CANCEL", 2),
    ]
    assert invitations[1][1].decoded("DTSTART") == datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    assert _subject(mails[1]).startswith("Votre appel avec Camille Martin a été déplacé : mercredi 2 décembre")
    assert _subject(mails[2]).startswith("Annulé : votre appel avec Camille Martin")
    assert [_subject(m).split(" :")[0] for m in smtp_sink.to(AGENT)] == [
        "Nouvel appel réservé par Acme Industries",
        "Appel avec Acme Industries déplacé",
        "Appel avec Acme Industries annulé",
    ]


@pytest.fixture
def deferred_outbox(env_overrides):
    env_overrides["BOOKING_OUTBOX_INLINE"] = "false"


def test_a_confirmation_still_queued_when_the_call_is_cancelled_is_not_sent(
    deferred_outbox, client, customer, smtp_sink
):
    booking = _book(client, customer)
    _manage(client, booking, action="cancel")
    assert smtp_sink.messages == []  # nothing inline: the worker sends
    outbox.drain(db.session, clock.now())
    (mail,) = smtp_sink.to(CONTACT)
    assert _invitation(mail)[0] == "CANCEL"
