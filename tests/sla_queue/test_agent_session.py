"""The per-request actions with a signed-in agent's session instead of the admin token.

The cookie authenticates, so the CSRF token must come along (``X-CSRFToken``); an agent acts on their
own requests, a senior on the senior team's; listing stays admin-only.
"""

from __future__ import annotations

from tests.dashboard.conftest import csrf
from tests.voicemail.conftest import paris


def test_an_agent_answers_and_escalates_their_own_request_and_a_senior_takes_it(
    app,
    client,
    line,
    voicemail,
    api,
    sign_in,
    frozen,
):
    voicemail(paris(2026, 11, 30, 10, 0), "CA1")
    request_id = api("GET", "/api/requests")["requests"][0]["id"]
    camille, sam = app.test_client(), app.test_client()
    sign_in(camille, "camille@example.com")
    sign_in(sam, "sam@example.com")
    camille_token, sam_token = csrf(camille, "/agent"), csrf(sam, "/agent")

    assert camille.get("/api/requests").status_code == 401  # the queue listing is the admin's
    without = camille.post(f"/api/requests/{request_id}/respond")
    assert without.status_code == 400 and without.is_json  # no CSRF token: refused

    refused = sam.post(f"/api/requests/{request_id}/respond", headers={"X-CSRFToken": sam_token})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "not_yours"

    frozen(paris(2026, 11, 30, 10, 5))
    escalated = camille.post(
        f"/api/requests/{request_id}/escalate", json={"note": "needs a DBA"}, headers={"X-CSRFToken": camille_token}
    )
    assert escalated.status_code == 200 and escalated.get_json()["team"] == "senior"

    other = sam.post(f"/api/requests/{request_id}/take", json={"agent": "camille"}, headers={"X-CSRFToken": sam_token})
    assert other.status_code == 403
    taken = sam.post(f"/api/requests/{request_id}/take", json={}, headers={"X-CSRFToken": sam_token})
    assert taken.status_code == 200 and taken.get_json()["agent"] == "sam"
    answered = sam.post(f"/api/requests/{request_id}/respond", headers={"X-CSRFToken": sam_token})
    assert answered.status_code == 200 and answered.get_json()["status"] == "responded"

    log = [(e["kind"], e["actor"]) for e in api("GET", f"/api/requests/{request_id}")["events"]]
    assert log == [
        ("created", "twilio"),
        ("escalated", "agent:camille"),
        ("taken", "agent:sam"),
        ("responded", "agent:sam"),
    ]
