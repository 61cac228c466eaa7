"""The phone line and the customer's backup agent (issue 19, secondary; the gap left by issue 14).

When the dedicated agent is away - a time off period running now, or deactivated - an in-hours call
from the customer rings the backup agent, and the voicemail's callback is the backup's. Outside time
off the dedicated agent keeps every call. Real time off and deactivation through the admin API.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from booking.extensions import db
from booking.models import Agent, Call, Callback
from tests.voicemail.conftest import AGENT_PHONE, CALLER, LINE, paris, twiml

BACKUP_PHONE = "+33140000077"


@pytest.fixture
def acme(make_agent: Any, make_customer: Any) -> dict[str, Any]:
    make_agent(slug="camille", name="Camille Martin", phone=AGENT_PHONE)
    make_agent(slug="dana", name="Dana Roux", phone=BACKUP_PHONE)
    return make_customer("camille", name="Acme", phones=[CALLER], backup_agent="dana")  # type: ignore[no-any-return]


def _time_off(client: Any, admin: dict[str, str]) -> None:
    body = {"start": "2026-12-01T00:00:00+01:00", "end": "2026-12-02T00:00:00+01:00", "reason": "holiday"}
    assert client.post("/api/agents/camille/time-off", json=body, headers=admin).status_code == 201


def _dialled(hook: Any, sid: str) -> str:
    root = twiml(hook("/twilio/voice", CallSid=sid, From=CALLER, To=LINE)[1])
    dial = root.find("Dial")
    assert dial is not None, [child.tag for child in root]
    return dial.find("Number").text  # type: ignore[union-attr]


def _agent_slug(agent_id: int | None) -> str | None:
    return db.session.scalar(select(Agent.slug).where(Agent.id == agent_id)) if agent_id else None


def test_during_time_off_the_backup_is_rung_and_gets_the_callback(hook, client, admin, acme, frozen):
    _time_off(client, admin)
    frozen(paris(2026, 12, 1, 10, 0))  # Tuesday, Camille is off
    assert _dialled(hook, "CAaway") == BACKUP_PHONE
    hook("/twilio/voice/dial-status", CallSid="CAaway", DialCallStatus="no-answer", From=CALLER)
    hook(
        "/twilio/voicemail",
        CallSid="CAaway",
        RecordingSid="REaway",
        RecordingUrl="https://api.twilio.com/r/REaway",
        RecordingDuration="9",
        RecordingStatus="completed",
    )
    db.session.rollback()
    assert _agent_slug(db.session.scalar(select(Call.agent_id).where(Call.call_sid == "CAaway"))) == "dana"
    assert _agent_slug(db.session.scalar(select(Callback.agent_id))) == "dana"


def test_outside_time_off_the_dedicated_agent_keeps_the_call(hook, client, admin, acme, frozen):
    _time_off(client, admin)
    frozen(paris(2026, 12, 2, 10, 0))  # Wednesday, Camille is back
    assert _dialled(hook, "CAback") == AGENT_PHONE


def test_a_deactivated_dedicated_agent_is_covered_by_the_backup(hook, client, admin, acme, frozen):
    assert client.post("/api/agents/camille/deactivate", headers=admin).status_code == 200
    frozen(paris(2026, 12, 2, 10, 0))
    assert _dialled(hook, "CAgone") == BACKUP_PHONE


def test_without_a_backup_time_off_changes_nothing(hook, client, admin, acme, frozen):
    assert client.patch(f"/api/customers/{acme['id']}", json={"backup_agent": None}, headers=admin).status_code == 200
    _time_off(client, admin)
    frozen(paris(2026, 12, 1, 10, 0))
    assert _dialled(hook, "CAnobackup") == AGENT_PHONE


def test_a_recording_whose_voice_hook_never_came_goes_to_the_backup(hook, client, admin, acme, frozen):
    """Review of issue 19: without a call row (the voice hook lost), the callback was the absent
    dedicated agent's (``dedicated_agent`` ignored the backup); so was a call first seen by a later
    hook. Both follow the voice hook's rule now (``calls.caller_for_number``)."""
    _time_off(client, admin)
    frozen(paris(2026, 12, 1, 10, 0))
    hook(
        "/twilio/voicemail",
        CallSid="CAlost",
        RecordingSid="RElost",
        RecordingUrl="https://api.twilio.com/r/RElost",
        RecordingDuration="9",
        RecordingStatus="completed",
        From=CALLER,
    )
    hook("/twilio/voice/dial-status", CallSid="CAlate", DialCallStatus="no-answer", From=CALLER)
    db.session.rollback()
    assert _agent_slug(db.session.scalar(select(Callback.agent_id))) == "dana"
    assert _agent_slug(db.session.scalar(select(Call.agent_id).where(Call.call_sid == "CAlate"))) == "dana"
