"""Issue 12 item 4: rate limits (per booking token, per address on sign-in and forms), the open-bookings
cap, and item 11: an Idempotency-Key replay must be the same request.

Limits are fixed windows, so the tests are exact: N requests pass, the next one is refused, and moving
the clock past the window (time-machine; the in-memory storage reads ``time.time``) opens it again.
The Redis tests use the Redis server at 127.0.0.1:6379 (CI runs one) with a secret key of their own,
hence a key prefix of their own.
"""

from __future__ import annotations

import socket
import uuid
from datetime import timedelta

import pytest

from booking import create_app
from booking.extensions import db
from tests.conftest import MONDAY, base_env
from tests.dashboard.conftest import ask_for_link, csrf
from tests.pages.forms import hidden

REDIS_URL = "redis://127.0.0.1:6379/0"


def _book(client, token, start="2026-12-01T10:00:00+01:00", headers=None, **extra):
    body = {
        "token": token,
        "start": start,
        "duration": 30,
        "topic": "help",
        "name": "Alice Dupont",
        "email": "alice@customer.example",
    }
    body.update(extra)
    return client.post("/api/bookings", json=body, headers=headers or {})


@pytest.fixture
def customer(make_agent, make_customer, frozen):
    return make_customer(make_agent()["slug"])


@pytest.mark.parametrize("env_overrides", [{"BOOKING_RATE_LIMIT_BOOKING": "3 per hour"}])
def test_booking_api_is_limited_per_booking_token(client, make_agent, make_customer, customer, frozen, env_overrides):
    token = customer["booking_token"]
    for i in range(3):  # taken slots, bad bodies: every attempt counts
        assert _book(client, token, start=f"2026-12-01T1{i}:00:00+01:00").status_code == 201
    refused = _book(client, token, start="2026-12-01T14:00:00+01:00")
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) > 0
    other = make_customer(customer["agent"])  # another link is not affected
    assert _book(client, other["booking_token"], start="2026-12-01T15:00:00+01:00").status_code == 201
    frozen(MONDAY + timedelta(hours=1, minutes=1))  # the next fixed window
    assert _book(client, token, start="2026-12-01T14:00:00+01:00").status_code == 201


@pytest.mark.parametrize("env_overrides", [{"BOOKING_RATE_LIMIT_BOOKING": "2 per hour"}])
def test_booking_page_form_is_limited_per_booking_token(client, customer, env_overrides):
    url = f"/book/{customer['booking_token']}"
    html = client.get(url).get_data(as_text=True)
    data = {"csrf_token": hidden(html, "csrf_token"), "start": "", "name": ""}
    assert client.post(url, data=data).status_code == 400  # form errors, but counted
    assert client.post(url, data=data).status_code == 400
    refused = client.post(url, data=data)
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert "Too many attempts" in refused.get_data(as_text=True) or "Trop de tentatives" in refused.get_data(
        as_text=True
    )
    assert client.get(url).status_code == 200  # reading the page is not limited


