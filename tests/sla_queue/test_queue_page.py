"""The agent's queue page (/agent/queue): own requests across channels with countdowns; respond,
escalate, take with CSRF-protected forms; another agent's request is a 404."""

from __future__ import annotations

import re

from tests.dashboard.conftest import csrf
from tests.voicemail.conftest import paris


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'<li[^>]*id="{element_id}".*?</li>', html, re.S)
    assert match, element_id
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(0)).split())


def test_the_queue_page_counts_down_and_acts(app, client, line, voicemail, api, sign_in, frozen):
    voicemail(paris(2026, 11, 30, 10, 0), "CA1")
    voicemail(paris(2026, 11, 30, 10, 20), "CA2")
    first, second = (r["id"] for r in api("GET", "/api/requests")["requests"])
    camille, sam = app.test_client(), app.test_client()
    sign_in(camille, "camille@example.com")
    sign_in(sam, "sam@example.com")

    frozen(paris(2026, 11, 30, 11, 50))
    html = camille.get("/agent/queue", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert html.index(f'id="request-{first}"') < html.index(f'id="request-{second}"')  # soonest due first
    row = text_of(html, f"request-{first}")
    assert "Acme SA" in row and "Voicemail" in row and "Severity 3 Standard" in row
    assert "Due soon" in row and "10 min left" in row
    assert "Monday, November 30, 12:00 PM" in row or "Monday, November 30, 12:00" in row
    assert "On time" in text_of(html, f"request-{second}") and "30 min left" in text_of(html, f"request-{second}")

    frozen(paris(2026, 11, 30, 12, 3))
    html = camille.get("/agent/queue", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Late" in text_of(html, f"request-{first}") and "3 min late" in text_of(html, f"request-{first}")

    token = csrf(camille, "/agent/queue")
    assert camille.post(f"/agent/queue/{first}/respond").status_code == 400  # no CSRF token
    done = camille.post(f"/agent/queue/{first}/respond", data={"csrf_token": token})
    assert done.status_code == 303 and "notice=responded" in done.headers["Location"]
    assert f'id="request-{first}"' not in camille.get("/agent/queue").get_data(as_text=True)  # answered
    assert f'id="request-{first}"' in camille.get("/agent/queue?status=responded").get_data(as_text=True)

    # Sam (senior) sees nothing of Camille's until it is escalated, then takes it.
    sam_token = csrf(sam, "/agent")  # the dashboard always has a form (sign out)
    assert f'id="request-{second}"' not in sam.get("/agent/queue").get_data(as_text=True)
    assert sam.post(f"/agent/queue/{second}/respond", data={"csrf_token": sam_token}).status_code == 404
    moved = camille.post(f"/agent/queue/{second}/escalate", data={"csrf_token": token, "note": "Needs a DBA"})
    assert moved.status_code == 303
    assert f'id="request-{second}"' not in camille.get("/agent/queue").get_data(as_text=True)
    senior_view = sam.get("/agent/queue", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Needs a DBA" in text_of(senior_view, f"request-{second}") and "Take it" in senior_view
    assert sam.post(f"/agent/queue/{second}/take", data={"csrf_token": sam_token}).status_code == 303
    assert api("GET", f"/api/requests/{second}")["agent"] == "sam"

    assert camille.get("/agent/queue?channel=email").get_data(as_text=True).count('class="item ') == 0
    assert sam.get("/agent/queue", follow_redirects=False).status_code == 200


def test_the_queue_page_needs_a_session(client, line):
    response = client.get("/agent/queue")
    assert response.status_code == 303 and "/agent/sign-in" in response.headers["Location"]
