"""Issue 18 items 1, 3, 5: the contact's zone, how the call happens and the languages, end to end.

A New York visitor books on the page; the confirmation page, their e-mail and the .ics give New York
times and name the zone, the (French) agent's copy is in Paris time and in French. Real SMTP (aiosmtpd),
invitations parsed with icalendar.
"""

from __future__ import annotations

import re
from email.header import decode_header, make_header
from email.message import Message

import icalendar
import pytest

from booking.extensions import db
from booking.models import Booking
from tests.pages.forms import hidden

NOON_PARIS = "2026-12-01T11:00:00+00:00"  # Tuesday 12:00 Paris = 06:00 New York
CONTACT = "alice@customer.example"
AGENT = "camille@vendor.example"
VIDEO = "https://meet.example/{uid}"


@pytest.fixture
def env_overrides(smtp_sink):
    return {
        "BOOKING_SMTP_URL": smtp_sink.url,
        "BOOKING_MAIL_FROM": "support@vendor.example",
        "BOOKING_VIDEO_URL_TEMPLATE": VIDEO,
    }


def _subject(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def _text(message: Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()


def _event(ics: bytes) -> icalendar.cal.Component:
    (event,) = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    return event


def _invitation(message: Message) -> icalendar.cal.Component:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    return _event(part.get_payload(decode=True))


def _book_on_page(client, customer, *, lang: str, tz: str, **fields: str):
    url = f"/book/{customer['booking_token']}?lang={lang}&tz={tz}"
    html = client.get(url).get_data(as_text=True)
    data = {
        "csrf_token": hidden(html, "csrf_token"),
        "idempotency_key": hidden(html, "idempotency_key"),
        "tz": hidden(html, "tz"),
        "duration": "30",
        "start": NOON_PARIS,
        "topic": "help",
        "name": "Alice Dupont",
        "email": CONTACT,
    }
    data.update(fields)
    return client.post(url, data=data), html


def test_a_new_york_booking_speaks_new_york_time_and_the_agent_paris_time(client, customer, smtp_sink):
    response, form_html = _book_on_page(
        client, customer, lang="en", tz="America/New_York", phone="+1 212-555-0100", call_method="phone"
    )
    assert 'name="phone"' in form_html and 'id="call_method-video"' in form_html  # offered: template set
    assert f'id="phone" name="phone" value="{customer["phones"][0]}"' in form_html  # prefilled: the customer's number
    assert response.status_code == 303, response.get_data(as_text=True)
    booking = db.session.query(Booking).one()
    assert (booking.contact_timezone, booking.phone, booking.call_method, booking.locale) == (
        "America/New_York",
        "+12125550100",
        "phone",
        "en",
    )

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    when = re.search(r'<dd class="when">([^<]*)</dd>', page)
    assert when is not None
    assert "6:00\u202fAM" in when.group(1) and "(New York, UTC-05:00)" in when.group(1)
    assert "Camille Martin calls you on +12125550100." in page

    manage = client.get(f"/bookings/{booking.id}/manage?token={booking.manage_token}").get_data(as_text=True)
    assert "(New York, UTC-05:00)" in manage and "6:00\u202fAM" in manage

    (mail,) = smtp_sink.to(CONTACT)
    assert "6:00\u202fAM" in _subject(mail) and "(New York, UTC-05:00)" in _subject(mail)
    text = _text(mail)
    assert "Tuesday, December 1, 2026, 6:00\u202fAM" in text and "(New York, UTC-05:00)" in text
    assert "12:00" not in text  # no Paris time for the contact
    event = _invitation(mail)
    assert str(event["SUMMARY"]) == "Help call: Acme Industries with Camille Martin"
    assert "When: Tuesday, December 1, 2026, 6:00\u202fAM" in str(event["DESCRIPTION"])
    assert "(New York, UTC-05:00)" in str(event["DESCRIPTION"])
    assert str(event["LOCATION"]) == "+12125550100"

    (copy,) = smtp_sink.to(AGENT)  # the agent of tests/pages/conftest.py speaks French
    assert _subject(copy) == (
        "Nouvel appel réservé par Acme Industries : mardi 1 décembre 2026, 12:00 – 12:30 (Paris, UTC+01:00)"
    )
    agent_text = _text(copy)
    assert "mardi 1 décembre 2026, 12:00 – 12:30 (Paris, UTC+01:00)" in agent_text
    assert "Appelez Alice Dupont au +12125550100." in agent_text
    agent_event = _invitation(copy)  # the same event, worded for the agent
    assert agent_event["UID"] == event["UID"]
    assert str(agent_event["SUMMARY"]) == "Appel (Aide) : Acme Industries avec Camille Martin"
    assert str(agent_event["DESCRIPTION"]).startswith("Quand : mardi 1 décembre 2026, 12:00 – 12:30 (Paris, UTC+01:00)")
    assert "Appelez Alice Dupont au +12125550100." in str(agent_event["DESCRIPTION"])

    ics = client.get(f"/api/bookings/{booking.id}/invite.ics?token={booking.manage_token}")
    assert "(New York, UTC-05:00)" in str(_event(ics.data)["DESCRIPTION"])


def test_a_french_booking_gets_a_french_invitation(client, customer, smtp_sink):
    response, _ = _book_on_page(client, customer, lang="fr", tz="Europe/Paris")
    assert response.status_code == 303
    event = _invitation(smtp_sink.to(CONTACT)[0])
    assert str(event["SUMMARY"]) == "Appel (Aide) : Acme Industries avec Camille Martin"
    description = str(event["DESCRIPTION"])
    assert description.startswith("Quand : mardi 1 décembre 2026, 12:00 – 12:30 (Paris, UTC+01:00)")
    assert "Sujet : Aide" in description
    # No number typed: the customer's first known number is the one called.
    phone = customer["phones"][0]
    assert f"Camille Martin vous appelle au {phone}." in description
    assert str(event["LOCATION"]) == phone


def test_a_video_call_through_the_api(client, customer, smtp_sink):
    body = {
        "token": customer["booking_token"],
        "start": NOON_PARIS,
        "topic": "training",
        "name": "Alice Dupont",
        "email": CONTACT,
        "timezone": "America/New_York",
        "language": "en",
        "call_method": "video",
    }
    response = client.post("/api/bookings", json=body)
    assert response.status_code == 201, response.get_json()
    made = response.get_json()
    uuid = made["uid"].split("@")[0]
    assert made["call_method"] == "video" and made["video_url"] == f"https://meet.example/{uuid}"
    assert made["timezone"] == "America/New_York" and made["language"] == "en"
    event = _event(client.get(made["ics_url"].replace("http://booking.test", "")).data)
    assert str(event["LOCATION"]) == made["video_url"]
    assert f"Video call: join {made['video_url']} at the time of the call." in str(event["DESCRIPTION"])
    assert made["video_url"] in _text(smtp_sink.to(CONTACT)[0])
    assert made["video_url"] in _text(smtp_sink.to(AGENT)[0])


def test_reschedule_keeps_the_zone_or_takes_a_new_one(client, customer, smtp_sink):
    body = {
        "token": customer["booking_token"],
        "start": NOON_PARIS,
        "topic": "help",
        "name": "Alice Dupont",
        "email": CONTACT,
        "timezone": "America/New_York",
        "language": "en",
    }
    made = client.post("/api/bookings", json=body).get_json()
    moved = client.post(
        f"/api/bookings/{made['id']}/reschedule", json={"token": made["manage_token"], "start": "2026-12-01T12:00:00Z"}
    )
    assert moved.status_code == 200 and moved.get_json()["timezone"] == "America/New_York"
    assert "7:00\u202fAM" in _subject(smtp_sink.to(CONTACT)[-1])
    moved = client.post(
        f"/api/bookings/{made['id']}/reschedule",
        json={"token": made["manage_token"], "start": "2026-12-01T13:00:00Z", "timezone": "Asia/Tokyo"},
    )
    assert moved.status_code == 200 and moved.get_json()["timezone"] == "Asia/Tokyo"
    assert "10:00\u202fPM–10:30\u202fPM (Tokyo, UTC+09:00)" in _subject(smtp_sink.to(CONTACT)[-1])


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "bad_timezone"),
        ({"phone": "12"}, "bad_phone"),
        ({"call_method": "pigeon"}, None),
        ({"language": "de"}, None),
    ],
)
def test_bad_contact_details_are_a_json_400(client, customer, extra, code):
    body = {
        "token": customer["booking_token"],
        "start": NOON_PARIS,
        "topic": "help",
        "name": "Alice Dupont",
        "email": CONTACT,
        **extra,
    }
    response = client.post("/api/bookings", json=body)
    assert response.status_code == 400, response.get_json()
    if code:
        assert response.get_json()["error"]["code"] == code


