"""Issue 14: the complete admin API (interface.md "Admin API, complete") over HTTP.

List / get / patch / deactivate agents and customers, ``GET /api/bookings`` with filters. Every
endpoint: 401 without the token, 400 on bad input, 404 on unknown ids. Deactivation keeps history and
lists the bookings still to come; it never cancels them.
"""

from __future__ import annotations

import pytest

from booking.extensions import db
from booking.models import Booking

SLOT = "2026-12-01T10:00:00+01:00"
LATER = "2026-12-02T11:00:00+01:00"


@pytest.fixture
def customer(make_agent, make_customer, frozen):
    agent = make_agent(slug="camille", name="Camille Martin")
    return make_customer(agent["slug"], name="Acme SA")


def _book(client, customer, start=SLOT):
    body = {
        "token": customer["booking_token"],
        "start": start,
        "duration": 30,
        "topic": "help",
        "name": "Alice Dupont",
        "email": "alice@customer.example",
    }
    response = client.post("/api/bookings", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


ENDPOINTS = [
    ("get", "/api/agents", None),
    ("patch", "/api/agents/camille", {"name": "X"}),
    ("post", "/api/agents/camille/deactivate", None),
    ("get", "/api/customers", None),
    ("get", "/api/customers/1", None),
    ("patch", "/api/customers/1", {"name": "X"}),
    ("post", "/api/customers/1/deactivate", None),
    ("get", "/api/bookings", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_admin_endpoint_needs_the_token(client, customer, method, path, body):
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = getattr(client, method)(path, json=body, headers=headers)
        assert response.status_code == 401, (path, response.get_json())
        assert response.get_json()["error"]["code"] == "unauthorized"
    assert db.session.get(Booking, 1) is None


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        ("patch", "/api/agents/nobody", {"name": "X"}, "unknown_agent"),
        ("post", "/api/agents/nobody/deactivate", None, "unknown_agent"),
        ("get", "/api/customers/999", None, "unknown_customer"),
        ("patch", "/api/customers/999", {"name": "X"}, "unknown_customer"),
        ("post", "/api/customers/999/deactivate", None, "unknown_customer"),
        ("get", "/api/customers?agent=nobody", None, "unknown_agent"),
        ("get", "/api/bookings?agent=nobody", None, "unknown_agent"),
        ("get", "/api/bookings?customer=999", None, "unknown_customer"),
    ],
)
def test_unknown_ids_are_404(client, admin, customer, method, path, body, code):
    response = getattr(client, method)(path, json=body, headers=admin)
    assert response.status_code == 404, response.get_json()
    assert response.get_json()["error"]["code"] == code


def test_list_and_get(client, admin, customer, make_agent):
    make_agent(slug="dana")
    agents = client.get("/api/agents", headers=admin).get_json()["agents"]
    assert [a["slug"] for a in agents] == ["camille", "dana"]
    assert all(a["active"] for a in agents)
    customers = client.get("/api/customers", headers=admin).get_json()["customers"]
    assert [c["name"] for c in customers] == ["Acme SA"]
    assert client.get("/api/customers?agent=dana", headers=admin).get_json()["customers"] == []
    one = client.get(f"/api/customers/{customer['id']}", headers=admin).get_json()
    assert one["name"] == "Acme SA" and one["active"] is True and one["agent"] == "camille"


def test_patch_agent_changes_only_what_is_sent(client, admin, customer):
    response = client.patch(
        "/api/agents/camille",
        json={
            "name": "Camille Durand",
            "phone": "+33 1 40 00 00 77",
            "timezone": "Europe/Berlin",
            "tier": "senior",
            "on_call": True,
            "working_hours": {"tue": ["13:00-17:00", "9:00-12:00"]},
        },
        headers=admin,
    )
    assert response.status_code == 200, response.get_json()
    agent = response.get_json()
    assert agent["name"] == "Camille Durand" and agent["phone"] == "+33140000077"
    assert agent["timezone"] == "Europe/Berlin" and agent["tier"] == "senior" and agent["on_call"] is True
    assert agent["working_hours"] == {"tue": ["09:00-12:00", "13:00-17:00"]}
    assert agent["email"] == "agent1@example.com" and agent["future_bookings"] is None
    reset = client.patch("/api/agents/camille", json={"working_hours": None}, headers=admin).get_json()
    assert reset["working_hours"] is None and reset["name"] == "Camille Durand"


def test_working_hours_patch_changes_the_offered_slots(client, admin, customer):
    """Working hours changed after creation are what availability offers from then on."""

    def slots():
        url = "/api/agents/camille/availability?start=2026-12-01&end=2026-12-02"
        return [s["start"] for s in client.get(url).get_json()["slots"]]

    assert "2026-12-01T10:00:00+01:00" in slots()
    client.patch("/api/agents/camille", json={"working_hours": {"tue": ["14:00-16:00"]}}, headers=admin)
    offered = slots()
    assert offered and all(s.startswith("2026-12-01T14:") or s.startswith("2026-12-01T15:") for s in offered)


@pytest.mark.parametrize(
    "change",
    [
        {"name": ""},
        {"name": None},
        {"email": "nope"},
        {"phone": "0612345678"},
        {"phone": "+33 12"},
        {"tier": "boss"},
        {"timezone": "Nowhere/Land"},
        {"working_hours": {"mon": ["17:00-09:00"]}},
        {"on_call": "yes"},
        {"active": None},
        {"slug": "renamed"},
    ],
)
def test_patch_agent_bad_input_is_400_and_changes_nothing(client, admin, customer, change):
    response = client.patch("/api/agents/camille", json=change, headers=admin)
    assert response.status_code == 400, response.get_json()
    assert response.is_json
    agent = client.get("/api/agents/camille", headers=admin).get_json()
    assert agent["name"] == "Camille Martin" and agent["phone"] == "+33140000001"


def test_deactivating_an_agent_keeps_and_lists_future_bookings(client, admin, customer, frozen):
    past = _book(client, customer, start="2026-11-30T10:00:00+01:00")
    future = _book(client, customer, start=LATER)
    frozen(__import__("datetime").datetime.fromisoformat("2026-11-30T12:00:00+01:00"))
    response = client.post("/api/agents/camille/deactivate", headers=admin)
    assert response.status_code == 200
    agent = response.get_json()
    assert agent["active"] is False
    assert [b["id"] for b in agent["future_bookings"]] == [future["id"]]
    assert agent["future_bookings"][0]["start"] == LATER
    kept = client.get("/api/bookings?agent=camille", headers=admin).get_json()["bookings"]
    assert [(b["id"], b["status"]) for b in kept] == [(past["id"], "confirmed"), (future["id"], "confirmed")]
    # no new bookings with an inactive agent; reactivating gives the customer its page back
    assert client.get(f"/book/{customer['booking_token']}").status_code in (403, 404)
    back = client.patch("/api/agents/camille", json={"active": True}, headers=admin).get_json()
    assert back["active"] is True and back["future_bookings"] is None
    assert client.get(f"/book/{customer['booking_token']}").status_code == 200


def test_patch_active_false_reports_like_deactivate(client, admin, customer):
    future = _book(client, customer)
    agent = client.patch("/api/agents/camille", json={"active": False}, headers=admin).get_json()
    assert [b["id"] for b in agent["future_bookings"]] == [future["id"]]


def test_patch_customer(client, admin, customer, make_agent):
    make_agent(slug="dana")
    response = client.patch(
        f"/api/customers/{customer['id']}",
        json={"name": "Acme Group", "agent": "dana", "phones": ["06 12 34 56 99"], "emails": ["ops@acme.example"]},
        headers=admin,
    )
    assert response.status_code == 200, response.get_json()
    changed = response.get_json()
    assert changed["name"] == "Acme Group" and changed["agent"] == "dana"
    assert changed["phones"] == ["+33612345699"] and changed["emails"] == ["ops@acme.example"]
    assert changed["booking_token"] == customer["booking_token"] and changed["eligible"] is True
    standard = client.patch(f"/api/customers/{customer['id']}", json={"plan": "standard"}, headers=admin).get_json()
    assert standard["eligible"] is False and standard["booking_url"] is None


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"plan": "all-inclusve"}, "invalid_request"),
        ({"agent": "ghost"}, "unknown_agent"),
        ({"agent": None}, "agent_required"),  # still has dedicated support
        ({"phones": ["0612"]}, "bad_phone"),
        ({"emails": ["nope"]}, "invalid_request"),
        ({"name": "  "}, "invalid_request"),
        ({"dedicated_support": None}, "invalid_request"),
        ({"booking_token": "mine"}, "invalid_request"),
    ],
)
def test_patch_customer_bad_input_is_400_and_changes_nothing(client, admin, customer, change, code):
    response = client.patch(f"/api/customers/{customer['id']}", json=change, headers=admin)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["code"] == code
    again = client.get(f"/api/customers/{customer['id']}", headers=admin).get_json()
    assert {k: again[k] for k in ("name", "plan", "agent", "phones")} == {
        k: customer[k] for k in ("name", "plan", "agent", "phones")
    }


