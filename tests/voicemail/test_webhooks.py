"""The Twilio webhooks over HTTP: signatures, routing by caller and by the business clock.

Every request is signed with the ``twilio`` library for ``BOOKING_PUBLIC_URL`` + path, exactly as
Twilio signs it, and every answer is parsed as XML.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import Call
from tests.fixtures.twilio_rest import TEST_AUTH_TOKEN, signed_post, twilio_signature
from tests.voicemail.conftest import AGENT_PHONE, CALLER, LINE, PUBLIC_URL, paris, post_hook, tags, twiml

SUPPORT = "+33140009999"


@pytest.fixture
def customer(make_agent, make_customer):
    agent = make_agent(name="Camille Martin", phone=AGENT_PHONE)
    return make_customer(agent["slug"], phones=[CALLER])


def call(hook, sid="CA1", caller=CALLER):
    return hook("/twilio/voice", CallSid=sid, From=caller, To=LINE, CallStatus="ringing")


def calls_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Call))


def says(element) -> list[str]:
    return [say.text or "" for say in element.iter("Say")]


def assert_records_voicemail(root) -> None:
    record = root.find("Record")
    assert record is not None, tags(root)
    assert record.get("recordingStatusCallback") == f"{PUBLIC_URL}/twilio/voicemail"
    assert record.get("recordingStatusCallbackEvent") == "completed"
    assert record.get("action") == f"{PUBLIC_URL}/twilio/voice/recorded"
    assert record.get("finishOnKey") == "#" and record.get("playBeep") == "true"
    assert int(record.get("maxLength")) > 0
    assert tags(root)[-1] == "Hangup"


# -- signatures ------------------------------------------------------------------------------------


def test_unsigned_forged_and_wrong_url_requests_are_refused(client, customer, frozen):
    frozen(paris(2026, 11, 30, 10, 0))
    params = {"CallSid": "CAforged", "From": CALLER, "To": LINE}
    path = "/twilio/voice"
    attempts = {
        "unsigned": client.post(path, data=params),
        "forged": client.post(
            path, data=params, headers={"X-Twilio-Signature": twilio_signature(PUBLIC_URL + path, params, "x" * 32)}
        ),
        # Signed for the URL the app sees behind the proxy, not the public one Twilio was given.
        "wrong url": signed_post(client, f"http://localhost{path}", params, TEST_AUTH_TOKEN),
        "other path": signed_post(
            client, f"http://localhost{path}", params, TEST_AUTH_TOKEN, signed_url=f"{PUBLIC_URL}/twilio/voicemail"
        ),
        "tampered form": client.post(
            path,
            data={**params, "From": "+33699999999"},
            headers={"X-Twilio-Signature": twilio_signature(PUBLIC_URL + path, params, TEST_AUTH_TOKEN)},
        ),
    }
    for name, response in attempts.items():
        assert response.status_code == 403, name
        assert response.mimetype == "text/xml", name
    for hook_path in ("/twilio/voice/dial-status", "/twilio/voice/menu", "/twilio/voicemail"):
        assert client.post(hook_path, data={"CallSid": "CAforged"}).status_code == 403
    assert calls_count() == 0
    response, _ = post_hook(client, path, params)
    assert response.status_code == 200


@pytest.mark.env(BOOKING_PUBLIC_URL="https://example.com/booking")
def test_behind_a_proxy_with_a_path_prefix(client, customer, frozen):
    """Twilio signs the public URL; the app sees http://localhost/twilio/voice through the proxy."""
    frozen(paris(2026, 11, 30, 10, 0))
    params = {"CallSid": "CA1", "From": CALLER, "To": LINE}
    public = "https://example.com/booking/twilio/voice"
    response = signed_post(client, "http://localhost/twilio/voice", params, TEST_AUTH_TOKEN, signed_url=public)
    assert response.status_code == 200
    assert twiml(response.get_data(as_text=True)).find("Dial").get("action") == (
        "https://example.com/booking/twilio/voice/dial-status"
    )
    assert signed_post(client, "http://localhost/twilio/voice", params, TEST_AUTH_TOKEN).status_code == 403


@pytest.mark.env(BOOKING_PUBLIC_URL="")
def test_without_a_public_url_the_request_url_is_checked(client, customer, frozen):
    frozen(paris(2026, 11, 30, 10, 0))
    params = {"CallSid": "CA1", "From": CALLER, "To": LINE}
    assert signed_post(client, "http://localhost/twilio/voice", params, TEST_AUTH_TOKEN).status_code == 200
    forged = signed_post(
        client, "http://localhost/twilio/voice", params, TEST_AUTH_TOKEN, signed_url=f"{PUBLIC_URL}/twilio/voice"
    )
    assert forged.status_code == 403


