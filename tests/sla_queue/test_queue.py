"""The SLA queue over HTTP: voicemails become phone requests with both clocks; respond, escalate,
take, triage; breach warnings once at T-15 min and once at breach (issue 13's "Done when")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from booking.extensions import db
from booking.jobs import registered_jobs
from booking.models import Agent
from booking.services import requests as requests_service
from booking.services.requests import Actor, RequestIn
from tests.sla_queue.conftest import SENIOR_PHONE, UNKNOWN_CALLER, fresh
from tests.voicemail.conftest import AGENT_PHONE, paris


def breach_scan() -> object:
    """One tick of the scheduler's breach-scan job, as the worker runs it."""
    return next(job for job in registered_jobs() if job.name == "requests.breach_scan").fn()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def only(api, **query):
    items = api("GET", "/api/requests", query_string=query)["requests"]
    assert len(items) == 1, items
    return items[0]


def test_voicemail_in_hours_is_a_severity_3_request_due_within_two_business_hours(line, voicemail, api):
    voicemail(paris(2026, 11, 30, 10, 0), "CA1")  # Monday 10:00
    item = only(api)
    assert item["channel"] == "phone" and item["severity"] == 3 and item["status"] == "open"
    assert item["customer"] == {"id": line["acme"]["id"], "name": "Acme SA"}
    assert (item["team"], item["agent"]) == ("dedicated", "camille")
    assert utc(item["received_at"]) == paris(2026, 11, 30, 10, 0)
    assert utc(item["first_response_due_at"]) == paris(2026, 11, 30, 12, 0)
    assert utc(item["follow_up_due_at"]) == paris(2026, 12, 2, 10, 0)  # two business days
    assert item["first_response_due_at"].endswith("+01:00")  # shown in the business zone
    assert (item["breached"], item["clock"], item["first_response_at"]) == (False, "on_time", None)
    # One story with the callback list: same due time, linked.
    callback = api("GET", "/api/callbacks")["callbacks"][0]
    assert item["callback_id"] == callback["id"]
    assert utc(callback["due_at"]) == utc(item["first_response_due_at"])
    detail = api("GET", f"/api/requests/{item['id']}")
    assert [(e["kind"], e["actor"]) for e in detail["events"]] == [("created", "twilio")]


def test_voicemail_after_hours_is_due_at_the_next_opening(line, voicemail, api):
    voicemail(paris(2026, 12, 24, 19, 0), "CA1")  # Christmas Eve evening; the 25th is a holiday
    item = only(api)
    assert utc(item["first_response_due_at"]) == paris(2026, 12, 28, 9, 0)
    assert utc(item["follow_up_due_at"]) == paris(2026, 12, 29, 17, 0)


def test_respond_records_the_first_response_once(line, voicemail, api, frozen):
    voicemail(paris(2026, 11, 30, 10, 0), "CA1")
    request_id = only(api)["id"]
    frozen(paris(2026, 11, 30, 10, 20))
    first = api("POST", f"/api/requests/{request_id}/respond")
    assert first["status"] == "responded" and utc(first["first_response_at"]) == paris(2026, 11, 30, 10, 20)
    frozen(paris(2026, 11, 30, 11, 0))
    again = api("POST", f"/api/requests/{request_id}/respond")
    assert again["first_response_at"] == first["first_response_at"]
    events = api("GET", f"/api/requests/{request_id}")["events"]
    assert [e["kind"] for e in events] == ["created", "responded"]
    assert events[1]["details"]["in_time"] is True
    assert api("GET", "/api/requests")["requests"] == []  # default: open ones only
    assert [r["id"] for r in api("GET", "/api/requests", query_string={"status": "responded"})["requests"]] == [
        request_id
    ]
    resolved = api("POST", f"/api/requests/{request_id}/resolve")
    assert resolved["status"] == "resolved" and resolved["first_response_at"] == first["first_response_at"]
    assert api("POST", f"/api/requests/{request_id}/respond")["status"] == "resolved"


