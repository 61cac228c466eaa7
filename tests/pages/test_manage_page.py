"""The manage page without JavaScript: see the call, move it, cancel it, and too late once it started."""

from __future__ import annotations

from datetime import UTC, datetime

from booking.extensions import db
from booking.models import Booking
from tests.pages.forms import hidden, slot_values

SLOT = "2026-12-01T09:00:00+00:00"  # Tuesday 10:00 Paris
LATER = "2026-12-02T13:00:00+00:00"  # Wednesday 14:00 Paris


def _book(client, customer) -> Booking:
    html = client.get(f"/book/{customer['booking_token']}").get_data(as_text=True)
    response = client.post(
        f"/book/{customer['booking_token']}",
        data={
            "csrf_token": hidden(html, "csrf_token"),
            "idempotency_key": hidden(html, "idempotency_key"),
            "duration": "30",
            "start": SLOT,
            "topic": "help",
            "name": "Alice Dupont",
            "email": "alice@customer.example",
        },
    )
    assert response.status_code == 303
    return db.session.query(Booking).one()


def _manage_url(booking: Booking) -> str:
    return f"/bookings/{booking.id}/manage?token={booking.manage_token}"


def test_manage_page_shows_the_call_in_the_visitors_language(client, customer):
    booking = _book(client, customer)
    html = client.get(_manage_url(booking) + "&lang=fr&month=2026-12").get_data(as_text=True)
    assert "Votre appel avec Camille Martin" in html
    assert "mardi 1 décembre 2026, 10:00 – 10:30" in html
    assert "Confirmé" in html and "Déplacer mon appel" in html and "Oui, annuler mon appel" in html
    assert SLOT in slot_values(html)  # its own time is offered again, e.g. to make it 60 minutes


def test_reschedule_moves_the_call_and_bumps_the_sequence(client, customer):
    booking = _book(client, customer)
    html = client.get(_manage_url(booking) + "&lang=en").get_data(as_text=True)
    response = client.post(
        _manage_url(booking),
        data={
            "csrf_token": hidden(html, "csrf_token"),
            "action": "reschedule",
            "start": LATER,
            "duration": "60",
        },
    )
    assert response.status_code == 303 and "done=rescheduled" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your call has moved." in page
    assert "Wednesday, December 2, 2026, 2:00\u202fPM – 3:00\u202fPM" in page
    db.session.refresh(booking)
    assert booking.start_at == datetime(2026, 12, 2, 13, 0, tzinfo=UTC) and booking.sequence == 1
    assert (booking.end_at - booking.start_at).total_seconds() == 3600


def test_reschedule_to_a_taken_time_keeps_the_call_and_says_so(client, customer, make_customer):
    booking = _book(client, customer)
    other = make_customer(customer["agent"])
    other_html = client.get(f"/book/{other['booking_token']}").get_data(as_text=True)
    client.post(
        f"/book/{other['booking_token']}",
        data={
            "csrf_token": hidden(other_html, "csrf_token"),
            "idempotency_key": hidden(other_html, "idempotency_key"),
            "duration": "30",
            "start": LATER,
            "topic": "help",
            "name": "Bob",
            "email": "bob@other.example",
        },
    )
    html = client.get(_manage_url(booking) + "&lang=en").get_data(as_text=True)
    response = client.post(
        _manage_url(booking),
        data={"csrf_token": hidden(html, "csrf_token"), "action": "reschedule", "start": LATER},
    )
    assert response.status_code == 409
    assert "That time was just taken" in response.get_data(as_text=True)
    db.session.refresh(booking)
    assert booking.start_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC) and booking.sequence == 0


def test_cancel_frees_the_slot_and_offers_a_new_booking(client, customer):
    booking = _book(client, customer)
    html = client.get(_manage_url(booking) + "&lang=en").get_data(as_text=True)
    response = client.post(_manage_url(booking), data={"csrf_token": hidden(html, "csrf_token"), "action": "cancel"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your call is cancelled." in page and "Book another call" in page
    assert "Move my call" not in page
    db.session.refresh(booking)
    assert booking.status == "cancelled"
    again = client.get(f"/book/{customer['booking_token']}?day=2026-12-01").get_data(as_text=True)
    assert SLOT in slot_values(again)


def test_too_late_once_the_call_has_started(client, customer, frozen):
    booking = _book(client, customer)
    html = client.get(_manage_url(booking) + "&lang=en").get_data(as_text=True)
    frozen(datetime(2026, 12, 1, 9, 5, tzinfo=UTC))
    page = client.get(_manage_url(booking) + "&lang=en").get_data(as_text=True)
    assert "can no longer be moved or cancelled here" in page
    assert "Move my call" not in page and "Yes, cancel my call" not in page
    # A form opened before the start and sent after it: a clear message, nothing changes.
    response = client.post(_manage_url(booking), data={"csrf_token": hidden(html, "csrf_token"), "action": "cancel"})
    assert response.status_code == 409
    assert "It is too late to change this call" in response.get_data(as_text=True)
    db.session.refresh(booking)
    assert booking.status == "confirmed"


def test_wrong_manage_token_and_unknown_booking(client, customer):
    booking = _book(client, customer)
    wrong = client.get(f"/bookings/{booking.id}/manage?token=nope", headers={"Accept-Language": "en"})
    assert wrong.status_code == 403 and "This link does not match this booking" in wrong.get_data(as_text=True)
    missing = client.get("/bookings/999/manage?token=nope", headers={"Accept-Language": "en"})
    assert missing.status_code == 404 and "We could not find this booking" in missing.get_data(as_text=True)


def test_moving_a_45_minute_call_from_the_page_keeps_its_length(client, customer):
    """Calls booked through the API may last 15-240 minutes; the page must not shorten them."""
    created = client.post(
        "/api/bookings",
        json={
            "token": customer["booking_token"],
            "start": SLOT,
            "duration": 45,
            "topic": "training",
            "name": "Alice Dupont",
            "email": "alice@customer.example",
        },
    )
    assert created.status_code == 201
    booking = db.session.get(Booking, created.get_json()["id"])
    html = client.get(_manage_url(booking) + "&lang=en").get_data(as_text=True)
    assert hidden(html, "duration") == "45"
    response = client.post(
        _manage_url(booking),
        data={"csrf_token": hidden(html, "csrf_token"), "action": "reschedule", "start": LATER, "duration": "45"},
    )
    assert response.status_code == 303
    db.session.expire_all()
    moved = db.session.get(Booking, booking.id)
    assert moved.start_at == datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    assert moved.duration_minutes == 45
