"""Push: every booking appears in the agent's real Radicale calendar, moves, disappears; outages heal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from booking.calendar_sync.dav import resource_name
from booking.extensions import db
from booking.models import Agent, Booking, BusyBlock, Customer, OutboxMessage
from booking.services import outbox
from booking.services.bookings import EVENT_CONFIRMED, queue_change
from tests.calendar_helpers import connect, sync
from tests.conftest import MONDAY
from tests.fixtures.radicale import RadicaleCalendar
from tests.fixtures.xandikos import XandikosCalendar


def book(client, customer, start="2026-11-30T10:00:00+01:00"):
    response = client.post(
        "/api/bookings",
        json={
            "token": customer["booking_token"],
            "start": start,
            "duration": 30,
            "topic": "help",
            "name": "Ada",
            "email": "ada@customer.example",
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def on_server(cal: RadicaleCalendar | XandikosCalendar, uid: str) -> tuple[int, str | None, str]:
    status, etag, body = cal.get(resource_name(uid))
    return status, etag, body.decode().replace("\r\n ", "")


def setup(client, admin, make_agent, make_customer, cal):
    agent = make_agent()
    connect(client, admin, agent["slug"], cal)
    return agent, make_customer(agent["slug"])


def test_booking_appears_moves_with_sequence_and_disappears(
    client, admin, make_agent, make_customer, any_caldav, frozen
):
    _, customer = setup(client, admin, make_agent, make_customer, any_caldav)
    booked = book(client, customer)
    status, etag1, body = on_server(any_caldav, booked["uid"])
    assert status == 200
    assert f"UID:{booked['uid']}" in body
    assert "SEQUENCE:0" in body
    assert "DTSTART:20261130T090000Z" in body
    assert f"X-BOOKING-ID:{booked['id']}" in body
    assert "METHOD" not in body  # a stored object, not an iTIP message

    moved = client.post(
        f"/api/bookings/{booked['id']}/reschedule",
        json={"token": booked["manage_token"], "start": "2026-11-30T14:00:00+01:00"},
    )
    assert moved.status_code == 200
    status, etag2, body = on_server(any_caldav, booked["uid"])
    assert status == 200 and etag2 != etag1
    assert "SEQUENCE:1" in body and "DTSTART:20261130T130000Z" in body

    cancelled = client.post(f"/api/bookings/{booked['id']}/cancel", json={"token": booked["manage_token"]})
    assert cancelled.status_code == 200
    assert on_server(any_caldav, booked["uid"])[0] == 404
    assert db.session.scalar(select(func.count()).where(OutboxMessage.status != "done")) == 0


def test_calendar_down_the_booking_succeeds_and_is_pushed_after_restart(
    client, admin, make_agent, make_customer, any_caldav, frozen
):
    _, customer = setup(client, admin, make_agent, make_customer, any_caldav)
    any_caldav.stop()
    booked = book(client, customer)  # 201 although the calendar is down
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.handler == "caldav.push"))
    assert (row.status, row.attempts) == ("pending", 1)
    assert "ConnectionError" in row.last_error
    any_caldav.start()
    assert on_server(any_caldav, booked["uid"])[0] == 404
    assert outbox.drain(db.session, MONDAY).done == 0  # not due yet: back-off
    frozen(MONDAY + timedelta(minutes=1))
    assert outbox.drain(db.session, MONDAY + timedelta(minutes=1)).as_dict() == {"done": 1, "retried": 0, "failed": 0}
    assert on_server(any_caldav, booked["uid"])[0] == 200


def test_agent_edit_on_the_server_is_resolved_by_re_reading(
    client, admin, make_agent, make_customer, any_caldav, frozen
):
    _, customer = setup(client, admin, make_agent, make_customer, any_caldav)
    booked = book(client, customer)
    _, etag, body = on_server(any_caldav, booked["uid"])
    # The agent adds a note in their own client: the ETag we remember is now stale.
    any_caldav.put(resource_name(booked["uid"]), body.replace("SUMMARY:", "SUMMARY:[agent note] ").encode())
    response = client.post(
        f"/api/bookings/{booked['id']}/reschedule",
        json={"token": booked["manage_token"], "start": "2026-11-30T15:00:00+01:00"},
    )
    assert response.status_code == 200
    status, _, body = on_server(any_caldav, booked["uid"])
    assert status == 200 and "DTSTART:20261130T140000Z" in body and "SEQUENCE:1" in body
    # Deleted on the server meanwhile: the next move creates it again.
    any_caldav.delete(resource_name(booked["uid"]))
    response = client.post(
        f"/api/bookings/{booked['id']}/reschedule",
        json={"token": booked["manage_token"], "start": "2026-11-30T16:00:00+01:00"},
    )
    assert response.status_code == 200
    status, _, body = on_server(any_caldav, booked["uid"])
    assert status == 200 and "DTSTART:20261130T150000Z" in body and "SEQUENCE:2" in body
    assert db.session.scalar(select(func.count()).where(OutboxMessage.status != "done")) == 0


def test_own_events_synced_back_are_not_counted_twice(client, admin, make_agent, make_customer, any_caldav, frozen):
    agent, customer = setup(client, admin, make_agent, make_customer, any_caldav)
    booked = book(client, customer)
    first = sync(client, admin, agent["slug"])
    assert (first["objects"], first["own"], first["busy_blocks"]) == (1, 1, 0)
    assert db.session.scalar(select(func.count()).select_from(BusyBlock)) == 0
    client.post(
        f"/api/bookings/{booked['id']}/reschedule",
        json={"token": booked["manage_token"], "start": "2026-11-30T11:00:00+01:00"},
    )
    frozen(MONDAY + timedelta(minutes=5))
    second = sync(client, admin, agent["slug"])
    # The push remembered the new ETag: the sync does not even download our own change.
    assert (second["mode"], second["changed"], second["busy_blocks"]) == ("incremental", 0, 0)
    # The booking's old slot is free again and its new slot is taken once (by the booking).
    free = {
        s["start"]
        for s in client.get(
            f"/api/agents/{agent['slug']}/availability", query_string={"start": "2026-11-30", "end": "2026-12-01"}
        ).get_json()["slots"]
    }
    assert "2026-11-30T10:00:00+01:00" in free and "2026-11-30T11:00:00+01:00" not in free


def test_agent_without_calendar_is_a_no_op(client, make_agent, make_customer, frozen):
    agent = make_agent()
    booked = book(client, make_customer(agent["slug"]))
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.handler == "caldav.push"))
    assert (row.status, row.key) == ("done", f"{booked['uid']}:0:confirmed")


def test_callback_reservations_are_pushed_the_same_way(client, admin, make_agent, make_customer, any_caldav, frozen):
    agent, customer = setup(client, admin, make_agent, make_customer, any_caldav)
    agent_id = db.session.scalar(select(Agent.id).where(Agent.slug == agent["slug"]))
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    reservation = Booking(
        kind="callback",
        agent_id=agent_id,
        customer_id=customer["id"],
        start_at=start,
        end_at=start + timedelta(minutes=30),
        topic="callback",
        status="confirmed",
        sequence=0,
        contact_name=db.session.get(Customer, customer["id"]).name,
        contact_email="it@customer.example",
    )
    db.session.add(reservation)
    db.session.flush()
    queue_change(db.session, reservation, EVENT_CONFIRMED, MONDAY)  # what the phone line does
    db.session.commit()
    outbox.drain(db.session, MONDAY)
    push = db.session.scalar(select(OutboxMessage).where(OutboxMessage.handler == "caldav.push"))
    assert push.status == "done"
    status, _, body = on_server(any_caldav, reservation.uid)
    assert status == 200 and "SUMMARY:Callback: " in body and "DTSTART:20261201T080000Z" in body


def test_connecting_a_calendar_pushes_the_upcoming_bookings(
    client, admin, make_agent, make_customer, any_caldav, frozen
):
    agent = make_agent()
    customer = make_customer(agent["slug"])
    upcoming = book(client, customer, "2026-11-30T10:00:00+01:00")
    cancelled = book(client, customer, "2026-11-30T11:00:00+01:00")
    client.post(f"/api/bookings/{cancelled['id']}/cancel", json={"token": cancelled["manage_token"]})
    connect(client, admin, agent["slug"], any_caldav)
    assert on_server(any_caldav, upcoming["uid"])[0] == 200
    assert on_server(any_caldav, cancelled["uid"])[0] == 404
    # No second confirmation for the customer: only the CalDAV push listens to this event.
    rows = db.session.scalars(
        select(OutboxMessage.handler).where(OutboxMessage.payload["event"].as_string() == "calendar.connected")
    )
    assert set(rows) == {"caldav.push"}