def test_patch_customer_phone_of_another_is_409(client, admin, customer, make_customer):
    other = make_customer(None, plan="standard", phones=["+33612349999"])
    response = client.patch(f"/api/customers/{customer['id']}", json={"phones": ["06 12 34 99 99"]}, headers=admin)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "phone_taken"
    assert client.get(f"/api/customers/{other['id']}", headers=admin).get_json()["phones"] == ["+33612349999"]
    keep = client.patch(f"/api/customers/{customer['id']}", json={"phones": customer["phones"]}, headers=admin)
    assert keep.status_code == 200


def test_deactivating_a_customer_keeps_bookings_and_closes_the_link(client, admin, customer):
    booked = _book(client, customer)
    response = client.post(f"/api/customers/{customer['id']}/deactivate", headers=admin)
    assert response.status_code == 200
    body = response.get_json()
    assert body["active"] is False and body["eligible"] is False and body["booking_url"] is None
    assert [b["id"] for b in body["future_bookings"]] == [booked["id"]]
    assert client.get("/api/bookings", headers=admin).get_json()["bookings"][0]["status"] == "confirmed"
    assert client.get(f"/book/{customer['booking_token']}").status_code in (403, 404)
    refused = client.post(
        "/api/bookings",
        json={
            "token": customer["booking_token"],
            "start": LATER,
            "topic": "help",
            "name": "Alice",
            "email": "alice@customer.example",
        },
    )
    assert refused.status_code in (403, 404)
    listed = client.get("/api/customers", headers=admin).get_json()["customers"]
    assert [c["active"] for c in listed] == [False]


