"""A hostile or broken calendar server, seen through the admin API (issue 11 item 1, issue 12 items 2, 9).

An endless 207 used to be buffered past 2 GiB and end in a 500 on ``PUT /api/agents/<slug>/calendar``;
now the body is streamed with the 50 MiB cap: the connect check answers 400 ``calendar_check_failed``
and a sync records the error on the connection (502 for the POST). Error messages give the status,
never what the server wrote. Real loopback servers (tests/fixtures/misbehaving_http.py).
"""

from __future__ import annotations

from sqlalchemy import func, select

from booking.extensions import db
from booking.models import CalendarConnection
from tests.fixtures import misbehaving_http as bad


def _put_calendar(client, admin, slug, url):
    return client.put(
        f"/api/agents/{slug}/calendar", json={"url": url, "username": "agent", "password": "pw-1"}, headers=admin
    )


def test_connect_to_an_endless_body_answers_calendar_check_failed(client, admin, make_agent):
    slug = make_agent()["slug"]
    with bad.serving(bad.endless_body) as server:
        response = _put_calendar(client, admin, slug, server.url)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "calendar_check_failed"
    assert "larger than 50 MiB" in error["message"]
    assert db.session.scalar(select(func.count()).select_from(CalendarConnection)) == 0


def test_connect_error_does_not_echo_the_server_body(client, admin, make_agent):
    slug = make_agent()["slug"]
    with bad.serving(bad.error_with_body(500, b"stack trace: secret-token-42")) as server:
        response = _put_calendar(client, admin, slug, server.url)
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert "500 Internal Server Error" in message
    assert "secret-token-42" not in message and "Reason-From-The-Server" not in message


def test_sync_against_an_endless_body_records_the_error(client, admin, make_agent):
    slug = make_agent()["slug"]
    with bad.serving(bad.calendar_check) as server:
        assert _put_calendar(client, admin, slug, server.url).status_code == 200
        server.behaviour = bad.endless_body
        response = client.post(f"/api/agents/{slug}/sync", headers=admin)
    assert response.status_code == 502
    assert "larger than 50 MiB" in response.get_json()["error"]["message"]
    calendar = client.get(f"/api/agents/{slug}", headers=admin).get_json()["calendar"]
    assert calendar["last_sync_status"] == "error"
    assert "larger than 50 MiB" in calendar["last_sync_error"]