def test_answering_a_phone_request_completes_its_callback(line, voicemail, api, frozen, fake_twilio):
    """Otherwise the dashboard keeps the call to make and the overdue reminder chases a call already made."""
    voicemail(paris(2026, 11, 30, 10, 0), "CA1")
    request_id = only(api)["id"]
    callback = api("GET", "/api/callbacks")["callbacks"][0]
    assert callback["reserved"]["status"] == "confirmed"
    frozen(paris(2026, 11, 30, 10, 20))
    api("POST", f"/api/requests/{request_id}/respond")
    callback = api("GET", "/api/callbacks")["callbacks"][0]
    assert callback["status"] == "done" and utc(callback["done_at"]) == paris(2026, 11, 30, 10, 20)
    assert callback["reserved"]["status"] == "cancelled"  # the 15 minutes ahead are given back
    events = [e["kind"] for e in api("GET", f"/api/requests/{request_id}")["events"]]
    assert events == ["created", "responded"]  # the callback's completion does not answer twice


def test_callback_marked_done_answers_its_phone_request(line, voicemail, api, frozen):
    voicemail(paris(2026, 11, 30, 10, 0), "CA1")
    callback_id = api("GET", "/api/callbacks")["callbacks"][0]["id"]
    frozen(paris(2026, 11, 30, 10, 45))
    api("POST", f"/api/callbacks/{callback_id}/done")
    item = only(api, status="responded")
    assert utc(item["first_response_at"]) == paris(2026, 11, 30, 10, 45)


def test_escalate_moves_to_senior_keeps_due_times_and_a_senior_takes_it(line, voicemail, api, frozen, fake_twilio):
    voicemail(paris(2026, 11, 30, 10, 0), "CA1")
    before = only(api)
    frozen(paris(2026, 11, 30, 10, 10))
    api("PATCH", f"/api/requests/{before['id']}", json={"severity": 2})  # an outage after all
    raised = api("GET", f"/api/requests/{before['id']}")
    assert utc(raised["first_response_due_at"]) == paris(2026, 11, 30, 11, 0)  # 1 h wall clock from arrival
    texts = len(fake_twilio.messages)

    frozen(paris(2026, 11, 30, 10, 15))
    after = api("POST", f"/api/requests/{before['id']}/escalate", json={"note": "API gateway returns 502"})
    assert (after["team"], after["agent"]) == ("senior", None)
    assert after["customer"] == before["customer"]
    for due in ("first_response_due_at", "follow_up_due_at"):
        assert after[due] == raised[due]
    assert "API gateway returns 502" in after["notes"]
    # Severity 2: the on-call senior is paged at once.
    pages = fake_twilio.messages[texts:]
    assert [m.to for m in pages] == [SENIOR_PHONE] and "ESCALATED" in pages[0].body
    assert [r["id"] for r in api("GET", "/api/requests", query_string={"team": "senior"})["requests"]] == [before["id"]]
    # Escalating again changes nothing and pages nobody.
    assert api("POST", f"/api/requests/{before['id']}/escalate", json={})["team"] == "senior"
    assert len(fake_twilio.messages) == texts + 1

    refused = api("POST", f"/api/requests/{before['id']}/take", json={"agent": "camille"}, status=409)
    assert refused["error"]["code"] == "not_senior"
    taken = api("POST", f"/api/requests/{before['id']}/take", json={"agent": "sam"})
    assert (taken["team"], taken["agent"]) == ("senior", "sam")
    assert taken["first_response_due_at"] == raised["first_response_due_at"]
    kinds = [e["kind"] for e in api("GET", f"/api/requests/{before['id']}")["events"]]
    assert kinds == ["created", "moved", "assigned", "escalated", "taken"]
    escalated = api("GET", f"/api/requests/{before['id']}")["events"][3]
    assert escalated["details"]["from"] == {"team": "dedicated", "agent": "camille"}


def test_unknown_callers_voicemail_goes_to_triage_and_is_assignable(line, voicemail, api, frozen):
    voicemail(paris(2026, 11, 30, 19, 0), "CA9", caller=UNKNOWN_CALLER)
    item = only(api, team="triage")
    assert (item["customer"], item["agent"], item["team"]) == (None, None, "triage")
    assert UNKNOWN_CALLER in item["subject"]
    assert utc(item["first_response_due_at"]) == paris(2026, 12, 1, 9, 0)

    frozen(paris(2026, 12, 1, 8, 30))
    assigned = api("PATCH", f"/api/requests/{item['id']}", json={"customer": line["beta"]["id"]})
    assert (assigned["team"], assigned["agent"]) == ("dedicated", "camille")  # the customer's own agent
    assert assigned["customer"]["name"] == "Beta SARL"
    assert assigned["events"][-1]["kind"] == "assigned"
    assert assigned["events"][-1]["details"] == {
        "customer": line["beta"]["id"],
        "agent": "camille",
        "team": "dedicated",
    }
    assert api("GET", "/api/requests", query_string={"team": "triage"})["requests"] == []
    assert only(api, agent="camille")["id"] == item["id"]

    missing = api("PATCH", f"/api/requests/{item['id']}", json={"customer": 999}, status=404)
    assert missing["error"]["code"] == "unknown_customer"
    assert api("PATCH", f"/api/requests/{item['id']}", json={"severity": 9}, status=400)["error"]["code"] == (
        "invalid_request"
    )


