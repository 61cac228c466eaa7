"""The agent's private feed, feed-key rotation, ``booking sync`` and the scheduler job."""

from __future__ import annotations

from datetime import timedelta

import icalendar
from sqlalchemy import select

from booking import jobs
from booking.extensions import db
from booking.models import CalendarConnection
from tests.calendar_helpers import connect
from tests.conftest import MONDAY
from tests.test_calendar_push import book


def feed_url(client, admin, slug):
    url = client.get(f"/api/agents/{slug}", headers=admin).get_json()["feed_url"]
    return url.removeprefix("http://booking.test")


def test_feed_lists_confirmed_bookings_and_a_rotated_key_revokes_it(client, admin, make_agent, make_customer, frozen):
    slug = make_agent()["slug"]
    customer = make_customer(slug)
    kept = book(client, customer, "2026-11-30T10:00:00+01:00")
    gone = book(client, customer, "2026-11-30T11:00:00+01:00")
    client.post(f"/api/bookings/{gone['id']}/cancel", json={"token": gone["manage_token"]})
    other = make_agent()["slug"]
    book(client, make_customer(other), "2026-11-30T12:00:00+01:00")

    url = feed_url(client, admin, slug)
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "no-store" in response.headers["Cache-Control"]
    cal = icalendar.Calendar.from_ical(response.data)
    assert str(cal["METHOD"]) == "PUBLISH"
    events = cal.walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [kept["uid"]]  # not the cancelled one, not another agent's
    assert events[0]["DTSTART"].dt == MONDAY + timedelta(hours=2)

    assert client.get(url.replace("key=", "key=x")).status_code == 404
    assert client.get(f"/agents/{slug}/calendar.ics").status_code == 404
    assert client.get(url.replace(slug, other)).status_code == 404  # a key only opens its own agent's feed

    rotated = client.post(f"/api/agents/{slug}/feed-key", headers=admin)
    assert rotated.status_code == 200
    assert client.get(url).status_code == 404
    new_url = rotated.get_json()["feed_url"].removeprefix("http://booking.test")
    assert new_url != url and client.get(new_url).status_code == 200
    assert client.post(f"/api/agents/{slug}/feed-key").status_code == 401


def test_cli_sync_with_progress_and_failure_exit_code(app, client, admin, make_agent, radicale, frozen):
    runner = app.test_cli_runner()
    assert "no agent has a CalDAV calendar" in runner.invoke(args=["sync"]).output
    good, bad = make_agent()["slug"], make_agent()["slug"]
    for slug in (good, bad):
        connect(client, admin, slug, radicale)
    radicale.put(
        "x",
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:x@t\r\n"
        b"DTSTAMP:20261001T000000Z\r\nDTSTART:20261201T090000Z\r\nDTEND:20261201T100000Z\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    result = runner.invoke(args=["sync", "--agent", good])
    assert result.exit_code == 0, result.output
    assert f"{good}: ok (full) 1 changed" in result.output
    assert "syncing calendars" in result.output  # the progress bar

    conn = db.session.scalar(
        select(CalendarConnection).join(CalendarConnection.agent).where(CalendarConnection.agent.has(slug=bad))
    )
    conn.url = radicale.collection_url + "gone/"
    db.session.commit()
    result = runner.invoke(args=["sync"])
    assert result.exit_code == 1
    assert f"{good}: ok (incremental) 0 changed" in result.output
    assert f"{bad}: calendar_rejected: calendar sync failed: not found" in result.output
    assert runner.invoke(args=["sync", "--agent", "nobody"]).exit_code == 1


def test_scheduler_job_syncs_every_agent_every_sync_minutes(app, client, admin, make_agent, radicale, frozen):
    (item,) = [j for j in jobs.registered_jobs() if j.name == "calendar_sync"]
    assert item.seconds(app.extensions["booking.settings"]) == 5 * 60
    slug = make_agent()["slug"]
    connect(client, admin, slug, radicale)
    item.fn()
    shown = client.get(f"/api/agents/{slug}", headers=admin).get_json()["calendar"]
    assert shown["last_sync_status"] == "ok"
    assert shown["last_sync_counts"]["mode"] == "full"


def test_calendar_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert "put" in paths["/api/agents/{slug}/calendar"]
    assert "post" in paths["/api/agents/{slug}/sync"]
    assert "post" in paths["/api/agents/{slug}/feed-key"]
    sync_op = paths["/api/agents/{slug}/sync"]["post"]
    assert {"200", "409", "502"} <= set(sync_op["responses"])
    assert sync_op["security"] == [{"bearer": []}]