@pytest.mark.env(TWILIO_AUTH_TOKEN=None)
def test_webhooks_are_refused_while_no_auth_token_is_configured(client, customer):
    response, body = post_hook(client, "/twilio/voice", {"CallSid": "CA1", "From": CALLER, "To": LINE})
    assert response.status_code == 403
    assert calls_count() == 0


def test_webhooks_need_no_csrf_token_and_log_the_call_sid(client, customer, frozen, caplog):
    caplog.set_level("INFO", logger="booking.voicemail.routes")
    frozen(paris(2026, 11, 30, 10, 0))
    response, _ = post_hook(client, "/twilio/voice", {"CallSid": "CAlogged42", "From": CALLER, "To": LINE})
    assert response.status_code == 200
    assert any("CAlogged42" in record.getMessage() for record in caplog.records)


# -- routing in business hours ---------------------------------------------------------------------


def test_customer_is_dialled_to_the_dedicated_agent(hook, customer, frozen):
    frozen(paris(2026, 11, 30, 10, 0))
    response, body = call(hook)
    assert response.status_code == 200 and response.mimetype == "text/xml"
    root = twiml(body)
    assert tags(root) == ["Dial"]
    dial = root.find("Dial")
    assert dial.get("action") == f"{PUBLIC_URL}/twilio/voice/dial-status"
    assert dial.get("timeout") == "20"
    assert dial.get("callerId") == CALLER
    assert dial.find("Number").text == AGENT_PHONE


def test_caller_number_in_a_local_format_still_matches(hook, make_agent, make_customer, frozen):
    agent = make_agent(phone=AGENT_PHONE)
    make_customer(agent["slug"], phones=["+33612340077"])
    frozen(paris(2026, 11, 30, 10, 0))
    _, body = call(hook, caller="0612340077")  # hidden behind a carrier that sends national format
    assert twiml(body).find("Dial/Number").text == AGENT_PHONE


def test_the_call_is_recorded_once_per_call_sid(hook, customer, frozen):
    frozen(paris(2026, 11, 30, 10, 0))
    first = call(hook)[1]
    frozen(paris(2026, 11, 30, 17, 0, 5))  # a retry after closing time keeps the first decision
    assert call(hook)[1] == first
    assert calls_count() == 1
    row = db.session.scalar(select(Call))
    assert row.call_sid == "CA1" and row.from_number == CALLER and row.status == "dialing"
    assert row.customer_id == customer["id"] and not row.after_hours


@pytest.mark.parametrize("status", ["completed", "answered"])
def test_answered_dial_hangs_up(hook, customer, frozen, status):
    frozen(paris(2026, 11, 30, 10, 0))
    call(hook)
    response, body = hook("/twilio/voice/dial-status", CallSid="CA1", DialCallStatus=status, From=CALLER)
    assert response.status_code == 200
    assert tags(twiml(body)) == ["Hangup"]
    assert db.session.scalar(select(Call)).status == "answered"


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled"])
def test_missed_dial_takes_a_voicemail_naming_the_agent(hook, customer, frozen, status):
    frozen(paris(2026, 11, 30, 10, 0))
    call(hook)
    _, body = hook("/twilio/voice/dial-status", CallSid="CA1", DialCallStatus=status, From=CALLER)
    root = twiml(body)
    assert_records_voicemail(root)
    assert any("Camille Martin" in text for text in says(root))
    assert db.session.scalar(select(Call)).status == status


@pytest.mark.env(BOOKING_SUPPORT_NUMBER=SUPPORT)
def test_unknown_callers_and_customers_without_the_add_on_go_to_support(hook, make_customer, frozen):
    make_customer(None, plan="standard", phones=["+33612340099"])
    frozen(paris(2026, 11, 30, 10, 0))
    for sid, caller in (("CAunknown", "+33698765432"), ("CAbasic", "+33612340099"), ("CAanon", "anonymous")):
        _, body = call(hook, sid=sid, caller=caller)
        root = twiml(body)
        assert root.find("Dial/Number").text == SUPPORT, caller
        assert root.find("Dial").get("action") == f"{PUBLIC_URL}/twilio/voice/dial-status"
    frozen(paris(2026, 11, 30, 22, 0))  # the general line has its own hours and voicemail
    _, body = call(hook, sid="CAnight", caller="+33698765432")
    assert twiml(body).find("Dial/Number").text == SUPPORT


