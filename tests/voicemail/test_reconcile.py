"""The reconciliation job stores voicemails whose webhook was lost, once, from Twilio's REST API.

Real SDK against the local Twilio stand-in (Recordings list, Calls fetch); real database.
"""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select

from booking import clock
from booking.extensions import db
from booking.models import Call, Callback, Voicemail
from booking.routes.common import settings
from booking.voicemail.reconcile import reconcile_recordings, twilio_rest_client
from tests.voicemail.conftest import AGENT_PHONE, CALLER, LINE, paris, twiml

CALL = "CA" + "a" * 32
RECORDING = "RE" + "a" * 32


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def line(make_agent, make_customer):
    agent = make_agent(slug="camille", name="Camille Martin", phone=AGENT_PHONE, email="camille@example.com")
    make_customer(agent["slug"], name="Acme SA", phones=[CALLER])
    return agent


def run():
    return reconcile_recordings(db.session, settings(), twilio_rest_client(settings()), clock.now())


def test_a_recording_whose_webhook_was_lost_is_stored_once(hook, line, frozen, fake_twilio):
    """The incoming-call hook got through, the recording callback did not: the job stores it, once."""
    frozen(paris(2026, 12, 1, 19, 0))
    assert twiml(hook("/twilio/voice", CallSid=CALL, From=CALLER, To=LINE)[1]).tag == "Response"
    url = fake_twilio.add_recording(RECORDING, CALL, paris(2026, 12, 1, 19, 1))
    frozen(paris(2026, 12, 1, 19, 10))

    first = run()
    assert first.stored == [RECORDING] and first.listed == 1
    assert count(Voicemail) == 1 and count(Callback) == 1
    voicemail = db.session.scalar(select(Voicemail))
    assert voicemail.recording_url == url and voicemail.duration == 12
    assert voicemail.received_at == paris(2026, 12, 1, 19, 0).astimezone(UTC)  # SLA from the call

    again = run()
    assert again.stored == [] and count(Voicemail) == 1 and count(Callback) == 1
    # Twilio retrying the webhook later changes nothing either.
    replay, _ = hook(
        "/twilio/voicemail",
        CallSid=CALL,
        RecordingSid=RECORDING,
        RecordingUrl=url,
        RecordingDuration="12",
        RecordingStatus="completed",
    )
    assert replay.status_code == 200
    assert count(Voicemail) == 1 and count(Callback) == 1
    since = fake_twilio.recording_lists[0]["DateCreated>"]
    assert since == (paris(2026, 12, 1, 19, 10) - timedelta(days=2)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_without_any_hook_the_call_is_fetched_and_the_sla_starts_when_the_customer_called(
    line, frozen, fake_twilio, client, admin
):
    """Every webhook of the call was lost (the fallback URL took the message): the job reads the call."""
    fake_twilio.add_call(CALL, CALLER, LINE, paris(2026, 12, 1, 16, 50))
    fake_twilio.add_recording(RECORDING, CALL, paris(2026, 12, 1, 16, 52))
    frozen(paris(2026, 12, 1, 18, 0))
    result = run()
    assert result.stored == [RECORDING]
    call = db.session.scalar(select(Call).where(Call.call_sid == CALL))
    assert call is not None and call.received_at == paris(2026, 12, 1, 16, 50).astimezone(UTC)
    assert call.after_hours is False  # 16:50 was business time, whatever the job's own clock says
    callbacks = client.get("/api/callbacks", headers=admin).get_json()["callbacks"]
    assert [(cb["customer"], cb["agent"]) for cb in callbacks] == [("Acme SA", "camille")]


def test_only_completed_voicemail_recordings_count(line, frozen, fake_twilio):
    frozen(paris(2026, 12, 1, 19, 0))
    fake_twilio.add_call(CALL, CALLER, LINE, paris(2026, 12, 1, 18, 0))
    fake_twilio.add_recording("RE" + "b" * 32, CALL, paris(2026, 12, 1, 18, 1), status="in-progress")
    fake_twilio.add_recording("RE" + "c" * 32, CALL, paris(2026, 12, 1, 18, 1), source="DialVerb")
    fake_twilio.add_recording("RE" + "d" * 32, CALL, paris(2026, 11, 20, 18, 1))  # outside the window
    assert run().stored == []
    assert count(Voicemail) == 0


def test_many_missed_recordings_are_read_across_pages(line, frozen, fake_twilio):
    frozen(paris(2026, 12, 1, 19, 0))
    sids = []
    for n in range(130):  # more than one page of 100
        call_sid = f"CA{n:032x}"
        fake_twilio.add_call(call_sid, CALLER, LINE, paris(2026, 12, 1, 18, 0) + timedelta(seconds=n))
        sids.append(f"RE{n:032x}")
        fake_twilio.add_recording(sids[-1], call_sid, paris(2026, 12, 1, 18, 1) + timedelta(seconds=n))
    result = run()
    assert sorted(result.stored) == sorted(sids)
    assert count(Voicemail) == 130 and count(Callback) == 130
    assert len(fake_twilio.recording_lists) == 2
    assert run().stored == []


def test_without_twilio_credentials_the_job_does_nothing(app):
    assert reconcile_recordings(db.session, settings(), None, clock.now()).listed == 0
