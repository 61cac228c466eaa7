"""Admin API: bearer auth, agents, customers."""

from __future__ import annotations

import pytest

from tests.conftest import base_env


def test_admin_requires_the_bearer_token(client):
    body = {"slug": "a", "name": "A", "email": "a@example.com", "phone": "+33140000000"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        response = client.post("/api/agents", json=body, headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_admin_disabled_without_token(database_url, tmp_path):
    from booking import create_app

    env = base_env(database_url, tmp_path)
    env.pop("BOOKING_ADMIN_TOKEN")
    app = create_app({"TESTING": True}, env=env)
    response = app.test_client().post("/api/agents", json={}, headers={"Authorization": "Bearer "})
    assert response.status_code == 401
    assert "disabled" in response.get_json()["error"]["message"]


def test_create_agent(client, admin):
    body = {
        "slug": "camille",
        "name": "Camille Martin",
        "email": "camille@example.com",
        "phone": "+33140000001",
        "tier": "senior",
        "timezone": "Europe/Berlin",
        "working_hours": {"mon": ["09:00-12:00", "13:00-17:00"]},
    }
    response = client.post("/api/agents", json=body, headers=admin)
    assert response.status_code == 201
    agent = response.get_json()
    assert agent["slug"] == "camille" and agent["tier"] == "senior" and agent["timezone"] == "Europe/Berlin"
    assert agent["feed_url"].startswith("http://booking.test/agents/camille/calendar.ics?key=")
    assert client.post("/api/agents", json=body, headers=admin).status_code == 409
    assert client.get("/api/agents/camille", headers=admin).get_json()["name"] == "Camille Martin"
    assert client.get("/api/agents/nobody", headers=admin).status_code == 404


@pytest.mark.parametrize(
    "change",
    [
        {"slug": "Bad Slug"},
        {"email": "nope"},
        {"phone": "0612345678"},
        {"tier": "boss"},
        {"timezone": "Nowhere/Land"},
        {"working_hours": {"mon": ["17:00-09:00"]}},
        {"working_hours": {"funday": ["09:00-17:00"]}},
    ],
)
def test_create_agent_bad_input(client, admin, change):
    body = {"slug": "x", "name": "X", "email": "x@example.com", "phone": "+33140000009"}
    body.update(change)
    response = client.post("/api/agents", json=body, headers=admin)
    assert response.status_code == 400, response.get_json()
    assert response.is_json


def test_create_customer(client, admin, make_agent):
    agent = make_agent()
    body = {
        "name": "Acme SA",
        "plan": "all-inclusive",
        "dedicated_support": True,
        "agent": agent["slug"],
        "phones": ["+33612345678"],
        "emails": ["it@acme.example"],
    }
    response = client.post("/api/customers", json=body, headers=admin)
    assert response.status_code == 201
    customer = response.get_json()
    assert customer["eligible"] is True
    assert customer["booking_url"] == f"http://booking.test/book/{customer['booking_token']}"
    assert len(customer["booking_token"]) >= 32
    assert isinstance(customer["id"], int)
    again = client.post("/api/customers", json=body, headers=admin)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "phone_taken"
    unknown = dict(body, agent="ghost", phones=[])
    assert client.post("/api/customers", json=unknown, headers=admin).status_code == 400
    basic = client.post("/api/customers", json={"name": "Basic", "plan": "standard"}, headers=admin).get_json()
    assert basic["eligible"] is False and basic["booking_url"] is None
