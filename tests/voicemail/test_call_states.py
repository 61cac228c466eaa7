"""``calls.status`` through the real webhooks: every hook moves it by the state table, never past it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from booking.extensions import db
from booking.models import Call
from tests.voicemail.conftest import AGENT_PHONE, CALLER, LINE, paris, tags, twiml


@pytest.fixture
def customer(make_agent, make_customer):
    agent = make_agent(name="Camille Martin", phone=AGENT_PHONE)
    return make_customer(agent["slug"], phones=[CALLER])


def status() -> str:
    db.session.expire_all()
    return db.session.scalar(select(Call.status))


def test_an_undocumented_dial_status_is_stored_as_failed_and_takes_a_voicemail(hook, customer, frozen):
    """Before, the raw value was stored; the calls.status CHECK would now refuse it and lose the caller."""
    frozen(paris(2026, 11, 30, 10, 0))
    hook("/twilio/voice", CallSid="CA1", From=CALLER, To=LINE)
    response, body = hook("/twilio/voice/dial-status", CallSid="CA1", DialCallStatus="exploded", From=CALLER)
    assert response.status_code == 200
    assert twiml(body).find("Record") is not None
    assert status() == "failed"


def test_a_dial_status_without_a_value_is_failed_too(hook, customer, frozen):
    frozen(paris(2026, 11, 30, 10, 0))
    hook("/twilio/voice", CallSid="CA1", From=CALLER, To=LINE)
    hook("/twilio/voice/dial-status", CallSid="CA1", From=CALLER)
    assert status() == "failed"


def test_a_late_dial_status_cannot_rewind_a_critical_call(hook, customer, frozen, fake_twilio):
    """A confused hook gets the apology and leaves the state alone (it used to overwrite ``critical``)."""
    frozen(paris(2026, 12, 5, 3, 0))  # Saturday night: the after-hours menu
    hook("/twilio/voice", CallSid="CA1", From=CALLER, To=LINE)
    assert status() == "after-hours"
    hook("/twilio/voice/menu", CallSid="CA1", Digits="1", From=CALLER)
    assert status() == "critical"
    response, body = hook("/twilio/voice/dial-status", CallSid="CA1", DialCallStatus="busy", From=CALLER)
    assert response.status_code == 200 and tags(twiml(body)) == ["Say", "Say", "Hangup"]
    assert status() == "critical"


def test_a_whole_missed_call_walks_the_table(hook, customer, frozen):
    frozen(paris(2026, 11, 30, 10, 0))
    hook("/twilio/voice", CallSid="CA1", From=CALLER, To=LINE)
    assert status() == "dialing"
    hook("/twilio/voice/dial-status", CallSid="CA1", DialCallStatus="no-answer", From=CALLER)
    hook("/twilio/voice/dial-status", CallSid="CA1", DialCallStatus="no-answer", From=CALLER)  # retried
    assert status() == "no-answer"
    hook("/twilio/voice", CallSid="CA1", From=CALLER, To=LINE)  # a retried first hook changes nothing
    assert status() == "no-answer"
    hook(
        "/twilio/voicemail",
        CallSid="CA1",
        RecordingSid="RE1",
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        RecordingDuration="12",
        RecordingStatus="completed",
    )
    assert status() == "voicemail"
