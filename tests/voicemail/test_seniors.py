"""Press 2 for a senior technical agent (issue 16 item 1), over signed Twilio webhooks.

In business hours a customer with dedicated support first hears "press 2 for a senior"; no key
(Twilio falls through the ``<Gather>``) or another key reaches the dedicated agent as before. ``2``
rings every senior on duty at once, in one ``<Dial>``; nobody on duty or nobody answering leaves a
severity-2 message for the senior team and pages the on-call senior. SMS go through the real Twilio
SDK to the local Twilio REST stand-in; the clock is moved with time-machine.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from booking.db_guards import write_transaction
from booking.extensions import db
from booking.models import Agent, Call
from booking.services import schedule
from booking.vocabulary import BookingKind
from tests.voicemail.conftest import AGENT_PHONE, CALLER, LINE, PUBLIC_URL, paris, tags, twiml

MONDAY_10 = paris(2026, 11, 30, 10, 0)  # 09:00 UTC, 04:00 in New York
ON_CALL = "+33140000010"
NEW_YORK_EARLY = "+12125550001"
ON_LEAVE = "+33140000011"
OFF_SHIFT = "+12125550002"
IN_A_CALL = "+33140000012"


def fresh():
    """End the test's read transaction so it sees what the after-response drain committed."""
    db.session.rollback()
    return db.session


@pytest.fixture
def line(make_agent, make_customer):
    """A customer with the add-on, their dedicated agent, and the on-call senior (on duty, business hours)."""
    agent = make_agent(slug="camille", name="Camille Martin", phone=AGENT_PHONE)
    senior = make_agent(slug="sam", name="Sam Senior", phone=ON_CALL, tier="senior", on_call=True)
    customer = make_customer(agent["slug"], name="Acme SA", phones=[CALLER])
    return {"agent": agent, "senior": senior, "customer": customer}


@pytest.fixture
def seniors(line, make_agent, make_customer, client, admin):
    """Around the on-call senior: one senior on duty in New York and three who must not ring."""
    make_agent(
        slug="nina",
        phone=NEW_YORK_EARLY,
        tier="senior",
        timezone="America/New_York",
        working_hours={"mon": ["04:00-05:00"]},  # 10:00-11:00 in Paris: on duty only read in her own zone
    )
    make_agent(slug="leo", phone=ON_LEAVE, tier="senior")
    response = client.post(
        "/api/agents/leo/time-off",
        json={"start": "2026-11-30T00:00:00+01:00", "end": "2026-12-01T00:00:00+01:00", "reason": "leave"},
        headers=admin,
    )
    assert response.status_code == 201, response.get_json()
    make_agent(
        slug="olga",
        phone=OFF_SHIFT,
        tier="senior",
        timezone="America/New_York",
        working_hours={"mon": ["09:00-17:00"]},  # 15:00-23:00 in Paris: off shift at 10:00 Paris
    )
    make_agent(slug="ben", phone=IN_A_CALL, tier="senior")
    other = make_customer("ben", name="Beta SARL", phones=["+33612340055"])
    busy = fresh().scalar(select(Agent).where(Agent.slug == "ben"))
    with write_transaction(db.session):
        schedule.insert(
            db.session,
            MONDAY_10 - timedelta(days=3),
            kind=BookingKind.CALL,
            agent_id=busy.id,
            customer_id=other["id"],
            start=MONDAY_10 - timedelta(minutes=15),
            end=MONDAY_10 + timedelta(minutes=15),
            topic="help",
            contact_name="Bea",
            contact_email="bea@beta.example",
        )
    make_agent(slug="dana", phone="+33140000013")  # a dedicated agent on duty: not a senior


def call(hook, sid="CA1"):
    return twiml(hook("/twilio/voice", CallSid=sid, From=CALLER, To=LINE, CallStatus="ringing")[1])


def press(hook, digit: str, sid="CA1"):
    return twiml(hook("/twilio/voice/menu", CallSid=sid, Digits=digit, From=CALLER)[1])


def dial_ended(hook, status: str, sid="CA1"):
    return twiml(hook("/twilio/voice/dial-status", CallSid=sid, DialCallStatus=status, From=CALLER)[1])


def record(hook, sid="CA1"):
    return hook(
        "/twilio/voicemail",
        CallSid=sid,
        RecordingSid=f"RE{sid}",
        RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE{sid}",
        RecordingDuration="30",
        RecordingStatus="completed",
    )


def requests_of(client, admin, **query) -> list[dict]:
    response = client.get("/api/requests", query_string={"status": "all", **query}, headers=admin)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["requests"]


def status() -> str:
    return fresh().scalar(select(Call.status))


def says(element) -> str:
    return " ".join(say.text or "" for say in element.iter("Say"))


# -- the menu --------------------------------------------------------------------------------------


def test_in_hours_greeting_offers_press_2_then_dials_the_dedicated_agent(hook, line, frozen):
    frozen(MONDAY_10)
    root = call(hook)
    assert tags(root) == ["Gather", "Dial"]
    gather = root.find("Gather")
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == f"{PUBLIC_URL}/twilio/voice/menu" and gather.get("method") == "POST"
    assert [say.get("language") for say in gather.iter("Say")] == ["fr-FR", "en-US"]
    assert "appuyez sur 2" in says(gather) and "press 2" in says(gather)
    assert "Camille Martin" in says(gather)
    # Without a key Twilio goes on to this <Dial>: the dedicated agent, exactly as without the menu.
    dial = root.find("Dial")
    assert dial.get("action") == f"{PUBLIC_URL}/twilio/voice/dial-status"
    assert dial.get("timeout") == "20" and dial.get("callerId") == CALLER
    assert [n.text for n in dial.iter("Number")] == [AGENT_PHONE]