def test_a_new_severity_moves_the_callback_with_the_request(line, voicemail, api, frozen):
    """One story: the callback list's due time, severity and reserved slot follow the request's."""
    voicemail(paris(2026, 11, 30, 10, 0), "CA1")  # severity 3: due 12:00, reserved 12:00-12:15
    request_id = only(api)["id"]
    before = api("GET", "/api/callbacks")["callbacks"][0]
    assert utc(before["reserved"]["start"]) == paris(2026, 11, 30, 12, 0)
    frozen(paris(2026, 11, 30, 10, 10))
    api("PATCH", f"/api/requests/{request_id}", json={"severity": 2})
    item = only(api)
    callback = api("GET", "/api/callbacks")["callbacks"][0]
    assert utc(item["first_response_due_at"]) == utc(callback["due_at"]) == paris(2026, 11, 30, 11, 0)
    assert callback["severity"] == 2
    assert utc(callback["reserved"]["start"]) == paris(2026, 11, 30, 11, 0)
    assert callback["reserved"]["uid"] == before["reserved"]["uid"]  # the same calendar event, moved


def test_breach_warning_is_sent_once_at_t_minus_15_and_once_at_breach(
    line, voicemail, api, frozen, fake_twilio, smtp_sink
):
    voicemail(paris(2026, 11, 30, 10, 0), "CA1")  # due 12:00
    request_id = only(api)["id"]

    def alerts() -> tuple[list[str], list[str]]:
        sms = [m.body for m in fake_twilio.messages if m.to == AGENT_PHONE and "request #" in m.body]
        mails = [m["Subject"] for m in smtp_sink.messages if m["Subject"].startswith("[")]
        return sms, [s for s in mails if "Due in" in s or "breached" in s]

    for minute, expected in [
        (paris(2026, 11, 30, 11, 44, 59), (0, 0)),
        (paris(2026, 11, 30, 11, 45), (1, 1)),
        (paris(2026, 11, 30, 11, 50), (1, 1)),
        (paris(2026, 11, 30, 12, 0), (1, 1)),  # the due instant is still on time
        (paris(2026, 11, 30, 12, 0, 1), (2, 2)),
        (paris(2026, 11, 30, 12, 1), (2, 2)),
        (paris(2026, 11, 30, 15, 0), (2, 2)),
    ]:
        frozen(minute)
        breach_scan()
        sms, mails = alerts()
        assert (len(sms), len(mails)) == expected, (minute, sms, mails)
    assert sms[0].startswith("Due in 15 min") and sms[1].startswith("SLA BREACHED")
    assert mails[0].startswith("[Due in 15 min]") and mails[1].startswith("[SLA breached]")
    assert all(m["To"] == "camille@example.com" for m in smtp_sink.messages if m["Subject"].startswith("[SLA"))

    item = api("GET", f"/api/requests/{request_id}")
    assert (item["breached"], item["clock"]) == (True, "late")
    logged = [(e["kind"], e["actor"]) for e in item["events"]]
    assert logged == [("created", "twilio"), ("warned", "breach-scan"), ("breached", "breach-scan")]
    fresh()


def test_an_answered_request_is_never_warned(line, voicemail, api, frozen, fake_twilio):
    voicemail(paris(2026, 11, 30, 10, 0), "CA1")
    request_id = only(api)["id"]
    frozen(paris(2026, 11, 30, 11, 30))
    api("POST", f"/api/requests/{request_id}/respond")
    texts = len(fake_twilio.messages)
    for moment in (paris(2026, 11, 30, 11, 50), paris(2026, 11, 30, 12, 30)):
        frozen(moment)
        breach_scan()
    assert len(fake_twilio.messages) == texts
    assert [e["kind"] for e in api("GET", f"/api/requests/{request_id}")["events"]] == ["created", "responded"]


