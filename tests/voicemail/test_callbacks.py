"""Voicemail → callback over HTTP: exactly once, on the SLA clock, reserved, notified after commit.

SMS go through the real Twilio SDK to the local fake Twilio REST server and e-mail through real SMTP
to the local sink; the clock is moved with time-machine, never slept on.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from booking import clock
from booking.extensions import db
from booking.models import Booking, Callback, OutboxMessage, Voicemail
from booking.services import outbox
from tests.fixtures.twilio_rest import TEST_AUTH_TOKEN, twilio_signature
from tests.voicemail.conftest import AGENT_PHONE, CALLER, LINE, PUBLIC_URL, paris, tags, twiml

SENIOR_PHONE = "+33140000002"


def fresh():
    """The test shares the requests' app context (and session): end its read transaction so it sees
    what the after-response outbox drain committed from its own session."""
    db.session.rollback()
    return db.session


def count(model) -> int:
    return fresh().scalar(select(func.count()).select_from(model))


@pytest.fixture
def line(make_agent, make_customer):
    """A dedicated agent, an on-call senior and a customer with the add-on."""
    agent = make_agent(slug="camille", name="Camille Martin", phone=AGENT_PHONE, email="camille@example.com")
    senior = make_agent(
        slug="sam", name="Sam Senior", phone=SENIOR_PHONE, email="sam@example.com", tier="senior", on_call=True
    )
    customer = make_customer(agent["slug"], name="Acme SA", phones=[CALLER])
    return {"agent": agent, "senior": senior, "customer": customer}


def leave_voicemail(hook, frozen, at: datetime, sid: str = "CA1", *, press_1: bool = False, caller: str = CALLER):
    """One whole call: incoming call, missed dial or after-hours menu, then the recording callback."""
    frozen(at)
    root = twiml(hook("/twilio/voice", CallSid=sid, From=caller, To=LINE)[1])
    if root.find("Dial") is not None:
        hook("/twilio/voice/dial-status", CallSid=sid, DialCallStatus="no-answer", From=caller)
    if press_1:
        hook("/twilio/voice/menu", CallSid=sid, Digits="1", From=caller)
    return record(hook, sid)


def record(hook, sid: str = "CA1", duration: str = "42"):
    return hook(
        "/twilio/voicemail",
        CallSid=sid,
        RecordingSid=f"RE{sid}",
        RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE{sid}",
        RecordingDuration=duration,
        RecordingStatus="completed",
    )


def callbacks(client, admin, **query) -> list[dict]:
    response = client.get("/api/callbacks", query_string=query, headers=admin)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["callbacks"]


# -- exactly once ----------------------------------------------------------------------------------


def test_recording_replayed_three_times_queues_one_callback_one_sms_one_email(
    hook, line, frozen, fake_twilio, smtp_sink, client, admin
):
    leave_voicemail(hook, frozen, paris(2026, 12, 24, 19, 0))
    for _ in range(2):
        response, body = record(hook)
        assert response.status_code == 200 and response.mimetype == "text/xml"
    assert count(Voicemail) == 1 and count(Callback) == 1
    assert db.session.scalar(select(func.count()).where(Booking.kind == "callback")) == 1

    assert len(fake_twilio.messages) == 1
    sms = fake_twilio.messages[0]
    assert sms.to == AGENT_PHONE and sms.from_ == fake_twilio.from_number
    assert "Acme SA" in sms.body and CALLER in sms.body and "RECA1" in sms.body
    assert "Mon 28 Dec 09:00" in sms.body

    assert len(smtp_sink.messages) == 1
    mail = smtp_sink.messages[0]
    assert mail["To"] == "camille@example.com" and mail["Cc"] is None
    assert "Acme SA" in mail["Subject"]
    text = mail.get_payload(decode=True).decode()
    assert "RECA1" in text
    # Both ends of the reservation in the business zone (the end was once printed in UTC).
    assert "Reserved in your calendar: Mon 28 Dec 09:00 (Europe/Paris) - 09:15" in text

    vm = fresh().scalar(select(Voicemail))
    assert (vm.recording_sid, vm.call_sid, vm.duration, vm.from_number) == ("RECA1", "CA1", 42, CALLER)
    assert vm.customer_id == line["customer"]["id"]
    assert [c["status"] for c in callbacks(client, admin)] == ["pending"]


def test_sms_failure_is_retried_by_the_outbox_and_sent_once(hook, line, frozen, fake_twilio, smtp_sink):
    fake_twilio.fail_next(1, status=503, code=20503, message="Service Unavailable")
    leave_voicemail(hook, frozen, paris(2026, 12, 24, 19, 0))
    assert fake_twilio.messages == [] and [status for status, _ in fake_twilio.attempts] == [503]
    assert len(smtp_sink.messages) == 1  # the e-mail does not wait for the SMS
    row = fresh().scalar(select(OutboxMessage).where(OutboxMessage.handler == "callback.sms"))
    assert (row.status, row.attempts) == ("pending", 1) and "Service Unavailable" in row.last_error

    outbox.drain(db.session, clock.now())  # not due yet: back-off
    assert fake_twilio.messages == []
    frozen(paris(2026, 12, 24, 19, 1))
    assert outbox.drain(db.session, clock.now()).done == 1
    assert len(fake_twilio.messages) == 1 and fake_twilio.messages[0].to == AGENT_PHONE

    record(hook)  # Twilio replays the callback
    frozen(paris(2026, 12, 24, 20, 0))
    outbox.drain(db.session, clock.now())
    assert len(fake_twilio.messages) == 1 and len(smtp_sink.messages) == 1


def test_invalid_agent_number_fails_for_good_without_retrying(hook, line, frozen, fake_twilio):
    fake_twilio.fail_next_invalid_to(1)
    leave_voicemail(hook, frozen, paris(2026, 12, 24, 19, 0))
    row = fresh().scalar(select(OutboxMessage).where(OutboxMessage.handler == "callback.sms"))
    assert row.status == "failed" and "21211" in row.last_error


@pytest.mark.slow
@pytest.mark.env(BOOKING_OUTBOX_INLINE="false")
def test_concurrent_replays_against_a_running_server_store_one_voicemail(
    app, line, frozen, fake_twilio, smtp_sink, live_server
):
    """Twilio retries overlap in real life: 12 identical callbacks at once, over real sockets."""
    frozen(paris(2026, 12, 24, 19, 0))
    params = {
        "CallSid": "CA1",
        "RecordingSid": "RErace",
        "RecordingUrl": "https://api.twilio.com/r/RErace",
        "RecordingDuration": "12",
        "RecordingStatus": "completed",
        "From": CALLER,
    }
    headers = {"X-Twilio-Signature": twilio_signature(f"{PUBLIC_URL}/twilio/voicemail", params, TEST_AUTH_TOKEN)}

    def attempt(_: int) -> int:
        response = requests.post(f"{live_server.url}/twilio/voicemail", data=params, headers=headers, timeout=60)
        return response.status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(attempt, range(12)))
    assert statuses == [200] * 12
    assert count(Voicemail) == 1 and count(Callback) == 1
    assert fresh().scalar(select(func.count()).where(Booking.kind == "callback")) == 1
    for _ in range(2):  # two worker passes: the rows are done after the first
        outbox.drain(fresh(), clock.now())
    assert len(fake_twilio.messages) == 1 and len(smtp_sink.messages) == 1


# -- the SLA clock, through the webhooks -----------------------------------------------------------

SLA_CASES = [
    # (call time, press 1, severity, due, reserved start, assigned to)
    (paris(2026, 12, 24, 19, 0), False, 3, paris(2026, 12, 28, 9, 0), paris(2026, 12, 28, 9, 0), "camille"),
    (paris(2026, 12, 25, 10, 0), False, 3, paris(2026, 12, 28, 9, 0), paris(2026, 12, 28, 9, 0), "camille"),
    (paris(2026, 11, 30, 10, 30), False, 3, paris(2026, 11, 30, 12, 30), paris(2026, 11, 30, 12, 30), "camille"),
    # +2 business hours would pass the close: the next opening, as for a voicemail at 17:00 (issue 10 item 14)
    (paris(2026, 12, 4, 16, 30), False, 3, paris(2026, 12, 7, 9, 0), paris(2026, 12, 7, 9, 0), "camille"),
    (paris(2026, 12, 4, 16, 59, 59), False, 3, paris(2026, 12, 7, 9, 0), paris(2026, 12, 7, 9, 0), "camille"),
    (paris(2026, 12, 4, 14, 29, 59), False, 3, paris(2026, 12, 4, 16, 29, 59), paris(2026, 12, 4, 16, 30), "camille"),
    (paris(2026, 12, 4, 17, 0), False, 3, paris(2026, 12, 7, 9, 0), paris(2026, 12, 7, 9, 0), "camille"),
    (paris(2026, 3, 30, 8, 59, 59), False, 3, paris(2026, 3, 30, 9, 0), paris(2026, 3, 30, 9, 0), "camille"),
    (paris(2026, 12, 5, 3, 0), True, 1, paris(2026, 12, 5, 4, 0), paris(2026, 12, 5, 4, 0), "sam"),
    # Clocks go forward at 02:00 that night: one elapsed hour after 01:30 CET is 03:30 CEST.
    (paris(2026, 3, 29, 1, 30), True, 1, paris(2026, 3, 29, 3, 30), paris(2026, 3, 29, 3, 30), "sam"),
    (paris(2026, 12, 24, 19, 0), True, 1, paris(2026, 12, 24, 20, 0), paris(2026, 12, 24, 20, 0), "sam"),
]
SLA_IDS = [
    "christmas-eve-evening-to-monday-opening",
    "christmas-day-holiday-to-monday-opening",
    "monday-10:30-missed-plus-2-business-hours",
    "friday-16:30-missed-to-monday-opening",
    "friday-16:59:59-missed-to-monday-opening",
    "friday-14:29:59-missed-reserved-on-the-grid",
    "friday-17:00-after-hours-to-monday-opening",
    "dst-monday-08:59:59-to-09:00",
    "saturday-03:00-outage-within-the-hour",
    "dst-night-outage-wall-clock-hour",
    "christmas-eve-outage-does-not-wait-for-monday",
]


@pytest.mark.parametrize(("at", "press_1", "severity", "due", "reserved", "assignee"), SLA_CASES, ids=SLA_IDS)
def test_callback_due_time_follows_the_sla(
    hook, line, frozen, client, admin, at, press_1, severity, due, reserved, assignee
):
    leave_voicemail(hook, frozen, at, press_1=press_1)
    (cb,) = callbacks(client, admin, status="pending")
    assert cb["severity"] == severity
    assert datetime.fromisoformat(cb["due_at"]) == due
    assert cb["due_at"].endswith(due.strftime("%z")[:3] + ":00")  # shown in Paris time
    assert cb["agent"] == assignee
    assert datetime.fromisoformat(cb["reserved"]["start"]) == reserved
    assert datetime.fromisoformat(cb["reserved"]["end"]) - reserved == timedelta(minutes=15)


# -- critical outages ------------------------------------------------------------------------------


def test_pressing_1_pages_the_on_call_senior_at_once(hook, line, frozen, fake_twilio, smtp_sink, client, admin):
    frozen(paris(2026, 12, 5, 3, 0))  # Saturday night
    hook("/twilio/voice", CallSid="CA1", From=CALLER, To=LINE)
    frozen(paris(2026, 12, 5, 3, 0, 20))
    response, body = hook("/twilio/voice/menu", CallSid="CA1", Digits="1", From=CALLER)
    root = twiml(body)
    assert tags(root) == ["Say", "Say", "Record", "Hangup"]
    assert "astreinte" in root.find("Say").text
    assert len(fake_twilio.messages) == 1  # before any recording exists
    page = fake_twilio.messages[0]
    assert page.to == SENIOR_PHONE and page.body.startswith("CRITICAL")
    assert "Acme SA" in page.body and "Sat 05 Dec 04:00" in page.body

    hook("/twilio/voice/menu", CallSid="CA1", Digits="1", From=CALLER)  # Twilio retries the hook
    assert len(fake_twilio.messages) == 1

    frozen(paris(2026, 12, 5, 3, 2))
    record(hook)
    assert [m.to for m in fake_twilio.messages] == [SENIOR_PHONE, SENIOR_PHONE]
    assert [m["To"] for m in smtp_sink.messages] == ["sam@example.com"]
    assert smtp_sink.messages[0]["Cc"] == "camille@example.com"  # the customer's own agent is kept informed
    assert "[1 Critical]" in smtp_sink.messages[0]["Subject"]
    (cb,) = callbacks(client, admin)
    assert (cb["severity"], cb["agent"]) == (1, "sam")
    assert datetime.fromisoformat(cb["due_at"]) == paris(2026, 12, 5, 4, 0)  # from the call, not the recording
    # Outside business hours: the on-call senior's reservation is on the wall clock.
    assert datetime.fromisoformat(cb["reserved"]["start"]) == paris(2026, 12, 5, 4, 0)


def test_without_an_on_call_senior_the_dedicated_agent_is_paged(hook, make_agent, make_customer, frozen, fake_twilio):
    agent = make_agent(phone=AGENT_PHONE)
    make_agent(tier="senior", on_call=False, phone=SENIOR_PHONE)
    make_customer(agent["slug"], phones=[CALLER])
    leave_voicemail(hook, frozen, paris(2026, 12, 5, 3, 0), press_1=True)
    assert [m.to for m in fake_twilio.messages] == [AGENT_PHONE, AGENT_PHONE]


# -- the reservation -------------------------------------------------------------------------------


def test_two_outages_at_night_queue_back_to_back_on_the_senior(hook, line, make_customer, frozen, client, admin):
    other = make_customer(line["agent"]["slug"], name="Beta SARL", phones=["+33612340055"])
    leave_voicemail(hook, frozen, paris(2026, 12, 5, 3, 0), sid="CA1", press_1=True)
    leave_voicemail(hook, frozen, paris(2026, 12, 5, 3, 2), sid="CA2", press_1=True, caller=other["phones"][0])
    first, second = callbacks(client, admin)
    assert [first["agent"], second["agent"]] == ["sam", "sam"]
    assert datetime.fromisoformat(first["reserved"]["start"]) == paris(2026, 12, 5, 4, 0)
    # Due 04:02, rounded up to 04:05, but 04:00-04:15 is taken: the first free quarter hour after it.
    assert datetime.fromisoformat(second["due_at"]) == paris(2026, 12, 5, 4, 2)
    assert datetime.fromisoformat(second["reserved"]["start"]) == paris(2026, 12, 5, 4, 15)


def test_reservation_blocks_the_slot_for_customers(hook, line, frozen, client):
    leave_voicemail(hook, frozen, paris(2026, 11, 30, 10, 30))
    leave_voicemail(hook, frozen, paris(2026, 11, 30, 10, 30), sid="CA2")
    reserved = fresh().scalars(select(Booking).where(Booking.kind == "callback").order_by(Booking.start_at))
    assert [b.start_at for b in reserved] == [paris(2026, 11, 30, 12, 30), paris(2026, 11, 30, 13, 0)]

    slots = client.get("/api/agents/camille/availability?start=2026-11-30&end=2026-12-01").get_json()["slots"]
    starts = [s["start"] for s in slots]
    assert "2026-11-30T12:00:00+01:00" in starts and "2026-11-30T13:30:00+01:00" in starts
    assert "2026-11-30T12:30:00+01:00" not in starts and "2026-11-30T13:00:00+01:00" not in starts
    booking = {
        "token": line["customer"]["booking_token"],
        "duration": 30,
        "topic": "help",
        "name": "Alice",
        "email": "alice@customer.example",
    }
    for start in ("2026-11-30T12:30:00+01:00", "2026-11-30T13:00:00+01:00"):
        response = client.post("/api/bookings", json={**booking, "start": start})
        assert response.status_code == 409 and response.get_json()["error"]["code"] == "slot_unavailable"
    assert client.post("/api/bookings", json={**booking, "start": "2026-11-30T12:00:00+01:00"}).status_code == 201


def test_unknown_caller_voicemail_is_kept_unassigned(hook, line, frozen, fake_twilio, client, admin):
    leave_voicemail(hook, frozen, paris(2026, 12, 24, 19, 0), caller="+33698765432")
    (cb,) = callbacks(client, admin)
    assert (cb["customer"], cb["agent"], cb["reserved"]) == (None, None, None)
    assert cb["phone"] == "+33698765432" and cb["severity"] == 3
    assert datetime.fromisoformat(cb["due_at"]) == paris(2026, 12, 28, 9, 0)
    assert fake_twilio.messages == []


def test_recording_without_an_incoming_call_hook_is_still_stored(hook, line, frozen, client, admin):
    frozen(paris(2026, 12, 24, 19, 0))
    response, _ = hook(
        "/twilio/voicemail",
        CallSid="CAlost",
        RecordingSid="RElost",
        RecordingUrl="https://api.twilio.com/r/RElost",
        RecordingDuration="x",
        From=CALLER,
    )
    assert response.status_code == 200
    (cb,) = callbacks(client, admin)
    assert cb["customer"] == "Acme SA" and cb["agent"] == "camille" and cb["voicemail"]["duration"] == 0


# -- the admin API ---------------------------------------------------------------------------------


def test_callbacks_api_shape_filter_done_and_move(hook, line, frozen, client, admin):
    leave_voicemail(hook, frozen, paris(2026, 12, 24, 19, 0), sid="CA1")
    leave_voicemail(hook, frozen, paris(2026, 12, 24, 19, 5), sid="CA2")
    assert client.get("/api/callbacks").status_code == 401
    first, second = callbacks(client, admin, status="pending")
    assert {"id", "customer", "agent", "phone", "due_at", "status", "severity", "voicemail"} <= first.keys()
    assert first["voicemail"]["recording_url"].endswith("/RECA1") and first["voicemail"]["duration"] == 42
    assert (first["customer"], first["agent"], first["phone"]) == ("Acme SA", "camille", CALLER)
    assert [first["reserved"]["start"], second["reserved"]["start"]] == [
        "2026-12-28T09:00:00+01:00",
        "2026-12-28T09:30:00+01:00",
    ]

    done = client.post(f"/api/callbacks/{first['id']}/done", headers=admin)
    assert done.status_code == 200
    assert done.get_json()["status"] == "done" and done.get_json()["reserved"]["status"] == "cancelled"
    assert client.post(f"/api/callbacks/{first['id']}/done", headers=admin).status_code == 200
    assert [c["id"] for c in callbacks(client, admin, status="pending")] == [second["id"]]
    assert [c["id"] for c in callbacks(client, admin, status="done")] == [first["id"]]
    assert len(callbacks(client, admin)) == 2
    assert [c["id"] for c in callbacks(client, admin, agent="camille")] == [first["id"], second["id"]]
    assert callbacks(client, admin, agent="sam") == []
    slots = client.get("/api/agents/camille/availability?start=2026-12-28&end=2026-12-29").get_json()["slots"]
    assert slots[0]["start"] == "2026-12-28T09:00:00+01:00"  # given back to customers

    moved = client.post(
        f"/api/callbacks/{second['id']}/move", json={"due_at": "2026-12-29T14:10:00+01:00"}, headers=admin
    )
    assert moved.status_code == 200, moved.get_json()
    body = moved.get_json()
    assert body["due_at"] == "2026-12-29T14:10:00+01:00"
    assert body["reserved"]["start"] == "2026-12-29T14:30:00+01:00"  # next slot on the grid
    assert body["reserved"]["uid"] == second["reserved"]["uid"]  # same calendar event, moved
    assert fresh().get(Booking, body["reserved"]["booking_id"]).sequence == 1

    errors = {
        "past": client.post(
            f"/api/callbacks/{second['id']}/move", json={"due_at": "2026-12-01T09:00:00+01:00"}, headers=admin
        ),
        "done": client.post(
            f"/api/callbacks/{first['id']}/move", json={"due_at": "2026-12-29T09:00:00+01:00"}, headers=admin
        ),
        "unknown": client.post("/api/callbacks/999/done", headers=admin),
        "naive": client.post(
            f"/api/callbacks/{second['id']}/move", json={"due_at": "2026-12-29T09:00:00"}, headers=admin
        ),
    }
    expected = {"past": 400, "done": 409, "unknown": 404, "naive": 400}
    assert {name: r.status_code for name, r in errors.items()} == expected
    assert all(r.is_json and "error" in r.get_json() for r in errors.values())


def test_callbacks_api_is_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert "get" in paths["/api/callbacks"]
    assert "post" in paths["/api/callbacks/{callback_id}/done"]
    assert "post" in paths["/api/callbacks/{callback_id}/move"]


# -- overdue reminders -----------------------------------------------------------------------------


def test_overdue_callback_reminds_the_agent_once(hook, line, frozen, fake_twilio, client, admin):
    from booking.jobs import registered_jobs

    job = next(j for j in registered_jobs() if j.name == "callbacks.overdue")
    leave_voicemail(hook, frozen, paris(2026, 12, 24, 19, 0), sid="CA1")
    leave_voicemail(hook, frozen, paris(2026, 12, 24, 19, 5), sid="CA2")
    first, second = callbacks(client, admin)
    assert client.post(f"/api/callbacks/{second['id']}/done", headers=admin).status_code == 200
    assert len(fake_twilio.messages) == 2  # the two "new voicemail" texts

    frozen(paris(2026, 12, 28, 8, 59))
    job.fn()
    assert len(fake_twilio.messages) == 2  # not due yet
    frozen(paris(2026, 12, 28, 9, 1))
    job.fn()
    job.fn()
    reminders = fake_twilio.messages[2:]
    assert len(reminders) == 1  # once, and none for the callback already done
    assert reminders[0].to == AGENT_PHONE and reminders[0].body.startswith("OVERDUE")

    moved = client.post(
        f"/api/callbacks/{first['id']}/move", json={"due_at": "2026-12-28T11:00:00+01:00"}, headers=admin
    )
    assert moved.status_code == 200
    frozen(paris(2026, 12, 28, 11, 1))
    job.fn()
    assert len(fake_twilio.messages) == 4  # the new due time passed too


def test_move_never_gives_a_reservation_back_to_a_callback_done_meanwhile(
    hook, line, frozen, client, admin, monkeypatch
):
    """The agent marks the callback done between a move's first check and its transaction: 409."""
    from contextlib import contextmanager

    import booking.services.callbacks as service

    leave_voicemail(hook, frozen, paris(2026, 11, 30, 20, 0))  # after hours
    (pending,) = callbacks(client, admin, status="pending")
    real = service.write_transaction

    @contextmanager
    def complete_first(session):
        monkeypatch.setattr(service, "write_transaction", real)
        service.complete(session, pending["id"], clock.now())
        with real(session) as s:
            yield s

    monkeypatch.setattr(service, "write_transaction", complete_first)
    response = client.post(
        f"/api/callbacks/{pending['id']}/move", json={"due_at": "2026-12-01T14:00:00+01:00"}, headers=admin
    )
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "not_pending"
    db.session.rollback()
    live = db.session.scalar(select(func.count()).where(Booking.kind == "callback", Booking.status == "confirmed"))
    assert live == 0
