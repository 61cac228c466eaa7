"""Admin time off: blocks availability at once, reports (does not cancel) calls inside it."""

from __future__ import annotations

import pytest


@pytest.fixture
def agent(make_agent, frozen):
    return make_agent()


def _slots(client, slug, day="2026-12-01"):
    response = client.get(f"/api/agents/{slug}/availability", query_string={"start": day, "end": "2026-12-02"})
    return [s["start"][11:16] for s in response.get_json()["slots"]]


def test_time_off_blocks_slots_and_can_be_removed(client, admin, agent, make_customer):
    slug = agent["slug"]
    customer = make_customer(slug)
    booked = client.post(
        "/api/bookings",
        json={
            "token": customer["booking_token"],
            "start": "2026-12-01T14:00:00+01:00",
            "topic": "help",
            "name": "A",
            "email": "a@example.com",
        },
    ).get_json()
    url = f"/api/agents/{slug}/time-off"
    body = {"start": "2026-12-01T13:00:00+01:00", "end": "2026-12-01T17:00:00+01:00", "reason": "Training"}
    response = client.post(url, json=body, headers=admin)
    assert response.status_code == 201
    created = response.get_json()
    assert created["start"] == "2026-12-01T13:00:00+01:00" and created["reason"] == "Training"
    assert created["overlapping_bookings"] == [booked["id"]]  # reported, still confirmed
    times = _slots(client, slug)
    assert times[-1] == "12:30" and "13:00" not in times
    listed = client.get(url, headers=admin).get_json()["time_off"]
    assert [t["id"] for t in listed] == [created["id"]]
    response = client.delete(f"{url}/{created['id']}", headers=admin)
    assert response.status_code == 200 and response.get_json() == {"time_off": []}
    assert "13:00" in _slots(client, slug)
    assert client.delete(f"{url}/{created['id']}", headers=admin).status_code == 404


def test_time_off_bad_input(client, admin, agent, make_agent):
    url = f"/api/agents/{agent['slug']}/time-off"
    cases = [
        ({"start": "2026-12-01T13:00:00+01:00", "end": "2026-12-01T13:00:00+01:00"}, 400),
        ({"start": "2026-12-01T13:00:00", "end": "2026-12-01T15:00:00"}, 400),  # no offset
        ({"start": "2026-12-01T13:00:00+01:00", "end": "2028-12-01T13:00:00+01:00"}, 400),
        ({"start": "2026-12-01T13:00:00+01:00", "end": "2026-12-01T15:00:00+01:00", "reason": "a\nb"}, 400),
    ]
    for body, status in cases:
        response = client.post(url, json=body, headers=admin)
        assert response.status_code == status, body
        assert response.is_json
    assert client.post(url, json=cases[0][0]).status_code == 401
    assert client.post("/api/agents/nobody/time-off", json=cases[0][0], headers=admin).status_code == 404
    other = make_agent()
    mine = client.post(
        url, json={"start": "2026-12-02T09:00:00+01:00", "end": "2026-12-02T10:00:00+01:00"}, headers=admin
    ).get_json()
    assert client.delete(f"/api/agents/{other['slug']}/time-off/{mine['id']}", headers=admin).status_code == 404
