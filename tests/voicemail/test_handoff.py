# ruff: noqa: F811 - pytest fixtures (client, sign_in) are imported from tests.dashboard.conftest
"""Warm hand-off (issue 16 item 2) and the seniors' own line of work (item 4), over signed webhooks.

While Camille talks to her customer she brings in a senior: the outbox handler (real Twilio SDK,
local REST stand-in) moves her leg and then the customer's into a ``<Conference>`` named after the
call and dials the senior into it; the conference's join/leave callbacks log who joined on the
senior-team request the hand-off opened. Seniors see the whole senior queue; an escalation from the
queue page pages the on-call senior for severity 1-2.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from booking import clock
from booking.extensions import db
from booking.services import outbox
from tests.dashboard.conftest import client, csrf, sign_in  # noqa: F401 - the dashboard client and sign-in
from tests.fixtures.twilio_rest import TEST_FROM_NUMBER
from tests.voicemail.conftest import AGENT_PHONE, CALLER, LINE, PUBLIC_URL, paris, tags, twiml

MONDAY_10 = paris(2026, 11, 30, 10, 0)
SAM = "+33140000010"
NINA = "+33140000020"
CALL_SID = "CA" + "a" * 32
AGENT_LEG = "CA" + "b" * 32
CONFERENCE = f"handoff-{CALL_SID}"
STATUS_URL = f"{PUBLIC_URL}/twilio/conference/status"


@pytest.fixture
def live_call(make_agent, make_customer, hook, frozen, fake_twilio):
    """Camille is on the phone with Acme (in hours, the agent's leg a child of the customer's call)."""
    make_agent(slug="camille", name="Camille Martin", phone=AGENT_PHONE, email="camille@example.com")
    make_agent(slug="sam", name="Sam Senior", phone=SAM, email="sam@example.com", tier="senior", on_call=True)
    make_agent(slug="nina", name="Nina Senior", phone=NINA, email="nina@example.com", tier="senior")
    make_customer("camille", name="Acme SA", phones=[CALLER])
    frozen(MONDAY_10)
    root = twiml(hook("/twilio/voice", CallSid=CALL_SID, From=CALLER, To=LINE)[1])
    assert tags(root) == ["Gather", "Dial"]
    fake_twilio.add_call(CALL_SID, CALLER, LINE, MONDAY_10)
    fake_twilio.add_child_call(CALL_SID, AGENT_LEG, AGENT_PHONE)
    frozen(MONDAY_10 + timedelta(minutes=4))


def fresh():
    db.session.rollback()
    return db.session


def closed(response):
    response.get_data()
    response.close()
    return response


def conference_of(document: str) -> ET.Element:
    root = twiml(document)
    assert tags(root) == ["Dial"]
    (conference,) = root.find("Dial")
    assert conference.tag == "Conference" and conference.text == CONFERENCE
    assert conference.get("statusCallback") == STATUS_URL and conference.get("statusCallbackEvent") == "join leave"
    return conference


def joined(hook, event: str, call_sid: str, label: str):
    response, _ = hook(
        "/twilio/conference/status",
        ConferenceSid="CF" + "c" * 32,
        FriendlyName=CONFERENCE,
        StatusCallbackEvent=event,
        CallSid=call_sid,
        ParticipantLabel=label,
    )
    assert response.status_code == 200


def test_the_agent_brings_a_senior_into_the_live_call(app, live_call, sign_in, hook, fake_twilio, client, admin):
    camille = app.test_client()
    sign_in(camille, "camille@example.com")
    token = csrf(camille, "/agent")
    started = closed(camille.post(f"/api/calls/{CALL_SID}/handoff", json={}, headers={"X-CSRFToken": token}))
    assert started.status_code == 201, started.get_json()
    body = started.get_json()
    assert (body["conference"], body["agent"], body["senior"]) == (CONFERENCE, "camille", "sam")  # first on duty

    # Both legs moved, the agent's first (found as the live child of the call), then the senior dialled.
    assert fake_twilio.call_lists[-1]["ParentCallSid"] == CALL_SID
    assert fake_twilio.call_lists[-1]["Status"] == "in-progress"
    assert [sid for sid, _ in fake_twilio.call_updates] == [AGENT_LEG, CALL_SID]
    agent_conf = conference_of(fake_twilio.call_updates[0][1]["Twiml"])
    assert agent_conf.get("participantLabel") == "agent:camille" and agent_conf.get("endConferenceOnExit") == "false"
    customer_conf = conference_of(fake_twilio.call_updates[1][1]["Twiml"])
    assert customer_conf.get("participantLabel") == "customer" and customer_conf.get("endConferenceOnExit") == "true"
    ((name, dialled),) = fake_twilio.participants
    assert name == CONFERENCE and dialled["To"] == SAM and dialled["From"] == TEST_FROM_NUMBER
    assert dialled["Label"] == "senior:sam" and dialled["EndConferenceOnExit"] == "false"
    assert dialled["ConferenceStatusCallback"] == STATUS_URL
    assert dialled["ConferenceStatusCallbackEvent"] == "join leave"

    # A second click is the same hand-off: nothing more reaches Twilio.
    again = closed(camille.post(f"/api/calls/{CALL_SID}/handoff", json={}, headers={"X-CSRFToken": token}))
    assert again.status_code == 200 and again.get_json() == body
    assert len(fake_twilio.call_updates) == 2 and len(fake_twilio.participants) == 1

    # The customer's <Dial> ends as the agent's leg leaves it: the caller is put in the conference, not hung up.
    customer_conf = conference_of(hook("/twilio/voice/dial-status", CallSid=CALL_SID, DialCallStatus="completed")[1])
    assert customer_conf.get("participantLabel") == "customer"

    # Who joined and left is logged on the senior-team request, once per participant and event.
    senior_leg = next(sid for sid, call in fake_twilio.calls.items() if call["to"] == SAM)
    joined(hook, "participant-join", CALL_SID, "customer")
    joined(hook, "participant-join", AGENT_LEG, "agent:camille")
    joined(hook, "participant-join", senior_leg, "senior:sam")
    joined(hook, "participant-join", senior_leg, "senior:sam")  # Twilio retried
    joined(hook, "participant-leave", AGENT_LEG, "")  # the agent may leave (known by the leg without a label)
    joined(hook, "conference-start", CALL_SID, "")  # not a participant event: ignored
    item = client.get(f"/api/requests/{body['request_id']}", headers=admin).get_json()
    assert (item["team"], item["agent"], item["severity"], item["status"]) == ("senior", "sam", 2, "responded")
    log = [(e["kind"], e["details"].get("agent")) for e in item["events"]]
    assert log == [
        ("created", None),
        ("handoff", "camille"),
        ("joined", "customer"),
        ("joined", "camille"),
        ("joined", "sam"),
        ("responded", None),
        ("left", "camille"),
    ]


def test_the_admin_chooses_the_senior_and_bad_calls_get_clear_errors(live_call, client, admin, fake_twilio):
    response = closed(client.post(f"/api/calls/{CALL_SID}/handoff", json={"senior": "nina"}, headers=admin))
    assert response.status_code == 201 and response.get_json()["senior"] == "nina"
    assert [form["To"] for _, form in fake_twilio.participants] == [NINA]
    bad = client.post("/api/calls/not-a-sid/handoff", json={}, headers=admin)
    assert bad.status_code == 400 and "error" in bad.get_json()
    unknown = client.post("/api/calls/CA" + "f" * 32 + "/handoff", json={}, headers=admin)
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "unknown_call"
    assert client.post(f"/api/calls/{CALL_SID}/handoff", json={}).status_code == 401


def test_only_the_agent_on_the_call_hands_it_off_and_only_while_it_is_live(
    app, live_call, make_agent, sign_in, hook, client, admin
):
    make_agent(slug="dana", phone="+33140000013", email="dana@example.com")
    dana = app.test_client()
    sign_in(dana, "dana@example.com")
    token = csrf(dana, "/agent")
    assert dana.post(f"/api/calls/{CALL_SID}/handoff", json={}, headers={"X-CSRFToken": token}).status_code == 404
    not_senior = client.post(f"/api/calls/{CALL_SID}/handoff", json={"senior": "dana"}, headers=admin)
    assert not_senior.status_code == 409 and not_senior.get_json()["error"]["code"] == "not_senior"
    hook("/twilio/voice/dial-status", CallSid=CALL_SID, DialCallStatus="completed")  # the call is over
    over = client.post(f"/api/calls/{CALL_SID}/handoff", json={}, headers=admin)
    assert over.status_code == 409 and over.get_json()["error"]["code"] == "not_in_progress"


# -- item 4: the seniors' own line of work ---------------------------------------------------------


def test_a_press_2_voicemail_is_in_every_seniors_queue(app, live_call, sign_in, hook, frozen, client, admin):
    sid = "CA" + "d" * 32
    frozen(MONDAY_10 + timedelta(minutes=30))
    hook("/twilio/voice", CallSid=sid, From=CALLER, To=LINE)
    assert tags(twiml(hook("/twilio/voice/menu", CallSid=sid, Digits="2", From=CALLER)[1]))[-1] == "Dial"
    hook("/twilio/voice/dial-status", CallSid=sid, DialCallStatus="no-answer", From=CALLER)
    hook(
        "/twilio/voicemail",
        CallSid=sid,
        RecordingSid="RE" + "d" * 32,
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        RecordingDuration="20",
        RecordingStatus="completed",
    )
    (item,) = client.get("/api/requests", headers=admin).get_json()["requests"]
    assert (item["team"], item["agent"]) == ("senior", "sam")  # assigned to the on-call senior
    for email in ("sam@example.com", "nina@example.com"):  # ... and on every senior's queue page
        senior = app.test_client()
        sign_in(senior, email)
        page = senior.get("/agent/queue", headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert f'id="request-{item["id"]}"' in page and "Senior team" in page
    camille = app.test_client()
    sign_in(camille, "camille@example.com")
    assert f'id="request-{item["id"]}"' not in camille.get("/agent/queue").get_data(as_text=True)


def test_an_escalation_from_the_queue_page_pages_the_on_call_senior_for_severity_2(
    app, live_call, sign_in, hook, fake_twilio, client, admin
):
    hook("/twilio/voice/dial-status", CallSid=CALL_SID, DialCallStatus="no-answer", From=CALLER)
    hook(
        "/twilio/voicemail",
        CallSid=CALL_SID,
        RecordingSid="RE" + "a" * 32,
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        RecordingDuration="20",
        RecordingStatus="completed",
    )
    (item,) = client.get("/api/requests", headers=admin).get_json()["requests"]
    camille = app.test_client()
    sign_in(camille, "camille@example.com")
    token = csrf(camille, "/agent/queue")
    closed(camille.post(f"/agent/queue/{item['id']}/escalate", data={"csrf_token": token, "note": "sev 3"}))
    assert [m for m in fake_twilio.messages if m.to == SAM and "ESCALATED" in m.body] == []  # severity 3 waits

    other = "CA" + "e" * 32
    hook("/twilio/voice", CallSid=other, From=CALLER, To=LINE)
    hook("/twilio/voice/dial-status", CallSid=other, DialCallStatus="busy", From=CALLER)
    hook(
        "/twilio/voicemail",
        CallSid=other,
        RecordingSid="RE" + "e" * 32,
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE2",
        RecordingDuration="20",
        RecordingStatus="completed",
    )
    second = next(r for r in client.get("/api/requests", headers=admin).get_json()["requests"] if r["id"] != item["id"])
    assert client.patch(f"/api/requests/{second['id']}", json={"severity": 2}, headers=admin).status_code == 200
    page = closed(camille.post(f"/agent/queue/{second['id']}/escalate", data={"csrf_token": token, "note": "down"}))
    assert page.status_code == 303 and "notice=escalated" in page.headers["Location"]
    (paged,) = [m for m in fake_twilio.messages if m.to == SAM and "ESCALATED" in m.body]
    assert f"request #{second['id']}" in paged.body


def test_the_dashboard_offers_the_live_call_to_a_chosen_senior(app, live_call, sign_in, fake_twilio):
    camille = app.test_client()
    sign_in(camille, "camille@example.com")
    page = camille.get("/agent", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'id="live"' in page and "Bring in a senior" in page and "Acme SA" in page
    assert '<option value="sam">' in page and '<option value="nina">' in page  # the seniors on duty
    token = csrf(camille, "/agent")
    path = f"/agent/calls/{CALL_SID}/handoff"
    assert camille.post(path, data={"senior": "nina"}).status_code == 400  # no CSRF token
    done = closed(camille.post(path, data={"csrf_token": token, "senior": "nina"}))
    assert done.status_code == 303 and "notice=handoff" in done.headers["Location"]
    assert [form["To"] for _, form in fake_twilio.participants] == [NINA]
    again = closed(camille.post(path, data={"csrf_token": token, "senior": "sam"}))
    assert "notice=handoff_again" in again.headers["Location"] and len(fake_twilio.participants) == 1
    page = camille.get("/agent", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Nina Senior" in page and "Bring in a senior" not in page
    french = camille.get("/agent", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "En ligne maintenant" in french


def test_a_twilio_outage_during_the_hand_off_is_retried_and_dials_the_senior_once(
    live_call, client, admin, fake_twilio, frozen
):
    fake_twilio.fail_next(1, status=503, code=20503, message="Service unavailable")
    assert closed(client.post(f"/api/calls/{CALL_SID}/handoff", json={}, headers=admin)).status_code == 201
    assert fake_twilio.call_updates == [] and fake_twilio.participants == []
    frozen(MONDAY_10 + timedelta(minutes=10))  # past the back-off
    outbox.drain(fresh(), clock.now())
    assert [sid for sid, _ in fake_twilio.call_updates] == [AGENT_LEG, CALL_SID]
    assert len(fake_twilio.participants) == 1
    outbox.drain(fresh(), clock.now())
    assert len(fake_twilio.call_updates) == 2 and len(fake_twilio.participants) == 1
