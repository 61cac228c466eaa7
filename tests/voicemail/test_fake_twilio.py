"""The fake Twilio REST server itself: it must reject what Twilio rejects."""

from __future__ import annotations

import requests

from tests.fixtures.twilio_rest import FakeTwilioRest, twilio_signature


def post(fake: FakeTwilioRest, data: dict[str, str], *, account: str | None = None) -> requests.Response:
    url = f"{fake.api_base}/2010-04-01/Accounts/{account or fake.account_sid}/Messages.json"
    with requests.Session() as session:
        session.trust_env = False  # straight to 127.0.0.1, whatever the environment says
        return session.post(url, data=data, auth=(fake.account_sid, fake.auth_token), timeout=5)


def test_server_listens_on_ipv4_loopback(fake_twilio: FakeTwilioRest) -> None:
    assert fake_twilio.api_base.startswith("http://127.0.0.1:")


def test_missing_fields_are_rejected_like_twilio(fake_twilio: FakeTwilioRest) -> None:
    base = {"To": "+33612345678", "From": "+33900000000", "Body": "hi"}
    cases = {"To": 21604, "From": 21603, "Body": 21602}
    for missing, code in cases.items():
        response = post(fake_twilio, {k: v for k, v in base.items() if k != missing})
        assert response.status_code == 400
        assert response.json()["code"] == code
        assert response.json()["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert fake_twilio.messages == []
    assert [status for status, _ in fake_twilio.attempts] == [400, 400, 400]


def test_account_in_url_must_match_credentials(fake_twilio: FakeTwilioRest) -> None:
    response = post(
        fake_twilio,
        {"To": "+33612345678", "From": "+3390", "Body": "x"},
        account="AC" + "9" * 32,
    )
    assert response.status_code == 404
    assert response.json()["code"] == 20404
    assert fake_twilio.messages == []


def test_other_paths_are_not_served(fake_twilio: FakeTwilioRest) -> None:
    with requests.Session() as session:
        session.trust_env = False
        response = session.get(f"{fake_twilio.api_base}/2010-04-01/Accounts.json", timeout=5)
    assert response.status_code == 500  # pytest-httpserver's "no handler" answer
    assert fake_twilio.messages == []


def test_env_points_the_app_at_the_fake(fake_twilio: FakeTwilioRest) -> None:
    env = fake_twilio.env()
    assert env["TWILIO_ACCOUNT_SID"].startswith("AC")
    assert len(env["TWILIO_ACCOUNT_SID"]) == 34
    assert env["TWILIO_AUTH_TOKEN"] == fake_twilio.auth_token
    assert env["BOOKING_TWILIO_API_BASE"] == fake_twilio.api_base


def test_twilio_signature_is_deterministic_and_key_dependent() -> None:
    params = {"CallSid": "CA1", "From": "+33612345678"}
    url = "https://book.example.com/twilio/voice"
    assert twilio_signature(url, params, "a") == twilio_signature(url, dict(reversed(params.items())), "a")
    assert twilio_signature(url, params, "a") != twilio_signature(url, params, "b")
