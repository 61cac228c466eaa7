"""SMS through the real Twilio SDK, pointed at the local fake Twilio REST server."""

from __future__ import annotations

import logging
import socket

import pytest
import requests

from booking.voicemail.sms import (
    LoggingSmsSender,
    RedirectingHttpClient,
    SmsError,
    SmsSender,
    TwilioSmsSender,
)
from tests.fixtures.twilio_rest import FakeTwilioRest, basic_auth_header

TO = "+33612345678"


def sender_for(fake: FakeTwilioRest, *, auth_token: str | None = None) -> TwilioSmsSender:
    return TwilioSmsSender(
        fake.account_sid,
        auth_token or fake.auth_token,
        fake.from_number,
        api_base=fake.api_base,
    )


# -- success ---------------------------------------------------------------------------------------


def test_send_posts_to_the_messages_api(fake_twilio: FakeTwilioRest) -> None:
    body = "Rappel : appel avec Zoé demain à 9 h ☎ & <merci>"
    sid = sender_for(fake_twilio).send(TO, body)

    assert len(fake_twilio.messages) == 1
    message = fake_twilio.messages[0]
    assert sid == message.sid
    assert sid.startswith("SM")
    assert len(sid) == 34
    assert message.form == {"To": TO, "From": fake_twilio.from_number, "Body": body}
    assert message.auth == (fake_twilio.account_sid, fake_twilio.auth_token)
    assert message.account_sid == fake_twilio.account_sid

    request, response = fake_twilio.server.log[-1]
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json"
    assert request.headers["Authorization"] == basic_auth_header(fake_twilio.account_sid, fake_twilio.auth_token)
    assert request.mimetype == "application/x-www-form-urlencoded"
    assert response.status_code == 201
    assert response.json["status"] == "queued"
    assert response.json["to"] == TO
    assert response.json["from"] == fake_twilio.from_number


def test_each_send_is_a_new_message(fake_twilio: FakeTwilioRest) -> None:
    sender = sender_for(fake_twilio)
    sids = [sender.send(TO, "one"), sender.send("+14155550100", "two")]
    assert sids == [m.sid for m in fake_twilio.messages]
    assert len(set(sids)) == 2
    assert [(m.to, m.body) for m in fake_twilio.messages] == [
        (TO, "one"),
        ("+14155550100", "two"),
    ]


