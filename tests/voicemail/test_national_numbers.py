"""Issue 14: a customer whose number an admin typed in a national format is recognised on the phone.

Before, ``"06 12 34 56 99"`` was stored as typed and Twilio's ``From`` (``+33612345699``) never
matched it: the call went to anonymous voicemail instead of the dedicated agent.
"""

from __future__ import annotations

import pytest

from tests.voicemail.conftest import LINE, paris, post_hook, tags, twiml


def test_customer_typed_in_national_format_is_recognised_when_calling(client, fake_twilio, make_agent, admin, frozen):
    """The issue's case: "06 12 34 56 99" used to be stored as typed; Twilio's From never matched it."""
    agent = make_agent(phone="+33140000001")
    body = {
        "name": "Acme",
        "plan": "all-inclusive",
        "dedicated_support": True,
        "agent": agent["slug"],
        "phones": ["06 12 34 56 99"],
    }
    assert client.post("/api/customers", json=body, headers=admin).status_code == 201
    frozen(paris(2026, 11, 30, 10, 0))
    params = {"CallSid": "CAnational", "From": "+33612345699", "To": LINE, "CallStatus": "ringing"}
    response, text = post_hook(client, "/twilio/voice", params)
    assert response.status_code == 200
    root = twiml(text)
    assert "Dial" in tags(root), text
    assert root.find("Dial/Number").text == "+33140000001"


@pytest.mark.env(BOOKING_PHONE_REGION="BE")
def test_region_of_national_numbers_is_configurable(client, admin):
    body = {"name": "Brussels SA", "plan": "standard", "phones": ["0470 12 34 56"]}
    created = client.post("/api/customers", json=body, headers=admin)
    assert created.get_json()["phones"] == ["+32470123456"]
