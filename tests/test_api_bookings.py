"""POST /api/bookings, cancel, reschedule, invitation .ics — every promise of interface.md via HTTP."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy.exc import IntegrityError

from booking.extensions import db
from booking.models import Booking

PARIS = ZoneInfo("Europe/Paris")
SLOT = "2026-12-01T10:00:00+01:00"


@pytest.fixture
def customer(make_agent, make_customer, frozen):
    agent = make_agent(name="Camille Martin")
    return make_customer(agent["slug"])


def _book(client, customer, start=SLOT, headers=None, **extra):
    body = {
        "token": customer["booking_token"],
        "start": start,
        "duration": 30,
        "topic": "help",
        "name": "Alice Dupont",
        "email": "alice@customer.example",
    }
    body.update(extra)
    return client.post("/api/bookings", json=body, headers=headers or {})


def test_book_returns_the_promised_shape(client, customer):
    response = _book(client, customer, notes="Our SSO broke")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "confirmed"
    assert body["agent"] == customer["agent"]
    assert body["start"] == SLOT and body["end"] == "2026-12-01T10:30:00+01:00"
    assert body["uid"].endswith("@booking")
    assert body["manage_token"] in body["manage_url"]
    assert body["ics_url"].startswith("http://booking.test/api/bookings/")
    assert body["notes"] == "Our SSO broke"


def test_booked_slot_is_no_longer_offered_and_cannot_be_booked_again(client, customer):
    assert _book(client, customer).status_code == 201
    slots = client.get(f"/api/agents/{customer['agent']}/availability?start=2026-12-01&end=2026-12-02").get_json()[
        "slots"
    ]
    assert SLOT not in [s["start"] for s in slots]
    again = _book(client, customer, start="2026-12-01T09:30:00+01:00", duration=60)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "slot_unavailable"


def test_slot_off_grid_outside_hours_or_too_soon_is_409(client, customer, frozen):
    for start in (
        "2026-12-01T10:10:00+01:00",  # off the 30-minute grid
        "2026-12-01T17:00:00+01:00",  # closing time
        "2026-12-01T16:45:00+01:00",
        "2026-12-05T10:00:00+01:00",  # Saturday
        "2026-12-25T10:00:00+01:00",  # Christmas
        "2026-11-30T08:30:00+01:00",  # before opening and inside min notice
    ):
        response = _book(client, customer, start=start)
        assert response.status_code == 409, start
    assert _book(client, customer, start="2026-12-01T16:00:00+01:00", duration=60).status_code == 201


def test_not_eligible_unknown_token_and_bad_input(client, make_customer, customer):
    basic = make_customer(None, plan="standard")
    assert basic["booking_url"] is None
    response = _book(client, basic)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "not_eligible"
    no_addon = make_customer(customer["agent"], dedicated_support=False)
    assert _book(client, no_addon).status_code == 403
    assert _book(client, {"booking_token": "nope"}).status_code == 404
    for bad in (
        {"start": "2026-12-01T10:00:00"},  # no offset
        {"topic": "gossip"},
        {"email": "not-an-email"},
        {"duration": 7},
        {"name": ""},
        {"unexpected": 1},
    ):
        response = _book(client, customer, **bad)
        assert response.status_code == 400, bad
        assert response.get_json()["error"]["code"] in {"invalid_request", "bad_duration"}
    response = client.post("/api/bookings", data="not json", content_type="application/json")
    assert response.status_code == 400 and response.is_json
    # Instants at the very ends of the calendar are simply not offered (no overflow, no 500).
    for start in ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"):
        assert _book(client, customer, start=start).status_code == 409, start
    # A lone surrogate cannot be stored or mailed: it is malformed JSON, not a 500.
    raw = '{"token": "\\ud800", "start": "2026-12-01T10:00:00+01:00", "topic": "help", "name": "A", "email": "a@b.fr"}'
    response = client.post("/api/bookings", data=raw, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_request"
    response = client.post("/api/bookings/1/cancel", data='{"token": "\\ud800"}', content_type="application/json")
    assert response.status_code == 400
    # NUL cannot be stored in PostgreSQL text; a CR/LF in a name would break e-mail headers.
    assert _book(client, customer, notes="a\u0000b").status_code == 400
    assert _book(client, customer, name="Alice\r\nBcc: x@evil.example").status_code == 400


def test_idempotency_key(client, customer):
    headers = {"Idempotency-Key": "retry-1"}
    first = _book(client, customer, headers=headers)
    second = _book(client, customer, headers=headers)
    assert first.status_code == 201 and second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"]
    assert db.session.query(Booking).count() == 1
    reused = _book(client, customer, start="2026-12-01T11:00:00+01:00", headers=headers)
    assert reused.status_code == 409
    assert reused.get_json()["error"]["code"] == "idempotency_key_reused"


def test_cancel_frees_the_slot_at_once(client, customer):
    booking = _book(client, customer).get_json()
    url = f"/api/bookings/{booking['id']}/cancel"
    assert client.post(url, json={"token": "wrong"}).status_code == 403
    assert client.post(url, json={}).status_code == 400
    assert client.post("/api/bookings/99999/cancel", json={"token": "x"}).status_code == 404
    response = client.post(url, json={"token": booking["manage_token"]})
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    assert client.post(url, json={"token": booking["manage_token"]}).status_code == 200  # idempotent
    assert _book(client, customer).status_code == 201


def test_reschedule_moves_and_bumps_sequence(client, customer):
    booking = _book(client, customer).get_json()
    other = _book(client, customer, start="2026-12-01T14:00:00+01:00").get_json()
    url = f"/api/bookings/{booking['id']}/reschedule"
    taken = client.post(url, json={"token": booking["manage_token"], "start": other["start"]})
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "slot_unavailable"
    # Overlapping its own old time is fine: the booking does not block itself.
    moved = client.post(url, json={"token": booking["manage_token"], "start": "2026-12-01T10:15:00+01:00"})
    assert moved.status_code == 409  # off grid
    moved = client.post(
        url, json={"token": booking["manage_token"], "start": "2026-12-01T09:30:00+01:00", "duration": 60}
    )
    assert moved.status_code == 200, moved.get_json()
    body = moved.get_json()
    assert body["start"] == "2026-12-01T09:30:00+01:00" and body["end"] == "2026-12-01T10:30:00+01:00"
    assert body["uid"] == booking["uid"] and body["sequence"] == 1
    assert client.post(url, json={"token": "bad", "start": SLOT}).status_code == 403


def test_too_late_to_cancel_or_move(client, customer, frozen):
    booking = _book(client, customer).get_json()
    frozen(datetime(2026, 12, 1, 10, 5, tzinfo=PARIS))
    response = client.post(f"/api/bookings/{booking['id']}/cancel", json={"token": booking["manage_token"]})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "too_late"


def test_invitation_ics(client, customer):
    booking = _book(client, customer).get_json()
    path = booking["ics_url"].removeprefix("http://booking.test")
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    cal = icalendar.Calendar.from_ical(response.data)
    assert str(cal["METHOD"]) == "REQUEST"
    events = [c for c in cal.walk("VEVENT")]
    assert len(events) == 1
    event = events[0]
    assert str(event["UID"]) == booking["uid"]
    assert event.decoded("DTSTART") == datetime.fromisoformat(SLOT)
    assert str(event["ORGANIZER"]).lower() == "mailto:agent1@example.com"
    assert str(event["ATTENDEE"]).lower() == "mailto:alice@customer.example"
    assert client.get(path.split("?")[0] + "?token=wrong").status_code == 403


def test_database_refuses_overlap_whatever_the_code_path(app, client, customer):
    """Bypass the service: the exclusion constraint / trigger itself rejects the second row."""
    first = _book(client, customer).get_json()
    row = db.session.get(Booking, first["id"])
    clone = Booking(
        agent_id=row.agent_id,
        customer_id=row.customer_id,
        start_at=datetime(2026, 12, 1, 10, 15, tzinfo=PARIS),
        end_at=datetime(2026, 12, 1, 10, 45, tzinfo=PARIS),
        topic="help",
        contact_name="x",
        contact_email="x@example.com",
    )
    db.session.add(clone)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    clone.status = "cancelled"  # a cancelled row may overlap
    db.session.add(clone)
    db.session.commit()
    clone.status = "confirmed"  # ... but cannot be revived onto a taken slot
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_reschedule_never_moves_a_call_cancelled_meanwhile(client, customer, monkeypatch):
    """A cancel committed between reschedule's first check and its transaction wins: 409, not a move."""
    from contextlib import contextmanager

    from sqlalchemy import text

    import booking.services.bookings as service

    booking = _book(client, customer).get_json()
    real = service.write_transaction

    @contextmanager
    def cancel_first(session):
        with db.engine.begin() as conn:  # another request, on its own connection, cancels now
            conn.execute(
                text("UPDATE bookings SET status = 'cancelled', sequence = sequence + 1 WHERE id = :id"),
                {"id": booking["id"]},
            )
        with real(session) as s:
            yield s

    monkeypatch.setattr(service, "write_transaction", cancel_first)
    response = client.post(
        f"/api/bookings/{booking['id']}/reschedule",
        json={"token": booking["manage_token"], "start": "2026-12-02T14:00:00+01:00"},
    )
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "cancelled"
    db.session.rollback()
    row = db.session.get(Booking, booking["id"])
    assert row.status == "cancelled" and row.start_at == datetime.fromisoformat(SLOT)