def test_no_key_reaches_the_dedicated_agent_and_a_missed_call_stays_theirs(hook, line, frozen, client, admin):
    frozen(MONDAY_10)
    call(hook)
    root = dial_ended(hook, "no-answer")  # the fall-through <Dial> was not answered
    assert root.find("Record") is not None and "Camille Martin" in says(root)
    record(hook)
    (request,) = requests_of(client, admin)
    assert (request["team"], request["severity"], request["agent"]) == ("dedicated", 3, "camille")


@pytest.mark.parametrize("digit", ["1", "5", "#"])
def test_another_key_in_hours_dials_the_dedicated_agent(hook, line, frozen, fake_twilio, digit):
    frozen(MONDAY_10)
    call(hook)
    root = press(hook, digit)
    assert tags(root) == ["Dial"]
    assert [n.text for n in root.iter("Number")] == [AGENT_PHONE]
    assert root.find("Dial").get("action") == f"{PUBLIC_URL}/twilio/voice/dial-status"
    assert status() == "dialing" and fake_twilio.messages == []  # "1" pages nobody in hours


def test_after_hours_the_menu_is_still_press_1_and_a_2_is_a_plain_message(hook, line, frozen, fake_twilio):
    frozen(paris(2026, 11, 30, 19, 0))
    root = call(hook)
    assert "appuyez sur 2" not in says(root) and root.find("Dial") is None
    root = press(hook, "2")
    assert root.find("Dial") is None and root.find("Record") is not None
    assert fake_twilio.messages == []


# -- press 2 ---------------------------------------------------------------------------------------


def test_press_2_rings_exactly_the_seniors_on_duty_at_once(hook, seniors, frozen, fake_twilio):
    frozen(MONDAY_10)
    call(hook)
    root = press(hook, "2")
    assert tags(root) == ["Say", "Say", "Dial"]
    (dial,) = root.findall("Dial")
    assert dial.get("action") == f"{PUBLIC_URL}/twilio/voice/dial-status"
    assert dial.get("callerId") == CALLER
    # One <Dial>, one <Number> each: on leave, off shift in New York and in a booked call are left out.
    assert [n.text for n in dial.findall("Number")] == [ON_CALL, NEW_YORK_EARLY]
    assert status() == "seniors"
    assert tags(dial_ended(hook, "completed")) == ["Hangup"]  # the first to answer took it
    assert status() == "answered" and fake_twilio.messages == []


def test_nobody_answers_voicemail_severity_2_for_the_senior_team(hook, seniors, frozen, fake_twilio, client, admin):
    frozen(MONDAY_10)
    call(hook)
    press(hook, "2")
    root = dial_ended(hook, "no-answer")
    assert root.find("Record") is not None and root.find("Dial") is None
    assert "senior" in says(root)
    dial_ended(hook, "no-answer")  # Twilio retries the hook: still one page
    pages = [m for m in fake_twilio.messages if "SENIOR NEEDED" in m.body]
    assert [m.to for m in pages] == [ON_CALL] and "Acme SA" in pages[0].body
    assert status() == "senior-voicemail"
    record(hook)
    (request,) = requests_of(client, admin)
    assert (request["channel"], request["team"], request["severity"]) == ("phone", "senior", 2)
    assert requests_of(client, admin, team="senior") == [request]
    # Severity 2 is wall-clock: first response within the hour of the call.
    assert datetime.fromisoformat(request["first_response_due_at"]) == MONDAY_10 + timedelta(hours=1)
    assert status() == "voicemail"


def test_nobody_on_duty_goes_straight_to_the_senior_voicemail(
    hook, line, make_agent, frozen, fake_twilio, client, admin
):
    frozen(MONDAY_10)
    # The only senior is on leave today; the on-call senior is still the one paged.
    response = client.post(
        "/api/agents/sam/time-off",
        json={"start": "2026-11-30T08:00:00+01:00", "end": "2026-11-30T18:00:00+01:00"},
        headers=admin,
    )
    assert response.status_code == 201
    call(hook)
    root = press(hook, "2")
    assert root.find("Dial") is None and root.find("Record") is not None
    assert status() == "senior-voicemail"
    press(hook, "2")  # a retried menu hook queues no second page
    assert [m.to for m in fake_twilio.messages if "SENIOR NEEDED" in m.body] == [ON_CALL]
    record(hook)
    (request,) = requests_of(client, admin)
    assert (request["team"], request["severity"]) == ("senior", 2)


def test_without_an_on_call_senior_the_dedicated_agent_is_paged_and_the_request_stays_senior(
    hook, make_agent, make_customer, frozen, fake_twilio, client, admin
):
    make_agent(slug="camille", name="Camille Martin", phone=AGENT_PHONE)
    make_agent(slug="sam", phone=ON_CALL, tier="senior", working_hours={})  # works no hours at all
    make_customer("camille", name="Acme SA", phones=[CALLER])
    frozen(MONDAY_10)
    assert tags(call(hook)) == ["Gather", "Dial"]
    press(hook, "2")
    assert [m.to for m in fake_twilio.messages if "SENIOR NEEDED" in m.body] == [AGENT_PHONE]
    record(hook)
    (request,) = requests_of(client, admin)
    assert (request["team"], request["severity"]) == ("senior", 2)