def test_a_moved_due_time_is_watched_afresh(line, app, api, frozen, fake_twilio):
    """Breached at severity 3's due time, then lowered to 5 (due next day): a new due time, a new warning.

    An e-mail request (opened through the channels' entry point): a phone request's first response
    is the callback rule, two business hours in hours whatever the severity 3-5.
    """
    frozen(paris(2026, 11, 30, 10, 0))
    opened, _ = requests_service.open_request(
        fresh(),
        app.extensions["booking.settings"].calendar,
        RequestIn(
            channel="email", received_at=paris(2026, 11, 30, 10, 0), subject="Sync broken", customer_id=1, agent_id=1
        ),
        Actor.system("mail-gateway"),
        paris(2026, 11, 30, 10, 0),
    )
    request_id = opened.id
    assert only(api)["team"] == "dedicated"
    frozen(paris(2026, 11, 30, 12, 5))
    breach_scan()
    api("PATCH", f"/api/requests/{request_id}", json={"severity": 5})  # due Tue 10:00
    item = api("GET", f"/api/requests/{request_id}")
    assert utc(item["first_response_due_at"]) == paris(2026, 12, 1, 10, 0) and item["breached"] is False
    frozen(paris(2026, 12, 1, 9, 50))
    breach_scan()
    kinds = [e["kind"] for e in api("GET", f"/api/requests/{request_id}")["events"]]
    assert kinds == ["created", "breached", "moved", "assigned", "warned"]
    assert sum("request #" in m.body for m in fake_twilio.messages) == 2
    assert [e["kind"] for e in api("GET", f"/api/requests/{request_id}")["events"]][0] == "created"


def test_requests_api_needs_the_admin_token(line, client):
    assert client.get("/api/requests").status_code == 401
    response = client.get("/api/requests", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"
    assert client.post("/api/requests/1/respond").status_code == 401
    assert client.get("/api/sla/report?month=2026-11").status_code == 401


def test_unknown_request_and_bad_filters_are_clear_errors(line, api):
    assert api("GET", "/api/requests/12345", status=404)["error"]["code"] == "unknown_request"
    assert api("POST", "/api/requests/12345/respond", status=404)["error"]["code"] == "unknown_request"
    assert api("GET", "/api/requests", query_string={"status": "lost"}, status=400)["error"]["code"] == (
        "invalid_request"
    )
    assert api("GET", "/api/requests", query_string={"team": "x"}, status=400)["error"]["code"] == "invalid_request"


def test_request_times_are_timezone_aware_after_a_round_trip(line, voicemail, api):
    voicemail(paris(2026, 11, 30, 10, 0), "CA1")
    item = only(api)
    for key in ("received_at", "first_response_due_at", "follow_up_due_at"):
        assert datetime.fromisoformat(item[key]).utcoffset() == timedelta(hours=1)


def test_openapi_documents_the_queue_and_the_report(client):
    doc = client.get("/api/openapi.json").get_json()
    paths = doc["paths"]
    for path, method in [
        ("/api/requests", "get"),
        ("/api/requests/{request_id}", "get"),
        ("/api/requests/{request_id}", "patch"),
        ("/api/requests/{request_id}/respond", "post"),
        ("/api/requests/{request_id}/resolve", "post"),
        ("/api/requests/{request_id}/escalate", "post"),
        ("/api/requests/{request_id}/take", "post"),
        ("/api/sla/report", "get"),
    ]:
        assert method in paths[path], (path, method)
    report_params = {p["name"] for p in paths["/api/sla/report"]["get"]["parameters"]}
    assert {"from", "to", "customer", "month", "format"} <= report_params


def test_two_workers_scanning_at_once_warn_once(line, voicemail, api, app, frozen, fake_twilio, smtp_sink):
    """``booking worker`` may run on several hosts: the keyed event (and on PostgreSQL the skipped row
    lock) lets one of two simultaneous scans log and send the warning."""
    from concurrent.futures import ThreadPoolExecutor

    from booking import clock
    from booking.extensions import db
    from booking.services import outbox
    from booking.services.requests import scan_breaches

    voicemail(paris(2026, 11, 30, 10, 0), "CA1")
    request_id = only(api)["id"]
    frozen(paris(2026, 11, 30, 11, 46))
    fresh()

    def scan() -> list[int]:
        with app.app_context():
            try:
                return scan_breaches(db.session, clock.now())
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: scan(), range(4)))
    assert sum(len(ids) for ids in results) == 2  # one SMS row and one e-mail row, from one scan
    outbox.drain(fresh(), clock.now())
    assert sum("Due in 15 min" in m.body for m in fake_twilio.messages) == 1
    assert sum(m["Subject"].startswith("[Due in 15 min]") for m in smtp_sink.messages) == 1
    kinds = [e["kind"] for e in api("GET", f"/api/requests/{request_id}")["events"]]
    assert kinds == ["created", "warned"]


