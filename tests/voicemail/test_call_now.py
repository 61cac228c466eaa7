# ruff: noqa: F811 - pytest fixtures (client, sign_in) are imported from tests.dashboard.conftest
"""Click to call back (issue 16 item 3): "Call now" on a phone request, over signed Twilio webhooks.

The press (queue page with CSRF, or the API) commits an attempt row first; the outbox handler asks
the local Twilio REST stand-in (the real SDK over a real socket) to ring the agent, then Twilio
fetches the TwiML that dials the customer with the service's number. The customer's leg answering
is the request's first response (the callback is done, its reservation released); a missed attempt
is logged and the reservation kept. One outbound call per attempt, replays and double clicks included.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from booking import clock
from booking.extensions import db
from booking.models import Booking, Callback
from booking.models_calls import CallAttempt
from booking.services import outbox
from tests.dashboard.conftest import client, csrf, sign_in  # noqa: F401 - the dashboard client and sign-in
from tests.fixtures.twilio_rest import TEST_FROM_NUMBER
from tests.voicemail.conftest import AGENT_PHONE, CALLER, LINE, PUBLIC_URL, paris, post_hook, tags, twiml

MONDAY_10 = paris(2026, 11, 30, 10, 0)
CALL_SID = "CA" + "1" * 32


@pytest.fixture
def request_id(make_agent, make_customer, hook, frozen, client, admin):
    """Camille's customer called, nobody answered, a voicemail was left: one open phone request."""
    make_agent(slug="camille", name="Camille Martin", phone=AGENT_PHONE, email="camille@example.com")
    make_customer("camille", name="Acme SA", phones=[CALLER])
    frozen(MONDAY_10)
    hook("/twilio/voice", CallSid=CALL_SID, From=CALLER, To=LINE)
    hook("/twilio/voice/dial-status", CallSid=CALL_SID, DialCallStatus="no-answer", From=CALLER)
    response, _ = hook(
        "/twilio/voicemail",
        CallSid=CALL_SID,
        RecordingSid="RE" + "1" * 32,
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        RecordingDuration="30",
        RecordingStatus="completed",
    )
    assert response.status_code == 200
    (item,) = client.get("/api/requests", headers=admin).get_json()["requests"]
    assert reservation().status == "confirmed"  # the callback reserved time in Camille's calendar
    return item["id"]


def fresh():
    db.session.rollback()
    return db.session


def reservation() -> Booking:
    callback = fresh().scalar(select(Callback))
    assert callback is not None and callback.booking_id is not None
    booking = db.session.get(Booking, callback.booking_id)
    assert booking is not None
    return booking


def attempts() -> list[CallAttempt]:
    return list(fresh().scalars(select(CallAttempt).order_by(CallAttempt.attempt)))


def detail(client, admin, request_id):
    response = client.get(f"/api/requests/{request_id}", headers=admin)
    assert response.status_code == 200
    return response.get_json()


def closed(response):
    """Close the response as a WSGI server does once sent: the after-response outbox drain runs."""
    response.get_data()
    response.close()
    return response


def api_call(client, admin, request_id, **body):
    return closed(client.post(f"/api/requests/{request_id}/call", json=body, headers=admin))


