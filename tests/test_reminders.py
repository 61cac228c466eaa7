"""Reminder e-mails the day before a call, over real SMTP: once per booking version, never for
cancelled, moved-and-fresh or already-started calls."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.header import decode_header, make_header
from zoneinfo import ZoneInfo

import pytest

from booking import clock
from booking.extensions import db
from booking.jobs import registered_jobs
from booking.services import outbox
from booking.services.reminders import queue_reminders

PARIS = ZoneInfo("Europe/Paris")
CONTACT = "alice@customer.example"


@pytest.fixture
def env_overrides(smtp_sink):
    return {"BOOKING_SMTP_URL": smtp_sink.url}


@pytest.fixture
def customer(make_agent, make_customer, frozen):
    agent = make_agent(name="Camille Martin")
    return make_customer(agent["slug"])


def _book(client, customer, start: str, locale: str = "fr") -> dict:
    response = client.post(
        "/api/bookings",
        json={
            "token": customer["booking_token"],
            "start": start,
            "topic": "help",
            "name": "Alice",
            "email": CONTACT,
            "locale": locale,
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _run_job(at: datetime, frozen) -> int:
    frozen(at)
    created = queue_reminders(db.session, clock.now())
    outbox.drain(db.session, clock.now())
    return created


def _subjects(smtp_sink) -> list[str]:
    return [str(make_header(decode_header(m["Subject"]))) for m in smtp_sink.to(CONTACT)]


def test_reminder_once_the_day_before(client, customer, smtp_sink, frozen):
    _book(client, customer, "2026-12-03T10:00:00+01:00")  # booked Monday for Thursday
    assert _run_job(datetime(2026, 12, 2, 9, 0, tzinfo=PARIS), frozen) == 0  # 25 h ahead: not yet
    assert _run_job(datetime(2026, 12, 2, 10, 0, tzinfo=PARIS), frozen) == 1
    assert _run_job(datetime(2026, 12, 2, 10, 5, tzinfo=PARIS), frozen) == 0  # the job again: nothing
    reminders = [s for s in _subjects(smtp_sink) if s.startswith("Rappel")]
    assert reminders == [
        "Rappel : votre appel avec Camille Martin, jeudi 3 décembre 2026, 10:00 – 10:30 (Paris, UTC+01:00)"
    ]
    (mail,) = [m for m in smtp_sink.to(CONTACT) if "Rappel" in str(make_header(decode_header(m["Subject"])))]
    text = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "Un rappel de votre appel avec Camille Martin" in text


def test_moved_call_is_reminded_again_and_cancelled_one_is_not(client, customer, smtp_sink, frozen):
    first = _book(client, customer, "2026-12-03T10:00:00+01:00", locale="en")
    second = _book(client, customer, "2026-12-03T14:00:00+01:00", locale="en")
    assert _run_job(datetime(2026, 12, 2, 14, 0, tzinfo=PARIS), frozen) == 2
    frozen(datetime(2026, 12, 2, 15, 0, tzinfo=PARIS))
    cancel = client.post(f"/api/bookings/{second['id']}/cancel", json={"token": second["manage_token"]})
    assert cancel.status_code == 200
    moved = client.post(
        f"/api/bookings/{first['id']}/reschedule",
        json={"token": first["manage_token"], "start": "2026-12-04T11:00:00+01:00"},
    )
    assert moved.status_code == 200
    assert _run_job(datetime(2026, 12, 3, 11, 0, tzinfo=PARIS), frozen) == 1  # the new version, once
    reminders = [s for s in _subjects(smtp_sink) if s.startswith("Reminder")]
    assert reminders == [
        "Reminder: your call with Camille Martin, Thursday, December 3, 2026, 10:00\u202fAM–10:30\u202fAM"
        " (Paris, UTC+01:00)",
        "Reminder: your call with Camille Martin, Thursday, December 3, 2026, 2:00\u202fPM–2:30\u202fPM"
        " (Paris, UTC+01:00)",
        "Reminder: your call with Camille Martin, Friday, December 4, 2026, 11:00\u202fAM–11:30\u202fAM"
        " (Paris, UTC+01:00)",
    ]


def test_no_reminder_for_a_call_booked_within_a_day_or_already_started(client, customer, smtp_sink, frozen):
    frozen(datetime(2026, 12, 1, 15, 0, tzinfo=PARIS))
    _book(client, customer, "2026-12-02T10:00:00+01:00")  # 19 h ahead: the confirmation is fresh
    assert _run_job(datetime(2026, 12, 1, 16, 0, tzinfo=PARIS), frozen) == 0


def test_a_reminder_still_queued_when_the_call_starts_is_dropped(client, customer, smtp_sink, frozen):
    _book(client, customer, "2026-12-03T10:00:00+01:00")
    frozen(datetime(2026, 12, 2, 10, 0, tzinfo=PARIS))
    assert queue_reminders(db.session, clock.now()) == 1
    frozen(datetime(2026, 12, 3, 10, 0, tzinfo=PARIS) + timedelta(minutes=1))  # outbox down until now
    outbox.drain(db.session, clock.now())
    assert not [s for s in _subjects(smtp_sink) if s.startswith("Rappel")]


def test_reminders_job_is_scheduled():
    assert "reminders" in {job.name for job in registered_jobs()}
