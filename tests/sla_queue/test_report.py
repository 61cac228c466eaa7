"""GET /api/sla/report for a hand-computed month: March 2027 in Paris.

That month has both traps: summer time starts on Sunday 28 March (02:00 CET → 03:00 CEST, a 23-hour
day) and Easter Monday, 29 March, is a public holiday. Requests arrive by voicemail and are answered
through the API at frozen instants; every figure below is worked out by hand in the comments.
"""

from __future__ import annotations

import csv
import io
import os

import pytest

from booking.jobs import registered_jobs
from tests.pages.test_browser import SCREENSHOTS
from tests.sla_queue.conftest import OTHER_CALLER, UNKNOWN_CALLER
from tests.voicemail.conftest import CALLER, paris

# (call sid, caller, when the call came in, press 1 for an outage?, when it was answered or None)
CALLS = [
    # 23:30 CET on 28 Feb = 22:30 UTC: February, not in the report.
    ("CA0", CALLER, paris(2027, 2, 28, 23, 30), False, None),
    # 00:30 CET on 1 March = 23:30 UTC on 28 Feb: March. Due 09:00; answered 08:50 → 500 min, in time.
    ("CA6", OTHER_CALLER, paris(2027, 3, 1, 0, 30), False, paris(2027, 3, 1, 8, 50)),
    # Friday 10:00, in hours: due 12:00; answered 11:00 → 60 min, in time.
    ("CA1", CALLER, paris(2027, 3, 26, 10, 0), False, paris(2027, 3, 26, 11, 0)),
    # Saturday 22:00 CET (21:00 UTC): due at the next opening, Tuesday 09:00 CEST, because Monday is
    # Easter Monday. Answered Tue 08:55 CEST (06:55 UTC) → 57 h 55 = 3475 min, in time (only thanks
    # to the holiday: without it the due time would have been Monday 09:00).
    ("CA2", CALLER, paris(2027, 3, 27, 22, 0), False, paris(2027, 3, 30, 8, 55)),
    # Sunday 01:30 CET (00:30 UTC), press 1: severity 1, due 1 h wall clock = 03:30 CEST. Answered
    # 03:00 CEST (01:00 UTC) → 30 min, in time (the wall clock shows 01:30 → 03:00).
    ("CA3", CALLER, paris(2027, 3, 28, 1, 30), True, paris(2027, 3, 28, 3, 0)),
    # Sunday 12:00 CEST (10:00 UTC): due Tue 09:00 CEST; answered 09:30 → 2730 min, breached.
    ("CA7", OTHER_CALLER, paris(2027, 3, 28, 12, 0), False, paris(2027, 3, 30, 9, 30)),
    # Unknown caller, Wednesday 23:30 CEST (21:30 UTC): triage, due Thu 09:00, never answered.
    ("CA4", UNKNOWN_CALLER, paris(2027, 3, 31, 23, 30), False, None),
    # 00:30 CEST on 1 April = 22:30 UTC on 31 March: April, not in the report.
    ("CA5", OTHER_CALLER, paris(2027, 4, 1, 0, 30), False, None),
]
NOW = paris(2027, 4, 2, 12, 0)


def breach_scan() -> object:
    """One tick of the scheduler's breach-scan job, as the worker runs it."""
    return next(job for job in registered_jobs() if job.name == "requests.breach_scan").fn()


def zero(severity):
    return {
        "severity": severity,
        "count": 0,
        "responded_in_time": 0,
        "breached": 0,
        "open": 0,
        "median_first_response_minutes": None,
        "p90_first_response_minutes": None,
    }


def figures(count, in_time, breached, still_open, median, p90):
    return {
        "count": count,
        "responded_in_time": in_time,
        "breached": breached,
        "open": still_open,
        "median_first_response_minutes": median,
        "p90_first_response_minutes": p90,
    }


@pytest.fixture
def march(line, voicemail, api, frozen):
    events = [(at, "call", sid, caller, press_1) for sid, caller, at, press_1, _ in CALLS]
    events += [(answered, "answer", sid, None, None) for sid, _, _, _, answered in CALLS if answered]
    request_of: dict[str, int] = {}
    for at, what, sid, caller, press_1 in sorted(events, key=lambda e: e[0]):
        if what == "call":
            voicemail(at, sid, caller=caller, press_1=press_1)
            by_sid = {c["voicemail"]["call_sid"]: c["id"] for c in api("GET", "/api/callbacks")["callbacks"]}
            by_callback = {
                r["callback_id"]: r["id"]
                for r in api("GET", "/api/requests", query_string={"status": "all"})["requests"]
            }
            request_of[sid] = by_callback[by_sid[sid]]
        else:
            frozen(at)
            api("POST", f"/api/requests/{request_of[sid]}/respond")
    frozen(NOW)
    breach_scan()  # logs the unanswered ones as breached; the report must not count them twice
    return request_of


