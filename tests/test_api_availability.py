"""GET /api/agents/<slug>/availability through HTTP: shape, DST, holidays, busy time, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from booking.extensions import db
from booking.models import Agent, BusyBlock, TimeOff

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def _slots(client, slug, **params):
    response = client.get(f"/api/agents/{slug}/availability", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_shape_and_first_day(client, make_agent, frozen):
    agent = make_agent()
    body = _slots(client, agent["slug"], start="2026-11-30", end="2026-12-01")
    assert body["agent"] == agent["slug"]
    assert body["timezone"] == "Europe/Paris"
    assert body["duration"] == 30
    starts = [s["start"] for s in body["slots"]]
    # now = 08:00 Paris, min notice 60 min: the day opens at 09:00 and the last 30-min slot is 16:30.
    assert starts[0] == "2026-11-30T09:00:00+01:00"
    assert starts[-1] == "2026-11-30T16:30:00+01:00"
    assert len(starts) == 16
    assert body["slots"][0]["end"] == "2026-11-30T09:30:00+01:00"
    assert starts == sorted(starts)


def test_min_notice_and_duration(client, make_agent, frozen):
    agent = make_agent()
    frozen(datetime(2026, 11, 30, 10, 10, tzinfo=PARIS))
    body = _slots(client, agent["slug"], start="2026-11-30", end="2026-12-01", duration=60)
    starts = [s["start"] for s in body["slots"]]
    assert starts[0] == "2026-11-30T11:30:00+01:00"  # first grid point at least 60 min after 10:10
    assert starts[-1] == "2026-11-30T16:00:00+01:00"  # a 60-min call ends by 17:00
    assert body["duration"] == 60


def test_dst_week_seen_from_new_york_and_holiday(client, make_agent, frozen):
    """Paris already on winter time, New York not yet: the first slot is 04:00 there, then 03:00."""
    frozen(datetime(2026, 10, 20, 12, 0, tzinfo=UTC))
    agent = make_agent()
    body = _slots(client, agent["slug"], start="2026-10-26", end="2026-11-14", tz="America/New_York")
    assert body["timezone"] == "America/New_York"
    first_by_day: dict[str, str] = {}
    for slot in body["slots"]:
        day = slot["start"][:10]
        first_by_day.setdefault(day, slot["start"][11:])
    week1 = ["2026-10-26", "2026-10-27", "2026-10-28", "2026-10-29", "2026-10-30"]
    week2 = ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06"]
    assert [first_by_day[d] for d in week1] == ["04:00:00-04:00"] * 5
    assert [first_by_day[d] for d in week2] == ["03:00:00-05:00"] * 5
    assert "2026-11-11" not in first_by_day  # Armistice, a French public holiday
    assert "2026-11-10" in first_by_day and "2026-11-12" in first_by_day
    assert not any(d in first_by_day for d in ("2026-10-31", "2026-11-01", "2026-11-07", "2026-11-08"))


def test_busy_blocks_bookings_and_time_off_are_not_offered(app, client, make_agent, frozen):
    agent_json = make_agent()
    agent = db.session.query(Agent).filter_by(slug=agent_json["slug"]).one()
    day = datetime(2026, 12, 1, tzinfo=PARIS)
    db.session.add_all(
        [
            BusyBlock(agent_id=agent.id, start_at=day.replace(hour=10), end_at=day.replace(hour=11, minute=15)),
            TimeOff(agent_id=agent.id, start_at=day.replace(hour=14), end_at=day.replace(hour=15)),
        ]
    )
    db.session.commit()
    body = _slots(client, agent.slug, start="2026-12-01", end="2026-12-02")
    times = [s["start"][11:16] for s in body["slots"]]
    assert "09:30" in times and "11:30" in times and "15:00" in times
    for taken in ("10:00", "10:30", "11:00", "14:00", "14:30"):
        assert taken not in times


def test_working_hours_in_agent_zone(client, make_agent, frozen):
    agent = make_agent(timezone="Europe/London", working_hours={"tue": ["09:00-12:00"]})
    body = _slots(client, agent["slug"], start="2026-11-30", end="2026-12-05")
    days = {s["start"][:10] for s in body["slots"]}
    assert days == {"2026-12-01"}
    times = [s["start"][11:16] for s in body["slots"]]
    assert times[0] == "10:00" and times[-1] == "12:30"  # 09:00-12:00 London = 10:00-13:00 Paris


def test_horizon(client, make_agent, frozen):
    agent = make_agent()
    body = _slots(client, agent["slug"], start="2027-01-27", end="2027-02-03")
    last = datetime.fromisoformat(body["slots"][-1]["start"])
    assert last <= datetime(2026, 11, 30, 7, 0, tzinfo=UTC) + timedelta(days=60)


def test_errors_are_json(client, make_agent, frozen):
    agent = make_agent()
    url = f"/api/agents/{agent['slug']}/availability"
    cases = [
        ({"start": "2026-13-01", "end": "2026-12-02"}, "invalid_request"),
        ({"start": "2026-12-01"}, "invalid_request"),
        ({"start": "2026-12-01", "end": "2026-12-02", "tz": "Mars/Olympus"}, "bad_timezone"),
        ({"start": "2026-12-01", "end": "2026-12-02", "tz": "../../etc/passwd"}, "bad_timezone"),
        ({"start": "2026-12-01", "end": "2026-12-02", "tz": "localtime"}, "bad_timezone"),
        ({"start": "2026-12-01", "end": "2026-12-02", "tz": "posixrules"}, "bad_timezone"),
        ({"start": "2026-12-01", "end": "2026-12-02", "tz": "right/UTC"}, "bad_timezone"),
        ({"start": "0001-01-01", "end": "0001-01-02"}, "bad_window"),
        ({"start": "9999-12-30", "end": "9999-12-31"}, "bad_window"),
        ({"start": "2026-12-02", "end": "2026-12-02"}, "bad_window"),
        ({"start": "2026-12-01", "end": "2027-03-01"}, "bad_window"),
        ({"start": "2026-12-01", "end": "2026-12-02", "duration": 0}, "invalid_request"),
        ({"start": "2026-12-01", "end": "2026-12-02", "duration": 7}, "bad_duration"),
        ({"start": "2026-12-01", "end": "2026-12-02", "duration": "abc"}, "invalid_request"),
    ]
    for params, code in cases:
        response = client.get(url, query_string=params)
        assert response.status_code == 400, (params, response.data)
        assert response.is_json
        assert response.get_json()["error"]["code"] == code, params
    response = client.get("/api/agents/nobody/availability?start=2026-12-01&end=2026-12-02")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_agent"