def test_call_now_rings_the_agent_then_the_customer_once_and_the_answer_is_the_first_response(
    app,
    request_id,
    client,
    admin,
    sign_in,
    hook,
    fake_twilio,
    frozen,
):
    camille = app.test_client()
    sign_in(camille, "camille@example.com")
    frozen(MONDAY_10 + timedelta(minutes=20))
    page = camille.get("/agent/queue", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Call now" in page and 'name="attempt" value="1"' in page
    token = csrf(camille, "/agent/queue")
    assert closed(camille.post(f"/agent/queue/{request_id}/call", data={"attempt": "1"})).status_code == 400  # CSRF
    pressed = closed(camille.post(f"/agent/queue/{request_id}/call", data={"csrf_token": token, "attempt": "1"}))
    assert pressed.status_code == 303 and "notice=calling" in pressed.headers["Location"]

    (placed,) = fake_twilio.created_calls
    (attempt,) = attempts()
    assert placed["To"] == AGENT_PHONE and placed["From"] == TEST_FROM_NUMBER
    assert placed["Url"] == f"{PUBLIC_URL}/twilio/call-now/{attempt.id}/connect"
    assert placed["StatusCallback"] == f"{PUBLIC_URL}/twilio/call-now/{attempt.id}/agent-status"
    assert placed["StatusCallbackEvent"] == "answered completed"
    assert (attempt.attempt, attempt.status) == (1, "calling") and attempt.call_sid in fake_twilio.calls

    page = camille.get("/agent/queue", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Attempt 1: Ringing" in page and 'name="attempt"' not in page  # no second press while it rings

    # A double click, a replayed form and an API press during the ringing place no second call.
    again = closed(camille.post(f"/agent/queue/{request_id}/call", data={"csrf_token": token, "attempt": "1"}))
    assert "notice=called" in again.headers["Location"]
    assert api_call(client, admin, request_id, attempt=1).status_code == 200
    assert api_call(client, admin, request_id).status_code == 200  # no number: the ringing attempt
    assert len(fake_twilio.created_calls) == 1 and len(attempts()) == 1

    # The agent picks up: Twilio fetches the TwiML that dials the customer with our number.
    root = twiml(hook(f"/twilio/call-now/{attempt.id}/connect", CallSid=attempt.call_sid, CallStatus="in-progress")[1])
    assert tags(root) == ["Say", "Say", "Dial"] and "Acme SA" in root.find("Say").text
    dial = root.find("Dial")
    assert dial.get("callerId") == TEST_FROM_NUMBER
    assert dial.get("action") == f"{PUBLIC_URL}/twilio/call-now/{attempt.id}/dialed"
    (number,) = dial.findall("Number")
    assert number.text == CALLER
    assert number.get("statusCallback") == f"{PUBLIC_URL}/twilio/call-now/{attempt.id}/customer-status"
    assert number.get("statusCallbackEvent") == "answered completed"

    # The customer answers: first response recorded, callback done, reservation released.
    frozen(MONDAY_10 + timedelta(minutes=21))
    customer_leg = {"CallSid": "CA" + "2" * 32, "ParentCallSid": attempt.call_sid, "CallStatus": "in-progress"}
    hook(f"/twilio/call-now/{attempt.id}/customer-status", **customer_leg)
    item = detail(client, admin, request_id)
    assert item["status"] == "responded"
    assert datetime.fromisoformat(item["first_response_at"]) == MONDAY_10 + timedelta(minutes=21)
    assert reservation().status == "cancelled"
    assert fresh().scalar(select(Callback)).status == "done"
    called = [e for e in item["events"] if e["kind"] == "called"]
    assert [(e["details"]["outcome"], e["details"]["attempt"]) for e in called] == [("answered", 1)]

    # Replayed webhooks change nothing; the end of the conversation hangs up.
    frozen(MONDAY_10 + timedelta(minutes=30))
    hook(f"/twilio/call-now/{attempt.id}/customer-status", **customer_leg)
    hook(f"/twilio/call-now/{attempt.id}/customer-status", **{**customer_leg, "CallStatus": "completed"})
    assert tags(twiml(hook(f"/twilio/call-now/{attempt.id}/dialed", DialCallStatus="completed")[1])) == ["Hangup"]
    again = detail(client, admin, request_id)
    assert again["events"] == item["events"] and again["first_response_at"] == item["first_response_at"]
    assert attempts()[0].status == "connected" and len(fake_twilio.created_calls) == 1


def test_a_missed_attempt_is_logged_and_keeps_the_reservation_and_the_next_press_calls_again(
    request_id,
    client,
    admin,
    hook,
    fake_twilio,
    frozen,
):
    frozen(MONDAY_10 + timedelta(minutes=5))
    first = api_call(client, admin, request_id)
    assert first.status_code == 201 and first.get_json()["attempt"] == 1
    attempt_id = first.get_json()["id"]
    hook(f"/twilio/call-now/{attempt_id}/customer-status", CallSid="CA" + "3" * 32, CallStatus="no-answer")
    root = twiml(hook(f"/twilio/call-now/{attempt_id}/dialed", DialCallStatus="no-answer")[1])
    assert tags(root) == ["Say", "Say", "Hangup"] and "did not answer" in root.findall("Say")[1].text
    item = detail(client, admin, request_id)
    assert item["status"] == "open" and item["first_response_at"] is None
    assert [e["details"]["outcome"] for e in item["events"] if e["kind"] == "called"] == ["no-answer"]
    assert reservation().status == "confirmed" and fresh().scalar(select(Callback)).status == "pending"

    # The page now offers attempt 2; it places a second call, once.
    assert api_call(client, admin, request_id, attempt=2).status_code == 201
    assert api_call(client, admin, request_id, attempt=2).status_code == 200
    assert api_call(client, admin, request_id, attempt=1).status_code == 200  # a stale page: nothing new
    refused = api_call(client, admin, request_id, attempt=5)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "stale_attempt"
    assert [a.attempt for a in attempts()] == [1, 2] and len(fake_twilio.created_calls) == 2


def test_an_agent_who_does_not_pick_up_fails_the_attempt(request_id, client, admin, hook, fake_twilio, frozen):
    frozen(MONDAY_10 + timedelta(minutes=5))
    attempt_id = api_call(client, admin, request_id).get_json()["id"]
    hook(f"/twilio/call-now/{attempt_id}/agent-status", CallSid=attempts()[0].call_sid, CallStatus="busy")
    (called,) = [e for e in detail(client, admin, request_id)["events"] if e["kind"] == "called"]
    assert called["details"] == {"attempt": 1, "agent": "camille", "outcome": "busy", "leg": "agent"}
    assert reservation().status == "confirmed"


def test_twilio_refusing_the_call_fails_the_attempt_and_a_5xx_is_retried_once(
    request_id,
    client,
    admin,
    hook,
    fake_twilio,
    frozen,
):
    frozen(MONDAY_10 + timedelta(minutes=5))
    fake_twilio.fail_next(1, status=503, code=20503, message="Service unavailable")
    assert api_call(client, admin, request_id).status_code == 201
    assert fake_twilio.created_calls == [] and attempts()[0].status == "queued"
    frozen(MONDAY_10 + timedelta(minutes=15))  # past the back-off
    outbox.drain(fresh(), clock.now())
    assert len(fake_twilio.created_calls) == 1 and attempts()[0].status == "calling"
    outbox.drain(fresh(), clock.now())  # nothing left: still one call
    assert len(fake_twilio.created_calls) == 1

    hook(f"/twilio/call-now/{attempts()[0].id}/agent-status", CallSid=attempts()[0].call_sid, CallStatus="no-answer")
    fake_twilio.fail_next_invalid_to()
    assert api_call(client, admin, request_id, attempt=2).status_code == 201
    assert [a.status for a in attempts()] == ["failed", "failed"] and attempts()[1].outcome == "refused"
    assert len(fake_twilio.created_calls) == 1


def test_call_now_is_refused_without_a_session_or_on_another_agents_request(
    app,
    request_id,
    make_agent,
    sign_in,
    client,
):
    assert client.post(f"/api/requests/{request_id}/call", json={}).status_code == 401
    make_agent(slug="dana", phone="+33140000013", email="dana@example.com")
    dana = app.test_client()
    sign_in(dana, "dana@example.com")
    token = csrf(dana, "/agent")
    assert dana.post(f"/agent/queue/{request_id}/call", data={"csrf_token": token, "attempt": "1"}).status_code == 404
    response = dana.post(f"/api/requests/{request_id}/call", json={}, headers={"X-CSRFToken": token})
    assert response.status_code == 403 and attempts() == []


def test_the_call_webhooks_refuse_an_unsigned_or_forged_request(request_id, client, admin, fake_twilio, frozen):
    frozen(MONDAY_10 + timedelta(minutes=5))
    attempt_id = api_call(client, admin, request_id).get_json()["id"]
    path = f"/twilio/call-now/{attempt_id}/customer-status"
    assert client.post(path, data={"CallStatus": "in-progress"}).status_code == 403
    forged = post_hook(client, path, {"CallStatus": "in-progress"}, token="0" * 32)[0]
    assert forged.status_code == 403
    assert detail(client, admin, request_id)["first_response_at"] is None


@pytest.mark.env(TWILIO_ACCOUNT_SID=None)
def test_without_twilio_the_attempt_fails_visibly(request_id, client, admin, fake_twilio, frozen):
    frozen(MONDAY_10 + timedelta(minutes=5))
    assert api_call(client, admin, request_id).status_code == 201
    assert fake_twilio.created_calls == [] and attempts()[0].outcome == "not-configured"
    assert api_call(client, admin, request_id, attempt=2).status_code == 201  # a failed attempt may be retried