def test_march_2027_report_matches_the_hand_computation(march, line, api):
    report = api("GET", "/api/sla/report", query_string={"month": "2027-03"})
    assert (report["from"], report["to"], report["timezone"]) == ("2027-03-01", "2027-04-01", "Europe/Paris")
    # Severity 3: CA6, CA1, CA2, CA7, CA4. Minutes 500, 60, 3475, 2730 → median (500 + 2730) / 2,
    # p90 = the 4th of 4 by nearest rank.
    assert report["severities"] == [
        {"severity": 1, **figures(1, 1, 0, 0, 30.0, 30.0)},
        zero(2),
        {"severity": 3, **figures(5, 3, 2, 1, 1615.0, 3475.0)},
        zero(4),
        zero(5),
    ]
    assert report["customers"] == [
        # CA1, CA2, CA3: 60, 3475, 30 → median 60, p90 the 3rd of 3.
        {"customer": {"id": line["acme"]["id"], "name": "Acme SA"}, **figures(3, 3, 0, 0, 60.0, 3475.0)},
        # CA6, CA7: 500, 2730.
        {"customer": {"id": line["beta"]["id"], "name": "Beta SARL"}, **figures(2, 1, 1, 0, 1615.0, 2730.0)},
        {"customer": None, **figures(1, 0, 1, 1, None, None)},  # CA4, triage
    ]
    assert report["total"] == figures(6, 4, 2, 1, 500.0, 3475.0)


def test_the_same_period_by_dates_and_one_customer(march, line, api):
    by_month = api("GET", "/api/sla/report", query_string={"month": "2027-03"})
    by_dates = api("GET", "/api/sla/report", query_string={"from": "2027-03-01", "to": "2027-04-01"})
    assert by_dates == by_month
    beta = api("GET", "/api/sla/report", query_string={"month": "2027-03", "customer": line["beta"]["id"]})
    assert beta["total"] == figures(2, 1, 1, 0, 1615.0, 2730.0)
    april = api("GET", "/api/sla/report", query_string={"month": "2027-04"})
    assert april["total"]["count"] == 1  # CA5, 22:30 UTC on 31 March


def test_report_as_csv(march, client, admin):
    response = client.get("/api/sla/report", query_string={"month": "2027-03", "format": "csv"}, headers=admin)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="sla-2027-03-01-2027-04-01.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == [
        "group",
        "severity",
        "customer_id",
        "customer",
        "count",
        "responded_in_time",
        "breached",
        "open",
        "median_first_response_minutes",
        "p90_first_response_minutes",
    ]
    assert rows[3] == ["severity", "3", "", "", "5", "3", "2", "1", "1615.0", "3475.0"]
    assert rows[-2] == ["customer", "", "", "", "1", "0", "1", "1", "", ""]
    assert rows[-1] == ["total", "", "", "", "6", "4", "2", "1", "500.0", "3475.0"]


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"month": "2027-13"},
        {"month": "2027-3"},
        {"from": "2027-03-01"},
        {"from": "2027-04-01", "to": "2027-03-01"},
        {"from": "2026-01-01", "to": "2027-03-01"},
        {"month": "2027-03", "from": "2027-03-01", "to": "2027-04-01"},
        {"month": "2027-03", "format": "pdf"},
        {"from": "0001-01-01", "to": "0001-01-02"},  # year 0 in UTC: was a 500
        {"month": "0001-01"},
        {"month": "9999-12"},
    ],
)
def test_bad_periods_are_400(line, api, query):
    body = api("GET", "/api/sla/report", query_string=query, status=400)
    assert body["error"]["code"] in {"bad_period", "invalid_request"}


def test_report_chart_is_svg_drawn_on_the_server(march, client, admin):
    import xml.etree.ElementTree as ET

    response = client.get("/api/sla/report", query_string={"month": "2027-03", "format": "svg"}, headers=admin)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    root = ET.fromstring(response.get_data())
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert root.get("role") == "img"
    assert root.find("s:title", ns).text == "First responses, 2027-03-01 to 2027-04-01 (Europe/Paris)"
    assert "severity 3: 5 requests, 3 in time, 2 breached, 1 awaiting a first response" in root.find("s:desc", ns).text
    bars = {rect.find("s:title", ns).text for rect in root.iter("{http://www.w3.org/2000/svg}rect") if len(rect)}
    # Severity 3: 3 in time and 2 breached; severity 1: 1 in time.
    assert bars == {"In time: 3", "Breached: 2", "In time: 1"}
    assert "http" not in response.get_data(as_text=True).replace("http://www.w3.org/2000/svg", "")  # no CDN
    if os.environ.get("BOOKING_UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / "sla-report-2027-03.svg").write_bytes(response.get_data())