def test_a_bad_phone_on_the_page_is_a_field_error(client, customer):
    response, _ = _book_on_page(client, customer, lang="en", tz="Europe/Paris", phone="12")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="phone-error"' in page and "Please enter a phone number such as" in page
    assert db.session.query(Booking).count() == 0


def test_the_manage_page_opens_in_the_contact_zone_and_a_move_takes_the_chosen_zone(client, customer):
    body = {
        "token": customer["booking_token"],
        "start": NOON_PARIS,
        "topic": "help",
        "name": "Alice Dupont",
        "email": CONTACT,
        "timezone": "America/New_York",
    }
    made = client.post("/api/bookings", json=body).get_json()
    url = f"/bookings/{made['id']}/manage?token={made['manage_token']}&lang=en"
    html = client.get(url).get_data(as_text=True)
    assert hidden(html, "tz") == "America/New_York"  # no cookie, no choice: the zone it was booked in
    moved = client.post(
        url,
        data={
            "csrf_token": hidden(html, "csrf_token"),
            "action": "reschedule",
            "tz": "Asia/Tokyo",
            "duration": "30",
            "start": "2026-12-02T11:00:00+00:00",
        },
    )
    assert moved.status_code == 303, moved.get_data(as_text=True)
    db.session.rollback()
    booking = db.session.get(Booking, made["id"])
    assert booking.contact_timezone == "Asia/Tokyo"
    assert "(Tokyo, UTC+09:00)" in client.get(moved.headers["Location"]).get_data(as_text=True)
