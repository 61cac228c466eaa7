"""/api/openapi.json and a bounded schemathesis run: no 5xx, no response that breaks the schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance


def test_openapi_document_lists_the_promised_paths(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path, method in [
        ("/api/agents", "post"),
        ("/api/customers", "post"),
        ("/api/agents/{slug}/availability", "get"),
        ("/api/bookings", "post"),
        ("/api/bookings/{booking_id}/cancel", "post"),
        ("/api/bookings/{booking_id}/reschedule", "post"),
    ]:
        assert method in paths[path], path
    assert "bearer" in doc["components"]["securitySchemes"]


def test_unknown_api_path_is_json(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.delete("/api/bookings")
    assert response.status_code == 405 and response.is_json
    response = client.get("/twilio/voice")  # Twilio only POSTs; a machine endpoint answers JSON
    assert response.status_code == 405 and response.get_json()["error"]["code"] == "method_not_allowed"


@pytest.mark.slow
def test_schemathesis_finds_no_server_error(sqlite_url, tmp_path, frozen, admin):
    from booking import create_app
    from tests.conftest import base_env

    app = create_app({"TESTING": True}, env=base_env(sqlite_url, tmp_path))
    client = app.test_client()
    agent = client.post(
        "/api/agents",
        json={"slug": "camille", "name": "C", "email": "c@example.com", "phone": "+33140000001"},
        headers=admin,
    ).get_json()
    client.post(
        "/api/customers",
        json={"name": "Acme", "plan": "all-inclusive", "dedicated_support": True, "agent": agent["slug"]},
        headers=admin,
    )
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: list[str] = []
    for operation in schema.get_all_operations():
        op = operation.ok()

        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=op.as_strategy())
        def run(case: schemathesis.Case) -> None:
            case.headers = {**(case.headers or {}), **admin}
            response = case.call()
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        try:
            run()
        except Exception as exc:  # collect all operations' failures, then fail once
            failures.append(f"{op.method.upper()} {op.path}: {exc}")
    assert not failures, "\n\n".join(failures)
