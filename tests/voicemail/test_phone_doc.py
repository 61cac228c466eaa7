"""docs/phone.md shows the TwiML the service really answers with, and a diagram of the flows.

Every ``xml`` block of the document is compared, canonicalised, with what the builders in
``booking.voicemail.twiml`` produce for the same values, so a wording or attribute change that is
not carried into the document fails here.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from booking.voicemail import twiml, twiml_calls

DOC = Path(__file__).resolve().parents[2] / "docs" / "phone.md"
HOOKS = "https://book.example.com/twilio"
AGENT, CALLER = "+33140000001", "+33612345678"
CONFERENCE = "handoff-CA0123456789abcdef0123456789abcdef"


def canonical(document: str) -> str:
    body = re.sub(r"^<\?xml[^>]*\?>", "", document.strip())
    return ET.canonicalize(body, strip_text=True)


def documents() -> dict[str, str]:
    record, status = f"{HOOKS}/voice/recorded", f"{HOOKS}/voicemail"
    dial_status, conference = f"{HOOKS}/voice/dial-status", f"{HOOKS}/conference/status"
    greeting = twiml.Greeting(next_opening=datetime(2026, 12, 1, 8, 0, tzinfo=UTC), zone=ZoneInfo("Europe/Paris"))
    built = {
        "in hours menu": twiml.in_hours_menu(
            f"{HOOKS}/voice/menu", AGENT, CALLER, dial_status, agent_name="Camille Martin"
        ),
        "dial agent": twiml.dial_agent(AGENT, CALLER, dial_status),
        "dial seniors": twiml.dial_seniors(["+33140000010", "+12125550001"], CALLER, dial_status),
        "senior voicemail": twiml.senior_voicemail(record, status),
        "busy voicemail": twiml.busy_voicemail(record, status, agent_name="Camille Martin"),
        "after hours": twiml.after_hours_menu(greeting, f"{HOOKS}/voice/menu", record, status),
        "critical": twiml.critical_voicemail(record, status),
        "saved": twiml.voicemail_saved(),
        # issue 16: "Call now" and the warm hand-off
        "call now": twiml_calls.connect_customer(
            CALLER, "+33900000000", f"{HOOKS}/call-now/7/dialed", f"{HOOKS}/call-now/7/customer-status", "Acme SA"
        ),
        "call now missed": twiml_calls.call_ended(answered=False),
        "handoff agent": twiml_calls.conference(CONFERENCE, conference, label="agent:camille", end_on_exit=False),
        "handoff customer": twiml_calls.conference(CONFERENCE, conference, label="customer", end_on_exit=True),
    }
    return {canonical(doc): name for name, doc in built.items()}


def test_every_twiml_block_in_the_doc_is_what_the_service_answers() -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```xml\n(.*?)```", text, flags=re.S)
    known = documents()
    shown = []
    for block in blocks:
        assert canonical(block) in known, block[:200]
        shown.append(known[canonical(block)])
    assert sorted(shown) == sorted(known.values())  # and every step is shown


def test_the_doc_has_a_mermaid_diagram_of_the_four_flows() -> None:
    text = DOC.read_text(encoding="utf-8")
    (diagram,) = re.findall(r"```mermaid\n(.*?)```", text, flags=re.S)
    assert diagram.startswith("flowchart")
    for step in ("business hours?", "press 1", "press 2", "Dial every senior on duty", "severity 2, team senior"):
        assert step in diagram, step
    for step in ("/handoff", "calls(sid).update", "participants.create", "calls.create", "reservation kept"):
        assert step in diagram, step  # issue 16: the hand-off and "Call now"