@pytest.mark.env(BOOKING_TRIAGE_EMAIL="triage@vendor.example")
def test_an_unknown_callers_request_is_mailed_to_triage_once(line, voicemail, api, smtp_sink, hook):
    """``BOOKING_TRIAGE_EMAIL`` hears of every request nobody could be matched to; a replayed webhook
    does not mail it twice, and a known customer's voicemail does not mail it at all."""
    voicemail(paris(2026, 11, 30, 19, 0), "CA9", caller=UNKNOWN_CALLER)
    voicemail(paris(2026, 11, 30, 19, 5), "CA1")  # Acme: its agent is told, not triage
    hook(
        "/twilio/voicemail",
        CallSid="CA9",
        RecordingSid="RECA9",
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RECA9",
        RecordingDuration="30",
        RecordingStatus="completed",
    )
    triage = [m for m in smtp_sink.messages if m["To"] == "triage@vendor.example"]
    assert len(triage) == 1
    request_id = only(api, team="triage")["id"]
    assert triage[0]["Subject"] == f"[Triage] #{request_id} Voicemail from {UNKNOWN_CALLER}"
    assert f"PATCH /api/requests/{request_id}" in triage[0].get_payload(decode=True).decode()


def test_triage_email_must_be_one_address(tmp_path):
    from booking.config import ConfigError, load_settings

    assert load_settings({"BOOKING_TRIAGE_EMAIL": " ops@vendor.example "}, instance_path=tmp_path).triage_email == (
        "ops@vendor.example"
    )
    assert load_settings({}, instance_path=tmp_path).triage_email is None
    for bad in ("ops", "a@b.example, c@d.example", "Ops <ops@vendor.example>"):
        with pytest.raises(ConfigError, match="BOOKING_TRIAGE_EMAIL"):
            load_settings({"BOOKING_TRIAGE_EMAIL": bad}, instance_path=tmp_path)


def test_assigning_a_triage_voicemail_hands_its_callback_to_the_agent_who_is_told_once(
    line, voicemail, api, frozen, fake_twilio
):
    voicemail(paris(2026, 11, 30, 19, 0), "CA9", caller=UNKNOWN_CALLER)
    item = only(api, team="triage")
    (callback,) = api("GET", "/api/callbacks")["callbacks"]
    assert callback["agent"] is None
    assert [m for m in fake_twilio.messages if m.to == AGENT_PHONE] == []  # nobody to tell yet

    frozen(paris(2026, 12, 1, 8, 30))
    api("PATCH", f"/api/requests/{item['id']}", json={"customer": line["beta"]["id"]})
    api("PATCH", f"/api/requests/{item['id']}", json={"agent": "camille"})  # the same owner again: no news
    (callback,) = api("GET", "/api/callbacks")["callbacks"]
    assert callback["agent"] == "camille"
    told = [m for m in fake_twilio.messages if m.to == AGENT_PHONE]
    assert len(told) == 1 and UNKNOWN_CALLER in told[0].body


def test_reassigning_a_phone_request_frees_the_old_reservation_and_tells_the_new_owner(
    line, voicemail, api, frozen, fake_twilio, make_agent
):
    make_agent(slug="dora", name="Dora Dedicated", phone="+33140000007", email="dora@example.com")
    voicemail(paris(2026, 11, 30, 10, 0), "CA1")  # Acme's: Camille's, with a reservation
    item = only(api, agent="camille")
    (callback,) = api("GET", "/api/callbacks")["callbacks"]
    assert callback["reserved"]["status"] == "confirmed"

    api("PATCH", f"/api/requests/{item['id']}", json={"agent": "dora"})
    (callback,) = api("GET", "/api/callbacks")["callbacks"]
    assert callback["agent"] == "dora"
    assert callback["reserved"]["status"] == "cancelled"  # Camille's reserved time is free again
    assert len([m for m in fake_twilio.messages if m.to == "+33140000007"]) == 1  # Dora is told, once


