"""Issue 12 item 12: the OpenAPI document says exactly what the server does.

Found by schemathesis: booleans accepted 0/1, 405s had no ``Allow``, times were plain strings, the
documented call lengths differed from the server's, business-rule 400s were undocumented, and the
new 413/429 answers must be in the document too.
"""

from __future__ import annotations

import pytest

from booking.services.availability import MAX_DURATION, MIN_DURATION


@pytest.fixture
def doc(client):
    return client.get("/api/openapi.json").get_json()


def _schema(doc, name):
    return doc["components"]["schemas"][name]


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/agents", {"slug": "a", "name": "A", "email": "a@example.com", "phone": "+33140000000", "on_call": 1}),
        (
            "/api/agents",
            {"slug": "a", "name": "A", "email": "a@example.com", "phone": "+33140000000", "on_call": "true"},
        ),
        ("/api/customers", {"name": "Acme", "plan": "standard", "dedicated_support": 0}),
    ],
)
def test_booleans_are_strict(client, admin, path, body):
    response = client.post(path, json=body, headers=admin)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request"


def test_405_lists_the_allowed_methods(client):
    response = client.delete("/api/bookings")
    assert response.status_code == 405
    # POST books (customer API), GET lists (admin API, issue 14): both, and both documented.
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS", "POST"}
    page = client.put("/agent/sign-out")
    assert page.status_code == 405 and "POST" in page.headers["Allow"]


def test_times_are_documented_as_date_time(doc):
    for schema, fields in [
        ("SlotOut", ["start", "end"]),
        ("BookingOut", ["start", "end"]),
        ("TimeOffOut", ["start", "end"]),
        ("ReservationOut", ["start", "end"]),
        ("VoicemailOut", ["received_at"]),
        ("CallbackOut", ["due_at", "created_at"]),
    ]:
        for field in fields:
            assert _schema(doc, schema)["properties"][field]["format"] == "date-time", (schema, field)
    assert _schema(doc, "BookingCreate")["properties"]["start"]["format"] == "date-time"


def test_duration_limits_are_the_servers(doc):
    documented = [
        _schema(doc, "BookingCreate")["properties"]["duration"],
        _schema(doc, "BookingReschedule")["properties"]["duration"],
        next(
            p["schema"]
            for p in doc["paths"]["/api/agents/{slug}/availability"]["get"]["parameters"]
            if p["name"] == "duration"
        ),
    ]
    for schema in documented:
        (integer,) = [b for b in schema["anyOf"] if b.get("type") == "integer"]
        assert (integer["minimum"], integer["maximum"], integer["multipleOf"]) == (MIN_DURATION, MAX_DURATION, 5)


def test_business_rule_errors_and_new_statuses_are_documented(doc):
    codes = _schema(doc, "ErrorBody")["properties"]["code"]["description"]
    for code in (
        "bad_window",
        "bad_duration",
        "slot_unavailable",
        "too_late",
        "too_many_open_bookings",
        "rate_limited",
    ):
        assert code in codes
    responses = doc["paths"]["/api/bookings"]["post"]["responses"]
    assert {"400", "409", "413", "429"} <= set(responses)


def test_every_api_route_is_in_the_document(app, doc):
    """The schemathesis run walks the document: every /api operation must be in it to be exercised."""
    routes = {
        (rule.rule, method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and not rule.endpoint.startswith("openapi.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {
        (path.replace("{", "<").replace("}", ">"), method) for path, item in doc["paths"].items() for method in item
    }
    normalised = {(r.replace("<int:", "<"), m) for r, m in routes}
    assert normalised <= documented, normalised - documented