def test_environment_proxy_is_not_used_for_a_loopback_api_base(
    fake_twilio: FakeTwilioRest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy on a closed port: if the client used it, the send would fail.
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert sender_for(fake_twilio).send(TO, "hi") == fake_twilio.messages[0].sid


# -- failures --------------------------------------------------------------------------------------


def test_wrong_credentials(fake_twilio: FakeTwilioRest) -> None:
    with pytest.raises(SmsError) as info:
        sender_for(fake_twilio, auth_token="0" * 32).send(TO, "hi")
    assert info.value.status == 401
    assert info.value.code == 20003
    assert info.value.retryable is True  # fixable by an operator; the message must not be dropped
    assert fake_twilio.messages == []


def test_invalid_to_number_is_not_retryable(fake_twilio: FakeTwilioRest) -> None:
    with pytest.raises(SmsError) as info:
        sender_for(fake_twilio).send("0612345678", "hi")  # national format: Twilio wants E.164
    assert info.value.code == 21211
    assert info.value.status == 400
    assert info.value.retryable is False
    assert "0612345678" in info.value.message
    assert "code 21211" in str(info.value)
    assert fake_twilio.messages == []


def test_scripted_invalid_to_then_success(fake_twilio: FakeTwilioRest) -> None:
    fake_twilio.fail_next_invalid_to()
    sender = sender_for(fake_twilio)
    with pytest.raises(SmsError) as info:
        sender.send(TO, "hi")
    assert (info.value.code, info.value.status, info.value.retryable) == (
        21211,
        400,
        False,
    )
    assert "Invalid 'To' Phone Number" in info.value.message
    sid = sender.send(TO, "hi")
    assert [m.sid for m in fake_twilio.messages] == [sid]


def test_server_errors_are_retryable_until_success(fake_twilio: FakeTwilioRest) -> None:
    fake_twilio.fail_next(2)
    sender = sender_for(fake_twilio)
    errors: list[SmsError] = []
    sid = None
    for _attempt in range(5):  # what an outbox does, minus the back-off
        try:
            sid = sender.send(TO, "callback queued")
            break
        except SmsError as exc:
            assert exc.retryable
            errors.append(exc)
    assert [(e.status, e.code) for e in errors] == [(500, 20500), (500, 20500)]
    assert [status for status, _ in fake_twilio.attempts] == [500, 500, 201]
    assert sid == fake_twilio.messages[0].sid
    assert len(fake_twilio.messages) == 1


def test_non_json_error_has_no_twilio_code(fake_twilio: FakeTwilioRest) -> None:
    fake_twilio.fail_next(status=502, json_body=False)
    with pytest.raises(SmsError) as info:
        sender_for(fake_twilio).send(TO, "hi")
    assert info.value.status == 502
    assert info.value.code is None  # the SDK's "code = HTTP status" is not passed off as Twilio's
    assert info.value.retryable is True


def test_unreachable_server_is_retryable() -> None:
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = TwilioSmsSender("AC" + "1" * 32, "t" * 32, "+33900000000", api_base=f"http://127.0.0.1:{port}")
    with pytest.raises(SmsError) as info:
        sender.send(TO, "hi")
    assert info.value.status is None
    assert info.value.code is None
    assert info.value.retryable is True
    assert isinstance(info.value.__cause__, requests.ConnectionError)


def test_sender_needs_credentials() -> None:
    with pytest.raises(ValueError, match="auth token"):
        TwilioSmsSender("AC" + "1" * 32, "", "+33900000000")


@pytest.mark.parametrize(
    ("code", "status", "retryable"),
    [
        (21211, 400, False),
        (21610, 400, False),
        (20003, 401, True),
        (20429, 429, True),
        (20500, 500, True),
        (None, 503, True),
        (None, None, True),
        (None, 404, False),
    ],
)
def test_retryable_classification(code: int | None, status: int | None, retryable: bool) -> None:
    assert SmsError("x", code=code, status=status).retryable is retryable


# -- the redirecting HTTP client -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
            "http://127.0.0.1:8080/prefix/2010-04-01/Accounts/AC1/Messages.json",
        ),
        (
            "https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/AC1/Calls.json?Page=2",
            "http://127.0.0.1:8080/prefix/2010-04-01/Accounts/AC1/Calls.json?Page=2",
        ),
        (
            "https://messaging.twilio.com/v1/Services",
            "http://127.0.0.1:8080/prefix/v1/Services",
        ),
        ("https://example.com/x", "https://example.com/x"),
        ("https://eviltwilio.com/x", "https://eviltwilio.com/x"),
        ("https://api.twilio.com.evil.net/x", "https://api.twilio.com.evil.net/x"),
    ],
)
def test_rewrite(url: str, expected: str) -> None:
    assert RedirectingHttpClient("http://127.0.0.1:8080/prefix/").rewrite(url) == expected


def test_environment_is_trusted_for_a_remote_api_base() -> None:
    remote = RedirectingHttpClient("https://sandbox.example.com")
    assert remote.session is not None
    assert remote.session.trust_env is True
    local = RedirectingHttpClient("http://localhost:1")
    assert local.session is not None
    assert local.session.trust_env is False


@pytest.mark.parametrize("api_base", ["", "127.0.0.1:8000", "ftp://host", "http://"])
def test_rewrite_rejects_bad_api_base(api_base: str) -> None:
    with pytest.raises(ValueError, match="api_base"):
        RedirectingHttpClient(api_base)


# -- development sender and the protocol -----------------------------------------------------------


def test_logging_sender(caplog: pytest.LogCaptureFixture) -> None:
    sender = LoggingSmsSender()
    with caplog.at_level(logging.INFO, logger="booking.voicemail.sms"):
        sid = sender.send(TO, "Voicemail from +33123456789")
    assert sid.startswith("SM")
    assert len(sid) == 34
    assert [(s.sid, s.to, s.body) for s in sender.sent] == [(sid, TO, "Voicemail from +33123456789")]
    assert TO in caplog.text
    assert "Voicemail from +33123456789" in caplog.text
    assert sender.send(TO, "again") != sid


def test_both_senders_satisfy_the_protocol(fake_twilio: FakeTwilioRest) -> None:
    senders: list[SmsSender] = [LoggingSmsSender(), sender_for(fake_twilio)]
    assert all(isinstance(sender, SmsSender) for sender in senders)