@pytest.mark.parametrize("env_overrides", [{"BOOKING_RATE_LIMIT_SIGN_IN": "2 per hour"}])
def test_sign_in_is_limited_per_address(client, frozen, env_overrides):
    assert ask_for_link(client, "a@vendor.example").status_code == 200
    assert ask_for_link(client, "b@vendor.example").status_code == 200
    assert ask_for_link(client, "c@vendor.example").status_code == 429
    other = client.post(
        "/agent/sign-in",
        data={"email": "d@vendor.example"},
        environ_overrides={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert other.status_code != 429  # another address has its own budget (here: no CSRF token, 400)


def test_rate_limit_settings_are_validated(tmp_path):
    from booking import ConfigError

    env = base_env(f"sqlite:///{tmp_path}/x.sqlite3", tmp_path, BOOKING_RATE_LIMIT_SIGN_IN="lots")
    with pytest.raises(ConfigError, match="BOOKING_RATE_LIMIT_SIGN_IN"):
        create_app({"TESTING": True}, env=env)
    env = base_env(f"sqlite:///{tmp_path}/x.sqlite3", tmp_path, BOOKING_REDIS_URL="http://redis")
    with pytest.raises(ConfigError, match="BOOKING_REDIS_URL"):
        create_app({"TESTING": True}, env=env)


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379 (CI runs one)")
def test_two_hosts_share_their_counters_in_redis(database_url, tmp_path, customer, frozen):
    """Two apps (two hosts of one installation: same secret, same Redis) count together."""
    env = base_env(
        database_url,
        tmp_path,
        BOOKING_REDIS_URL=REDIS_URL,
        BOOKING_SECRET_KEY=f"redis-test-{uuid.uuid4()}",  # a key prefix for this test alone
        BOOKING_RATE_LIMIT_BOOKING="2 per hour",
    )
    first, second = create_app({"TESTING": True}, env=env), create_app({"TESTING": True}, env=env)
    assert first.extensions["booking.limiter"]._storage_uri == REDIS_URL
    token = customer["booking_token"]
    statuses = []
    for host in (first, second, first):
        with host.app_context():
            statuses.append(_book(host.test_client(), token, start="not a time").status_code)
            db.session.remove()
            db.engine.dispose()
    assert statuses == [400, 400, 429]


def test_redis_down_limits_fall_back_to_memory(database_url, tmp_path, customer, frozen, caplog):
    """An unreachable Redis neither blocks bookings (no 500) nor lifts the limits."""
    env = base_env(
        database_url, tmp_path, BOOKING_REDIS_URL="redis://127.0.0.1:1/0", BOOKING_RATE_LIMIT_BOOKING="2 per hour"
    )
    app = create_app({"TESTING": True}, env=env)
    with app.app_context():
        client = app.test_client()
        statuses = [_book(client, customer["booking_token"], start="not a time").status_code for _ in range(3)]
        db.session.remove()
        db.engine.dispose()
    assert statuses == [400, 400, 429]


# --- the open-bookings cap -----------------------------------------------------------------------


@pytest.mark.parametrize("env_overrides", [{"BOOKING_MAX_OPEN_BOOKINGS": "2"}])
def test_open_bookings_are_capped_per_customer(client, customer, frozen, env_overrides):
    token = customer["booking_token"]
    first = _book(client, token, start="2026-12-01T10:00:00+01:00").get_json()
    assert _book(client, token, start="2026-12-01T11:00:00+01:00").status_code == 201
    refused = _book(client, token, start="2026-12-01T12:00:00+01:00")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "too_many_open_bookings"
    cancelled = client.post(f"/api/bookings/{first['id']}/cancel", json={"token": first["manage_token"]})
    assert cancelled.status_code == 200
    assert _book(client, token, start="2026-12-01T12:00:00+01:00").status_code == 201  # room again
    frozen(MONDAY + timedelta(days=2))  # past calls no longer count
    assert _book(client, token, start="2026-12-03T10:00:00+01:00").status_code == 201


# --- 11. Idempotency-Key replays ------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Mallory"},
        {"email": "mallory@evil.example"},
        {"topic": "training"},
        {"notes": "different notes"},
        {"locale": "fr"},  # the first one was in the default language, English
        {"duration": 60},
        {"timezone": "America/New_York"},
        {"phone": "+12125550100"},
    ],
)
def test_idempotency_replay_with_any_other_field_is_refused(client, customer, change):
    headers = {"Idempotency-Key": "retry-1"}
    assert _book(client, customer["booking_token"], headers=headers, notes="n").status_code == 201
    assert _book(client, customer["booking_token"], headers=headers, notes="n").status_code == 201  # same: replay
    body = {"notes": "n", **change}
    reused = _book(client, customer["booking_token"], headers=headers, **body)
    assert reused.status_code == 409, change
    assert reused.get_json()["error"]["code"] == "idempotency_key_reused"


def _ask_via_proxy(client, forwarded_for: str) -> int:
    response = client.post(
        "/agent/sign-in",
        data={"email": "a@vendor.example", "csrf_token": csrf(client)},
        headers={"X-Forwarded-For": forwarded_for},
    )
    response.close()
    return response.status_code


@pytest.mark.parametrize("env_overrides", [{"BOOKING_RATE_LIMIT_SIGN_IN": "1 per hour", "BOOKING_PROXY_HOPS": "1"}])
def test_behind_a_proxy_each_client_has_its_own_budget(client, frozen, env_overrides):
    """With BOOKING_PROXY_HOPS=1 the address is the one the proxy forwards, not the proxy's own."""
    assert _ask_via_proxy(client, "198.51.100.1") == 200
    assert _ask_via_proxy(client, "198.51.100.2") == 200
    assert _ask_via_proxy(client, "198.51.100.1") == 429


@pytest.mark.parametrize("env_overrides", [{"BOOKING_RATE_LIMIT_SIGN_IN": "1 per hour"}])
def test_forwarded_for_is_not_trusted_without_proxy_hops(client, frozen, env_overrides):
    """Without it a client cannot pick a fresh address per request by sending X-Forwarded-For."""
    assert _ask_via_proxy(client, "198.51.100.1") == 200
    assert _ask_via_proxy(client, "198.51.100.2") == 429