def test_unknown_callers_leave_a_voicemail_without_a_support_number(hook, frozen):
    frozen(paris(2026, 11, 30, 10, 0))
    _, body = call(hook, caller="+33698765432")
    root = twiml(body)
    assert_records_voicemail(root)
    assert root.find("Dial") is None and root.find("Gather") is None
    frozen(paris(2026, 11, 30, 22, 0))
    _, body = call(hook, sid="CA2", caller="anonymous")
    root = twiml(body)
    assert_records_voicemail(root)
    assert root.find("Gather") is None  # strangers cannot page the on-call engineer
    assert "mardi 1er décembre à 9 h" in says(root)[0]


# -- routing by the business clock -----------------------------------------------------------------


def _is_dialled(hook, sid: str) -> bool:
    root = twiml(call(hook, sid=sid)[1])
    if root.find("Dial") is not None:
        return True
    assert root.find("Gather") is not None and root.find("Record") is not None
    return False


@pytest.mark.parametrize(
    "day",
    [
        (2026, 11, 30),  # an ordinary winter Monday (UTC+1)
        (2026, 3, 30),  # the Monday after clocks went forward (UTC+2 since Sunday 02:00)
        (2026, 10, 26),  # the Monday after clocks went back (UTC+1 since Sunday 03:00)
    ],
    ids=["winter", "after-spring-forward", "after-fall-back"],
)
def test_business_hours_boundaries(hook, customer, frozen, day):
    expected = {(8, 59, 59): False, (9, 0, 0): True, (16, 59, 59): True, (17, 0, 0): False}
    for (h, m, s), dialled in expected.items():
        frozen(paris(*day, h, m, s))
        assert _is_dialled(hook, f"CA{day}{h}{m}{s}") is dialled, (day, h, m, s)


def test_dst_sunday_is_closed(hook, customer, frozen):
    for moment in (paris(2026, 3, 29, 10, 0), paris(2026, 10, 25, 10, 0)):
        frozen(moment)
        assert not _is_dialled(hook, f"CA{moment:%m%d}")


def test_after_hours_menu_says_when_the_line_opens_in_both_languages(hook, customer, frozen):
    frozen(paris(2026, 12, 25, 10, 0))  # Christmas, a Friday: closed, next opening Monday 28 09:00
    response, body = call(hook)
    root = twiml(body)
    assert tags(root) == ["Say", "Say", "Gather", "Say", "Say", "Record", "Hangup"]
    fr, en = root.findall("Say")[:2]
    assert fr.get("language") == "fr-FR" and en.get("language") == "en-US"
    assert "lundi 28 décembre à 9 h" in fr.text and "de 9 h à 17 h" in fr.text
    assert "Monday 28 December at 9:00" in en.text
    gather = root.find("Gather")
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == f"{PUBLIC_URL}/twilio/voice/menu"
    assert any("1" in text for text in says(gather))
    assert_records_voicemail(root)
    assert db.session.scalar(select(Call)).after_hours


def test_menu_without_1_is_a_plain_voicemail_and_record_action_thanks(hook, customer, frozen):
    frozen(paris(2026, 12, 5, 3, 0))
    call(hook)
    _, body = hook("/twilio/voice/menu", CallSid="CA1", Digits="7", From=CALLER)
    assert_records_voicemail(twiml(body))
    assert db.session.scalar(select(Call)).severity == 3
    _, body = hook("/twilio/voice/recorded", CallSid="CA1", RecordingSid="RE1")
    assert tags(twiml(body)) == ["Say", "Say", "Hangup"]


# -- failures --------------------------------------------------------------------------------------


def test_a_failure_gives_the_caller_an_apology_not_an_html_500(hook, customer, frozen, monkeypatch):
    from booking.services import calls

    def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(calls, "incoming_call", broken)
    frozen(paris(2026, 11, 30, 10, 0))
    response, body = call(hook)
    assert response.status_code == 200 and response.mimetype == "text/xml"
    root = twiml(body)
    assert tags(root) == ["Say", "Say", "Hangup"]


def test_recording_callback_failure_is_an_xml_500(hook, monkeypatch):
    from booking.voicemail import routes

    def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(routes, "store_voicemail", broken)
    response, body = hook(
        "/twilio/voicemail", CallSid="CA1", RecordingSid="RE1", RecordingUrl="https://api.twilio.com/r/RE1"
    )
    assert response.status_code == 500 and response.mimetype == "text/xml"
    twiml(body)


def test_incomplete_recording_callbacks(hook):
    response, _ = hook("/twilio/voicemail", CallSid="CA1", RecordingSid="RE1", RecordingStatus="absent")
    assert response.status_code == 200
    response, _ = hook("/twilio/voicemail", CallSid="CA1")
    assert response.status_code == 400 and response.mimetype == "text/xml"
