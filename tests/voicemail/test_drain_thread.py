"""The after-response drain off the request's thread (``BOOKING_OUTBOX_DRAIN_THREAD``, issue 19).

The webhook pool runs gunicorn SYNC workers: a worker accepts its next connection only when the
response's close has returned, so the voicemail's SMS and e-mail must not be sent there. With the
setting, the close only hands the drain to the process's drain thread; without it, it runs in place.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from booking import wiring
from tests.voicemail.conftest import AGENT_PHONE, CALLER, LINE, paris


@pytest.fixture
def line(make_agent: Any, make_customer: Any) -> None:
    agent = make_agent(slug="camille", name="Camille Martin", phone=AGENT_PHONE, email="camille@example.com")
    make_customer(agent["slug"], name="Acme SA", phones=[CALLER])


@pytest.fixture
def drained_in(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of the thread each after-response drain ran in."""
    threads: list[str] = []
    real = wiring.drain_now

    def recording(app: Any, ids: list[int]) -> None:
        if ids:
            threads.append(threading.current_thread().name)
        real(app, ids)

    monkeypatch.setattr(wiring, "drain_now", recording)
    return threads


def _voicemail(hook: Any, frozen: Any) -> None:
    frozen(paris(2026, 12, 24, 19, 0))  # after hours: the menu, then the message
    hook("/twilio/voice", CallSid="CA1", From=CALLER, To=LINE)
    response, _ = hook(
        "/twilio/voicemail",
        CallSid="CA1",
        RecordingSid="RE1",
        RecordingUrl="https://api.twilio.com/r/RE1",
        RecordingDuration="12",
        RecordingStatus="completed",
    )
    assert response.status_code == 200


@pytest.mark.env(BOOKING_OUTBOX_DRAIN_THREAD="1")
def test_with_the_setting_the_sms_and_mail_go_from_the_drain_thread(
    hook, line, frozen, fake_twilio, smtp_sink, drained_in
):
    _voicemail(hook, frozen)
    wiring.DRAINER.join()
    assert drained_in == ["booking-outbox-drain"]
    assert len(fake_twilio.messages) == 1 and fake_twilio.messages[0].to == AGENT_PHONE
    assert len(smtp_sink.messages) == 1


def test_without_it_the_drain_runs_in_the_request_thread(hook, line, frozen, fake_twilio, smtp_sink, drained_in):
    _voicemail(hook, frozen)
    assert drained_in == [threading.current_thread().name]
    assert len(fake_twilio.messages) == 1 and len(smtp_sink.messages) == 1


@pytest.mark.env(BOOKING_OUTBOX_DRAIN_THREAD="1")
def test_work_after_the_response_is_never_handed_to_the_thread(app, drained_in):
    """Review of issue 19: the thread's queue is bounded and dies with the process; a dropped drain
    leaves its rows to the scheduler, but a dropped ``work`` (the sign-in mail's lookup) would be lost.
    So only plain drains go to the thread; a response with work runs it in place."""
    from flask import Response

    ran_in: list[str] = []
    with app.test_request_context("/agent/sign-in", method="POST"):
        response = wiring.after_response(Response("ok"), lambda: ran_in.append(threading.current_thread().name))
        response.close()
    wiring.DRAINER.join()
    assert ran_in == [threading.current_thread().name]