def test_reassigning_locks_the_reserved_agent_before_any_other_write_or_row_lock(
    line, voicemail, api, frozen, make_agent
):
    """Lock order: a booking locks the agent first, then touches the request; a reassignment that
    locked the request (and wrote the callback) before it locked the agent whose reservation it frees
    could deadlock with it. So the agent lock is the first write and the first row lock of the PATCH."""
    make_agent(slug="dora", name="Dora Dedicated", phone="+33140000007", email="dora@example.com")
    voicemail(paris(2026, 11, 30, 10, 0), "CA1")  # Acme's: Camille's, with a reservation
    item = only(api, agent="camille")
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        api("PATCH", f"/api/requests/{item['id']}", json={"agent": "dora"})
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    locks = [i for i, s in enumerate(statements) if s.startswith("UPDATE agents SET schedule_version")]
    assert locks, statements
    before = statements[: locks[0]]
    writes = [s for s in before if s.split(" ", 1)[0] in ("INSERT", "UPDATE", "DELETE") or "FOR UPDATE" in s]
    assert writes == [], writes
    (callback,) = api("GET", "/api/callbacks")["callbacks"]
    assert (callback["agent"], callback["reserved"]["status"]) == ("dora", "cancelled")


def test_a_reservation_that_changed_hands_before_the_lock_is_a_conflict_not_an_unlocked_cancel(
    line, voicemail, api, frozen, make_agent, monkeypatch
):
    """The reservation's agent is read, then locked: if a concurrent move gave it to someone else in
    between, the reassignment refuses (409, retry) instead of cancelling in an agent's schedule unlocked."""
    make_agent(slug="dora", name="Dora Dedicated", phone="+33140000007", email="dora@example.com")
    voicemail(paris(2026, 11, 30, 10, 0), "CA1")
    item = only(api, agent="camille")
    sam = db.session.scalar(select(Agent.id).where(Agent.slug == "sam"))  # not the reservation's agent
    monkeypatch.setattr(requests_service, "_reserved_agent_id", lambda session, request_id: sam)
    refused = api("PATCH", f"/api/requests/{item['id']}", json={"agent": "dora"}, status=409)
    assert refused["error"]["code"] == "retry"
    (callback,) = api("GET", "/api/callbacks")["callbacks"]
    assert (callback["agent"], callback["reserved"]["status"]) == ("camille", "confirmed")  # nothing changed


def test_requests_escalated_after_their_breach_do_not_crowd_out_new_ones(line, app, api, frozen):
    """Escalating (or any change) after the breach must not put a request back into every scan.

    Before, the scan skipped "breached since its last change" (``updated_at``): an escalation after
    the breach bumped ``updated_at``, so such requests filled every batch and a newer request waited.
    """
    calendar = app.extensions["booking.settings"].calendar
    old_ids = []
    for n in range(2):
        opened, _ = requests_service.open_request(
            fresh(),
            calendar,
            RequestIn(
                channel="email", received_at=paris(2026, 11, 30, 9, 0), subject=f"old {n}", customer_id=1, agent_id=1
            ),
            Actor.system("mail-gateway"),
            paris(2026, 11, 30, 9, 0),
        )
        old_ids.append(opened.id)
    frozen(paris(2026, 11, 30, 11, 5))  # both breached at 11:00
    requests_service.scan_breaches(fresh(), paris(2026, 11, 30, 11, 5), limit=2)
    for request_id in old_ids:
        api("POST", f"/api/requests/{request_id}/escalate", json={"note": "needs a senior"})
    newer, _ = requests_service.open_request(
        fresh(),
        calendar,
        RequestIn(channel="email", received_at=paris(2026, 11, 30, 10, 0), subject="new", customer_id=1, agent_id=1),
        Actor.system("mail-gateway"),
        paris(2026, 11, 30, 10, 0),
    )
    frozen(paris(2026, 11, 30, 12, 5))  # the newer one breached at 12:00
    requests_service.scan_breaches(fresh(), paris(2026, 11, 30, 12, 5), limit=2)
    kinds = [e["kind"] for e in api("GET", f"/api/requests/{newer.id}")["events"]]
    assert "breached" in kinds, kinds
