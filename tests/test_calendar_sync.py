"""Pull: a real Radicale calendar → POST /api/agents/<slug>/sync → exactly the right slots disappear.

"Now" is Monday 12 Oct 2026, two weeks before Paris leaves summer time (25 Oct), so the sync window
covers the weekly series' EXDATE (14 Oct), its moved occurrence and occurrences on both sides of the change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from booking.calendar_sync import sync as sync_service
from booking.calendar_sync.dav import CalDAVClient
from booking.extensions import db
from booking.models import Agent, BusyBlock, CalendarConnection, RemoteEvent
from tests.calendar_helpers import connect, paris, retimed, slots, sync, whole_day
from tests.calendar_sync._support import ics
from tests.fixtures.radicale import RadicaleCalendar
from tests.fixtures.xandikos import XandikosCalendar

NOW = datetime(2026, 10, 12, 8, 0, tzinfo=UTC)
WEEK = (date(2026, 10, 26), date(2026, 10, 31))


def seed(cal: RadicaleCalendar | XandikosCalendar) -> None:
    """Real fixtures; the one-off events moved onto days the all-day absence does not already cover."""
    cal.put("weekly", ics("weekly_exdate_moved_dst_paris.ics"))  # Wed 10:00 Paris, EXDATE, moved, cancelled
    cal.put("absence", ics("allday_absence_dst_autumn.ics"))  # Sat 24 - Mon 26 Oct, all day
    cal.put("new-york", ics("new_york_event.ics"))  # Wed 28 Oct 09:00 New York (EDT) = 14:00 Paris
    cal.put("utc", retimed("utc_event.ics", "20261029", "080000", "084500"))  # Thu 09:00-09:45 Paris
    cal.put("floating", retimed("floating_event.ics", "20261029", "110000", "120000"))  # Thu 11:00 agent zone
    cal.put("tokyo", retimed("tokyo_event.ics", "20261030", "180000", "190000"))  # Fri 18:00 JST = 10:00 Paris
    cal.put("transparent", retimed("transparent_event.ics", "20261030", "130000", "140000"))  # free
    cal.put("cancelled", retimed("cancelled_event.ics", "20261030", "140000", "150000"))  # free
    cal.put("own", retimed("own_booking_event.ics", "20261029", "140000", "143000"))  # X-BOOKING-ID
    cal.put("broken", ics("malformed_dtend_before_dtstart.ics"))


EXPECTED_GONE = (
    whole_day("2026-10-26")
    | paris("2026-10-27", "14:00", "14:30")  # the moved occurrence, 14:00 CET
    | paris("2026-10-28", "10:00", "10:30")  # weekly, 10:00 CET = 09:00 UTC after the change
    | paris("2026-10-28", "14:00", "14:30")  # New York (still on EDT) 09:00 = 14:00 Paris
    | paris("2026-10-29", "09:00", "09:30")  # UTC 08:00-08:45
    | paris("2026-10-29", "11:00", "11:30")  # floating 11:00 in the agent's zone
    | paris("2026-10-30", "10:00", "10:30")  # Tokyo
)


def test_synced_calendar_removes_exactly_the_busy_slots(client, admin, make_agent, any_caldav, frozen):
    frozen(NOW)
    agent = make_agent()
    slug = agent["slug"]
    before = slots(client, slug, *WEEK)
    seed(any_caldav)
    body = connect(client, admin, slug, any_caldav)
    assert body["calendar"]["url"] == any_caldav.collection_url
    assert "password" not in str(body)
    counts = sync(client, admin, slug)
    assert counts["mode"] == "full"
    assert counts["objects"] == 10
    assert counts["malformed"] == 1 and counts["malformed_hrefs"] == [any_caldav.path("broken")]
    assert counts["own"] == 1
    after = slots(client, slug, *WEEK)
    assert before - after == EXPECTED_GONE
    assert after <= before

    # Across the change: the weekly meeting is 10:00 Paris on both sides (08:00 UTC, then 09:00 UTC).
    nov = slots(client, slug, date(2026, 11, 16), date(2026, 11, 21))
    assert not paris("2026-11-18", "10:00", "10:30") & nov
    assert paris("2026-11-18", "09:30", "11:00") <= nov
    # The cancelled occurrence (4 Nov) and the EXDATE'd / moved-away ones leave their slot free.
    assert paris("2026-11-04", "10:00", "10:30") <= slots(client, slug, date(2026, 11, 2), date(2026, 11, 7))
    october = slots(client, slug, date(2026, 10, 12), date(2026, 10, 24))
    assert paris("2026-10-14", "10:00", "10:30") <= october  # EXDATE
    assert paris("2026-10-21", "10:00", "10:30") <= october  # moved to the 27th
    assert len(october) == 12 + 9 * 16  # nothing busy: today from 11:00 (notice), then 9 full days

    shown = client.get(f"/api/agents/{slug}", headers=admin).get_json()["calendar"]
    assert shown["last_sync_status"] == "ok"
    assert shown["last_sync_at"].startswith("2026-10-12T08:00")
    assert shown["last_sync_counts"]["objects"] == 10


def test_edits_moves_and_deletions_on_the_server_are_picked_up(client, admin, make_agent, any_caldav, frozen):
    frozen(NOW)
    slug = make_agent()["slug"]
    before = slots(client, slug, *WEEK)
    seed(any_caldav)
    connect(client, admin, slug, any_caldav)
    sync(client, admin, slug)

    any_caldav.put("utc", retimed("utc_event.ics", "20261029", "120000", "124500"))  # moved to 13:00 Paris
    any_caldav.delete("tokyo")
    opaque = retimed("transparent_event.ics", "20261030", "130000", "140000").replace(
        b"TRANSP:TRANSPARENT", b"TRANSP:OPAQUE"
    )
    any_caldav.put("transparent", opaque)  # now busy, 14:00 Paris
    any_caldav.put("weekly", ics("weekly_exdate_moved_dst_paris.ics").replace(b"BYDAY=WE", b"BYDAY=TH"))
    frozen(NOW + timedelta(minutes=5))
    counts = sync(client, admin, slug)
    assert counts["mode"] == "incremental"
    assert (counts["changed"], counts["deleted"], counts["objects"]) == (3, 1, 9)

    expected = (
        (EXPECTED_GONE - paris("2026-10-29", "09:00", "09:30") - paris("2026-10-30", "10:00", "10:30"))
        - paris("2026-10-28", "10:00", "10:30")  # the series moved from Wednesday ...
        | paris("2026-10-29", "10:00", "10:30")  # ... to Thursday (still 10:00 Paris)
        | paris("2026-10-29", "13:00", "13:30")
        | paris("2026-10-30", "14:00", "14:30")
    )
    assert before - slots(client, slug, *WEEK) == expected


def test_sync_after_the_horizon_moves_re_expands_recurring_events(app, client, admin, make_agent, any_caldav, frozen):
    """A weekly series parsed once must still block weeks that only later enter the horizon."""
    frozen(NOW)
    slug = make_agent()["slug"]
    any_caldav.put(
        "standup",
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:standup@t\r\n"
        b"DTSTAMP:20261001T000000Z\r\nDTSTART;TZID=Europe/Paris:20261020T090000\r\n"
        b"DTEND;TZID=Europe/Paris:20261020T093000\r\nRRULE:FREQ=WEEKLY;BYDAY=TU\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    connect(client, admin, slug, any_caldav)
    assert sync(client, admin, slug)["mode"] == "full"
    later = NOW + sync_service.EXPANSION_MARGIN + timedelta(days=1)
    frozen(later)
    counts = sync(client, admin, slug)
    assert counts["mode"] == "full"  # the horizon passed the expanded range: re-expanded
    agent_id = db.session.scalar(select(Agent.id).where(Agent.slug == slug))
    last = db.session.scalar(select(func.max(BusyBlock.start_at)).where(BusyBlock.agent_id == agent_id))
    assert last >= later + app.extensions["booking.settings"].horizon - timedelta(days=7)
    frozen(later + timedelta(minutes=5))
    assert sync(client, admin, slug)["mode"] == "incremental"


def test_unreachable_server_is_a_502_recorded_on_the_connection_and_blocks_stay(
    client, admin, make_agent, any_caldav, frozen
):
    frozen(NOW)
    slug = make_agent()["slug"]
    seed(any_caldav)
    connect(client, admin, slug, any_caldav)
    sync(client, admin, slug)
    busy = slots(client, slug, *WEEK)
    any_caldav.stop()
    frozen(NOW + timedelta(minutes=5))
    response = client.post(f"/api/agents/{slug}/sync", headers=admin)
    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "calendar_unreachable"
    shown = client.get(f"/api/agents/{slug}", headers=admin).get_json()["calendar"]
    assert shown["last_sync_status"] == "error"
    assert "ConnectionError" in shown["last_sync_error"]
    assert shown["last_sync_at"].startswith("2026-10-12T08:05")
    assert slots(client, slug, *WEEK) == busy  # the last good busy time still applies
    any_caldav.start()
    frozen(NOW + timedelta(minutes=10))
    assert sync(client, admin, slug)["mode"] == "incremental"


def test_sync_without_a_calendar_is_409(client, admin, make_agent):
    slug = make_agent()["slug"]
    response = client.post(f"/api/agents/{slug}/sync", headers=admin)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "no_calendar"
    assert client.post("/api/agents/nobody/sync", headers=admin).status_code == 404
    assert client.post(f"/api/agents/{slug}/sync").status_code == 401


@pytest.mark.parametrize("case", ["unreachable", "bad-password", "not-a-calendar", "not-found"])
def test_put_calendar_checks_the_server_first(client, admin, make_agent, radicale, case):
    slug = make_agent()["slug"]
    body = {"url": radicale.collection_url, "username": radicale.username, "password": radicale.password}
    expected = {
        "unreachable": "unreachable",
        "bad-password": "401",
        "not-a-calendar": "not a calendar collection",
        "not-found": "not found",
    }[case]
    if case == "unreachable":
        body["url"] = "http://127.0.0.1:9/cal/"
    elif case == "bad-password":
        body["password"] = "wrong"
    elif case == "not-a-calendar":
        body["url"] = radicale.server.principal_url
    else:
        body["url"] = radicale.collection_url + "missing/"
    response = client.put(f"/api/agents/{slug}/calendar", json=body, headers=admin)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "calendar_check_failed"
    assert expected in error["message"]
    assert body["password"] not in str(response.get_json())
    assert db.session.scalar(select(func.count()).select_from(CalendarConnection)) == 0


def test_password_is_encrypted_at_rest_and_a_new_url_resets_the_state(client, admin, make_agent, radicale, frozen):
    frozen(NOW)
    slug = make_agent()["slug"]
    seed(radicale)
    connect(client, admin, slug, radicale)
    stored = db.session.scalar(select(CalendarConnection.password_encrypted))
    assert radicale.password not in stored
    sync(client, admin, slug)
    assert db.session.scalar(select(func.count()).select_from(RemoteEvent)) == 10
    other = radicale.server.make_calendar()
    client.put(
        f"/api/agents/{slug}/calendar",
        json={"url": other, "username": radicale.username, "password": radicale.password},
        headers=admin,
    )
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(RemoteEvent)) == 0
    assert db.session.scalar(select(func.count()).select_from(BusyBlock)) == 0
    assert sync(client, admin, slug)["objects"] == 0
    radicale.server.delete_collection(other)


def test_password_that_cannot_be_decrypted_is_reported_as_rejected(client, admin, make_agent, radicale, frozen):
    frozen(NOW)
    slug = make_agent()["slug"]
    connect(client, admin, slug, radicale)
    conn = db.session.scalar(select(CalendarConnection))
    conn.password_encrypted = "gAAAAAB-encrypted-under-another-secret-key"
    db.session.commit()
    response = client.post(f"/api/agents/{slug}/sync", headers=admin)
    assert response.status_code == 502
    error = response.get_json()["error"]
    assert error["code"] == "calendar_rejected"
    assert "cannot be decrypted" in error["message"]


def test_expired_token_and_servers_without_sync_collection_fall_back_to_etags(
    app, client, admin, make_agent, radicale, frozen
):
    """Only what changed is downloaded, even when the token is refused or RFC 6578 is unsupported."""
    frozen(NOW)
    slug = make_agent()["slug"]
    seed(radicale)
    connect(client, admin, slug, radicale)
    sync(client, admin, slug)
    settings = app.extensions["booking.settings"]
    agent = db.session.scalar(select(Agent).where(Agent.slug == slug))

    radicale.put("utc", retimed("utc_event.ics", "20261029", "120000", "124500"))
    conn = db.session.scalar(select(CalendarConnection))
    conn.sync_token = "http://radicale.org/ns/sync/0000-expired"
    db.session.commit()
    counts = sync_service.sync_agent(db.session, settings, agent, NOW + timedelta(minutes=5))
    assert (counts.mode, counts.changed, counts.deleted, counts.objects) == ("incremental", 1, 0, 10)
    assert db.session.scalar(select(CalendarConnection.sync_token)) != "http://radicale.org/ns/sync/0000-expired"

    radicale.put("utc", retimed("utc_event.ics", "20261029", "130000", "134500"))
    radicale.delete("tokyo")
    with CalDAVClient(radicale.collection_url, radicale.username, radicale.password, sync_mode="etag") as etag_only:
        counts = sync_service.sync_agent(db.session, settings, agent, NOW + timedelta(minutes=10), etag_only)
        assert etag_only.stats.by_method == {"PROPFIND": 1, "REPORT": 1}  # ETag listing + one multiget
    assert (counts.changed, counts.deleted, counts.objects) == (1, 1, 9)
    assert paris("2026-10-29", "14:00", "14:30").isdisjoint(slots(client, slug, *WEEK))


def test_disconnecting_drops_credentials_and_synced_busy_time(client, admin, make_agent, radicale, frozen):
    frozen(NOW)
    slug = make_agent()["slug"]
    before = slots(client, slug, *WEEK)
    seed(radicale)
    connect(client, admin, slug, radicale)
    sync(client, admin, slug)
    assert slots(client, slug, *WEEK) != before
    response = client.delete(f"/api/agents/{slug}/calendar", headers=admin)
    assert response.status_code == 200 and response.get_json()["calendar"] is None
    agent_id = db.session.scalar(select(Agent.id).where(Agent.slug == slug))
    assert db.session.scalar(select(func.count()).select_from(BusyBlock).where(BusyBlock.agent_id == agent_id)) == 0
    assert db.session.scalar(select(func.count()).select_from(RemoteEvent).where(RemoteEvent.agent_id == agent_id)) == 0
    assert db.session.scalar(select(func.count()).select_from(CalendarConnection)) == 0
    assert slots(client, slug, *WEEK) == before
    assert client.delete(f"/api/agents/{slug}/calendar", headers=admin).status_code == 200  # idempotent
    assert client.post(f"/api/agents/{slug}/sync", headers=admin).status_code == 409  # no calendar now
    assert client.delete("/api/agents/nobody/calendar", headers=admin).status_code == 404
    assert client.delete(f"/api/agents/{slug}/calendar").status_code == 401
