"""Issue 12, security hardening: one regression test (at least) per item of the review.

Body limits are checked over a real socket (a huge declared body must be refused before it is read),
headers on every kind of response, the admin token rules through ``create_app``, the Twilio checks
with signed requests.
"""

from __future__ import annotations

import socket
import time

import pytest

from booking import ConfigError, create_app
from booking.security import allowed_media_url
from tests.conftest import ADMIN_TOKEN, base_env
from tests.fixtures.twilio_rest import TEST_AUTH_TOKEN, signed_post

PUBLIC_URL = "http://booking.test"


# --- 1. request body limit ------------------------------------------------------------------------


def _raw_post(url: str, path: str, content_length: int, content_type: str) -> tuple[float, bytes]:
    """Send only the headers of a huge POST and read the answer; returns (seconds, response bytes)."""
    host, port = url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {content_length}\r\nConnection: close\r\n\r\n".encode()
        )
        sock.sendall(b"{" * 65536)  # a start, never the 200 MB announced
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return time.monotonic() - started, data


def test_huge_declared_json_body_is_refused_before_being_read(live_server):
    elapsed, data = _raw_post(live_server.url, "/api/bookings", 200 * 1024 * 1024, "application/json")
    assert data.startswith(b"HTTP/1.1 413"), data[:200]  # from waitress, configured like `booking serve`
    assert elapsed < 5  # answered without waiting for 200 MB that never come


