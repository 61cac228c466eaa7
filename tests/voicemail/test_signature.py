"""Twilio webhook signatures: the URL that was signed, and the check itself."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from flask import Flask, request
from werkzeug.datastructures import MultiDict

from booking.voicemail import signature as sig
from tests.fixtures.twilio_rest import signed_post, twilio_signature

TOKEN = "12345678901234567890123456789012"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "From": "+33612345678",
    "To": "+33900000000",
    "Digits": "1",
}


def reference_signature(url: str, params: dict[str, str], token: str) -> str:
    """Twilio's published algorithm, written out independently of the SDK."""
    data = url + "".join(key + params[key] for key in sorted(params))
    mac = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


# -- expected_url ----------------------------------------------------------------------------------


def test_without_public_url_the_request_url_is_used() -> None:
    url = "http://10.0.0.5:8000/twilio/voice?x=1"
    assert sig.expected_url(None, url, "/twilio/voice", "x=1") == url
    assert sig.expected_url("", url, "/twilio/voice", "x=1") == url


def test_public_url_replaces_scheme_host_and_port() -> None:
    got = sig.expected_url(
        "https://book.example.com",
        "http://10.0.0.5:8000/twilio/voice",
        "/twilio/voice",
        "",
    )
    assert got == "https://book.example.com/twilio/voice"


def test_public_url_keeps_its_path_prefix_and_tolerates_a_trailing_slash() -> None:
    for base in ("https://example.com/booking", "https://example.com/booking/"):
        got = sig.expected_url(base, "http://127.0.0.1/twilio/voice", "/twilio/voice", "")
        assert got == "https://example.com/booking/twilio/voice"


def test_public_url_appends_the_raw_query_string() -> None:
    got = sig.expected_url(
        "https://book.example.com",
        "http://x/twilio/voice?lang=fr&a=%2B1",
        "/twilio/voice",
        b"lang=fr&a=%2B1",
    )
    assert got == "https://book.example.com/twilio/voice?lang=fr&a=%2B1"


def test_decoded_path_is_reencoded() -> None:
    got = sig.expected_url("https://book.example.com", "ignored", "/twilio/a b", "")
    assert got == "https://book.example.com/twilio/a%20b"


# -- is_valid_twilio_request -----------------------------------------------------------------------


def test_sdk_signature_matches_the_published_algorithm() -> None:
    url = "https://book.example.com/twilio/voice"
    assert twilio_signature(url, PARAMS, TOKEN) == reference_signature(url, PARAMS, TOKEN)


def test_valid_signature_is_accepted() -> None:
    url = "https://book.example.com/twilio/voice"
    assert sig.is_valid_twilio_request(TOKEN, url, PARAMS, reference_signature(url, PARAMS, TOKEN)) is True


def test_multidict_form_is_accepted() -> None:
    url = "https://book.example.com/twilio/voice"
    form = MultiDict(PARAMS)
    assert sig.is_valid_twilio_request(TOKEN, url, form, reference_signature(url, PARAMS, TOKEN)) is True


@pytest.mark.parametrize("signature", [None, ""])
def test_missing_signature_is_rejected(signature: str | None) -> None:
    assert sig.is_valid_twilio_request(TOKEN, "https://book.example.com/twilio/voice", PARAMS, signature) is False


@pytest.mark.parametrize("token", [None, ""])
def test_unset_token_rejects_everything(token: str | None) -> None:
    url = "https://book.example.com/twilio/voice"
    # Even a signature made with an empty key must not pass when no token is configured.
    forged = reference_signature(url, PARAMS, "")
    assert sig.is_valid_twilio_request(token, url, PARAMS, forged) is False


def test_wrong_token_is_rejected() -> None:
    url = "https://book.example.com/twilio/voice"
    forged = reference_signature(url, PARAMS, "not-the-token")
    assert sig.is_valid_twilio_request(TOKEN, url, PARAMS, forged) is False


def test_tampered_form_is_rejected() -> None:
    url = "https://book.example.com/twilio/voice"
    signature = reference_signature(url, PARAMS, TOKEN)
    assert sig.is_valid_twilio_request(TOKEN, url, {**PARAMS, "From": "+33699999999"}, signature) is False
    assert sig.is_valid_twilio_request(TOKEN, url, {**PARAMS, "Extra": "x"}, signature) is False


def test_wrong_url_is_rejected() -> None:
    signature = reference_signature("https://book.example.com/twilio/voice", PARAMS, TOKEN)
    for url in (
        "http://book.example.com/twilio/voice",
        "https://evil.example.com/twilio/voice",
        "https://book.example.com/twilio/voicemail",
        "https://book.example.com/twilio/voice?x=1",
    ):
        assert sig.is_valid_twilio_request(TOKEN, url, PARAMS, signature) is False, url


def test_garbage_signature_is_rejected_not_raised() -> None:
    url = "https://book.example.com/twilio/voice"
    for signature in ("not base64 ☃", "A" * 10_000, "\x00"):
        assert sig.is_valid_twilio_request(TOKEN, url, PARAMS, signature) is False


def test_signature_with_query_string() -> None:
    url = "https://book.example.com/twilio/voice?lang=fr&line=2"
    signature = reference_signature(url, PARAMS, TOKEN)
    assert sig.is_valid_twilio_request(TOKEN, url, PARAMS, signature) is True
    assert sig.is_valid_twilio_request(TOKEN, url.split("?")[0], PARAMS, signature) is False


# -- end to end through a Flask app, as the webhook routes will use it -----------------------------


def make_app(public_url: str | None) -> Flask:
    """A stand-in for the real webhook route: rebuild the signed URL, check, answer 204 or 403."""
    app = Flask(__name__)

    @app.post("/twilio/voice")
    def voice() -> tuple[str, int]:
        url = sig.expected_url(public_url, request.url, request.path, request.query_string)
        ok = sig.is_valid_twilio_request(TOKEN, url, request.form, request.headers.get(sig.SIGNATURE_HEADER))
        return ("", 204) if ok else ("", 403)

    return app


def test_flask_direct_request_signed_for_the_request_url() -> None:
    client = make_app(None).test_client()
    assert signed_post(client, "http://localhost/twilio/voice?x=1", PARAMS, TOKEN).status_code == 204
    unsigned = client.post("/twilio/voice", data=PARAMS)
    assert unsigned.status_code == 403


def test_flask_behind_proxy_checks_against_public_url() -> None:
    client = make_app("https://book.example.com/prefix").test_client()
    ok = signed_post(
        client,
        "http://localhost/twilio/voice?lang=fr",
        PARAMS,
        TOKEN,
        signed_url="https://book.example.com/prefix/twilio/voice?lang=fr",
    )
    assert ok.status_code == 204
    # Signed for the internal URL (what a naive check would accept): refused.
    internal = signed_post(client, "http://localhost/twilio/voice?lang=fr", PARAMS, TOKEN)
    assert internal.status_code == 403
    # Signed for the public URL without the query string: refused.
    no_query = signed_post(
        client,
        "http://localhost/twilio/voice?lang=fr",
        PARAMS,
        TOKEN,
        signed_url="https://book.example.com/prefix/twilio/voice",
    )
    assert no_query.status_code == 403


def test_flask_without_proxy_rejects_signature_for_other_host() -> None:
    client = make_app(None).test_client()
    response = signed_post(
        client,
        "http://localhost/twilio/voice",
        PARAMS,
        TOKEN,
        signed_url="https://book.example.com/twilio/voice",
    )
    assert response.status_code == 403