def test_list_bookings_filters(client, admin, customer, make_agent, make_customer):
    first = _book(client, customer)
    second = _book(client, customer, start=LATER)
    dana = make_agent(slug="dana")
    globex = make_customer(dana["slug"], name="Globex")
    third = _book(client, globex, start=SLOT)
    client.post(f"/api/bookings/{second['id']}/cancel", json={"token": second["manage_token"]})

    def ids(query=""):
        response = client.get(f"/api/bookings{query}", headers=admin)
        assert response.status_code == 200, response.get_json()
        return [b["id"] for b in response.get_json()["bookings"]]

    assert ids() == [first["id"], third["id"], second["id"]]
    assert ids("?agent=camille") == [first["id"], second["id"]]
    assert ids(f"?customer={globex['id']}") == [third["id"]]
    assert ids("?status=cancelled") == [second["id"]]
    assert ids("?status=confirmed&agent=camille") == [first["id"]]
    assert ids("?from=2026-12-02&to=2026-12-03") == [second["id"]]
    assert ids("?to=2026-12-02") == [first["id"], third["id"]]
    assert ids("?kind=callback") == []
    assert ids("?limit=1") == [first["id"]]
    row = client.get("/api/bookings?agent=dana", headers=admin).get_json()["bookings"][0]
    assert row["customer"] == {"id": globex["id"], "name": "Globex"} and row["start"] == SLOT
    assert row["duration"] == 30 and row["kind"] == "call" and row["name"] == "Alice Dupont"


@pytest.mark.parametrize(
    "query",
    [
        "?from=2026-12-03&to=2026-12-01",
        "?from=2026-12-01&to=2026-12-01",
        "?from=tomorrow",
        "?status=lost",
        "?kind=meeting",
        "?customer=abc",
        "?customer=0",
        "?limit=0",
        "?agent=Bad%20Slug",
        "?from=0001-01-01",
    ],
)
def test_list_bookings_bad_filters_are_400(client, admin, customer, query):
    response = client.get(f"/api/bookings{query}", headers=admin)
    assert response.status_code == 400, (query, response.get_json())
    assert response.is_json


def test_new_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path, method in [
        ("/api/agents", "get"),
        ("/api/agents", "post"),
        ("/api/agents/{slug}", "patch"),
        ("/api/agents/{slug}/deactivate", "post"),
        ("/api/customers", "get"),
        ("/api/customers/{customer_id}", "get"),
        ("/api/customers/{customer_id}", "patch"),
        ("/api/customers/{customer_id}/deactivate", "post"),
        ("/api/bookings", "get"),
        ("/api/bookings", "post"),
    ]:
        assert method in paths[path], (path, method)