def test_large_json_body_gets_413_json(client):
    response = client.post(
        "/api/bookings", data=b'{"token": "' + b"a" * (2 * 1024 * 1024) + b'"}', content_type="application/json"
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_large_form_gets_a_friendly_413_page(client, make_agent, make_customer):
    customer = make_customer(make_agent()["slug"])
    url = f"/book/{customer['booking_token']}?lang=en"
    response = client.post(url, data={"notes": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "more than we can accept" in response.get_data(as_text=True)


def test_large_twilio_post_gets_413_json(client):
    response = client.post("/twilio/voice", data={"From": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("env_overrides", [{"BOOKING_MAX_REQUEST_BYTES": "2048"}])
def test_body_limit_is_configurable(client, env_overrides):
    response = client.post("/api/bookings", data=b"[" + b" " * 4096 + b"]", content_type="application/json")
    assert response.status_code == 413


def test_a_route_can_accept_a_larger_body(app):
    from booking.extensions import csrf
    from booking.security import body_limit, server_body_limit

    @app.post("/upload-test")
    @csrf.exempt
    @body_limit(4 * 1024 * 1024)
    def upload():
        from flask import request

        return {"size": len(request.get_data())}

    client = app.test_client()
    assert client.post("/upload-test", data=b"x" * (2 * 1024 * 1024)).get_json() == {"size": 2 * 1024 * 1024}
    assert client.post("/upload-test", data=b"x" * (5 * 1024 * 1024)).status_code == 413
    assert server_body_limit(app) == 4 * 1024 * 1024 + 1  # waitress lets it through to the app


# --- 5. headers -------------------------------------------------------------------------------------


def test_pages_carry_csp_frame_and_sniffing_headers(client, make_agent, make_customer):
    customer = make_customer(make_agent()["slug"])
    response = client.get(f"/book/{customer['booking_token']}")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "<script>" not in response.get_data(as_text=True)  # nothing inline for the CSP to block


def test_api_and_errors_carry_headers_too(client):
    for response in (client.get("/api/openapi.json"), client.get("/api/nothing"), client.get("/nothing")):
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_route_can_opt_in_to_framing(app):
    from booking.security import embeddable

    @app.get("/widget-test")
    @embeddable("https://chat.example.com")
    def widget():
        return "<!doctype html><p>widget</p>"

    response = app.test_client().get("/widget-test")
    assert "frame-ancestors https://chat.example.com" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers


# --- 6. RecordingUrl ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1", True),
        ("https://media.twilio.com/r/RE1", True),
        ("https://api.twilio.com:443/r/RE1", True),
        ("javascript:alert(document.cookie)", False),
        ("JavaScript://api.twilio.com/%0aalert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("http://api.twilio.com/r/RE1", False),
        ("https://twilio.com.evil.example/r", False),
        ("https://api.twilio.com.evil.example/r", False),
        ("https://evil.example/?https://api.twilio.com", False),
        ("https://user@api.twilio.com/r", False),
        ("https://api.twilio.com:8443/r", False),
        ("http://127.0.0.1:9999/r", False),
        ("", False),
    ],
)
def test_allowed_media_url(url, ok):
    assert allowed_media_url(url, ("api.twilio.com", "*.twilio.com")) is ok


def test_stand_in_allowed_only_when_listed():
    assert allowed_media_url("http://127.0.0.1:9999/r", ("http://127.0.0.1:9999",))
    assert not allowed_media_url("http://127.0.0.1:9998/r", ("http://127.0.0.1:9999",))
    assert not allowed_media_url("https://127.0.0.1:9999/r", ("http://127.0.0.1:9999",))


@pytest.fixture
def twilio_env(fake_twilio):
    return fake_twilio.env()


def _hook(client, path: str, params: dict[str, str], token: str = TEST_AUTH_TOKEN):
    response = signed_post(client, f"http://localhost{path}", params, token, signed_url=PUBLIC_URL + path)
    response.close()
    return response


@pytest.fixture
def twilio_client(database_url, tmp_path, twilio_env, frozen):
    app = create_app({"TESTING": True}, env=base_env(database_url, tmp_path, **twilio_env))
    with app.app_context():
        yield app.test_client()
        from booking.extensions import db

        db.session.remove()
        db.engine.dispose()


def test_signed_voicemail_with_javascript_url_is_refused(twilio_client):
    from sqlalchemy import func, select

    from booking.extensions import db
    from booking.models import Voicemail

    response = _hook(
        twilio_client,
        "/twilio/voicemail",
        {"CallSid": "CA1", "RecordingSid": "RE1", "RecordingUrl": "javascript:alert(document.cookie)"},
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Voicemail)) == 0


# --- 8. admin tokens ---------------------------------------------------------------------------------


def test_short_admin_token_stops_the_app(tmp_path):
    env = base_env("sqlite:///" + str(tmp_path / "x.sqlite3"), tmp_path, BOOKING_ADMIN_TOKEN="x")
    with pytest.raises(ConfigError) as info:
        create_app({"TESTING": True}, env=env)
    message = str(info.value)
    assert "BOOKING_ADMIN_TOKEN" in message and "32" in message and "\n" not in message
    env["BOOKING_ADMIN_TOKEN"] = f"{ADMIN_TOKEN},{'y' * 31}"  # one short token in a list is refused too
    with pytest.raises(ConfigError):
        create_app({"TESTING": True}, env=env)


def test_several_admin_tokens_rotate_without_downtime(database_url, tmp_path):
    new = "n" * 40
    app = create_app(
        {"TESTING": True}, env=base_env(database_url, tmp_path, BOOKING_ADMIN_TOKEN=f"{ADMIN_TOKEN}, {new}")
    )
    client = app.test_client()
    with app.app_context():
        for token in (ADMIN_TOKEN, new):
            response = client.get("/api/agents/nobody", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 404, token  # authenticated: the agent just does not exist
        response = client.get("/api/agents/nobody", headers={"Authorization": f"Bearer {new[:-1]}"})
        assert response.status_code == 401
        from booking.extensions import db

        db.engine.dispose()


# --- 10. Twilio signature before the NUL guard --------------------------------------------------------


def test_forged_twilio_request_with_nul_gets_403(twilio_client):
    response = _hook(twilio_client, "/twilio/voice", {"CallSid": "CA1", "From": "+33\x00612"}, token="wrong" * 8)
    assert response.status_code == 403


def test_signed_twilio_request_with_nul_gets_400(twilio_client):
    response = _hook(twilio_client, "/twilio/voice", {"CallSid": "CA1", "From": "+33\x00612"})
    assert response.status_code == 400
