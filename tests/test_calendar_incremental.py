"""Incremental sync proven by counting: one change in a 2,000-event calendar → one small request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from booking.calendar_sync.dav import CalDAVClient
from booking.calendar_sync.sync import sync_agent
from booking.extensions import db
from booking.models import Agent, BusyBlock
from tests.calendar_helpers import connect, sync
from tests.fixtures.radicale import RadicaleCalendar

NOW = datetime(2026, 10, 30, 7, 0, tzinfo=UTC)
SIZE = 2000


def event(i: int, hour: int | None = None) -> str:
    day, hour = 1 + i % 28, hour if hour is not None else 7 + i % 9
    return (
        f"BEGIN:VEVENT\r\nUID:ev-{i}@agent.example\r\nDTSTAMP:20261001T000000Z\r\n"
        f"DTSTART:202611{day:02d}T{hour:02d}0000Z\r\nDTEND:202611{day:02d}T{hour:02d}2000Z\r\n"
        f"SUMMARY:Meeting {i}\r\nEND:VEVENT\r\n"
    )


def calendar(*events: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + "".join(events) + "END:VCALENDAR\r\n").encode()


def seed(cal: RadicaleCalendar) -> None:
    """One PUT of the whole calendar: Radicale splits it into one object per UID (~1.5 s on tmpfs)."""
    with cal.server.session() as s:
        response = s.put(
            cal.collection_url,
            data=calendar(*(event(i) for i in range(SIZE))),
            headers={"Content-Type": "text/calendar; charset=utf-8"},
            timeout=120,
        )
    assert response.status_code in (201, 204), response.text[:300]


def test_one_change_in_2000_events_transfers_only_that_change(app, client, admin, make_agent, radicale, frozen):
    frozen(NOW)
    slug = make_agent()["slug"]
    seed(radicale)
    connect(client, admin, slug, radicale)
    first = sync(client, admin, slug)
    assert (first["mode"], first["objects"], first["changed"], first["busy_blocks"]) == ("full", SIZE, SIZE, SIZE)
    assert first["requests"] == 1  # one sync-collection REPORT carrying every object
    full_bytes = first["bytes_received"]
    assert full_bytes > 400_000

    radicale.put("ev-7@agent.example", calendar(event(7, hour=16)))  # the agent moves one meeting
    frozen(NOW + timedelta(minutes=5))
    agent = db.session.scalar(select(Agent).where(Agent.slug == slug))
    with CalDAVClient(radicale.collection_url, radicale.username, radicale.password) as caldav:
        counts = sync_agent(db.session, app.extensions["booking.settings"], agent, NOW + timedelta(minutes=5), caldav)
        assert caldav.stats.requests == 1
        assert caldav.stats.by_method == {"REPORT": 1}
        assert caldav.stats.bytes_received < 2_000  # that one object and the new token
        assert caldav.stats.bytes_received < full_bytes / 200
    assert (counts.mode, counts.changed, counts.deleted, counts.objects) == ("incremental", 1, 0, SIZE)
    agent_id = agent.id
    moved = db.session.scalars(
        select(BusyBlock.start_at).where(BusyBlock.agent_id == agent_id, BusyBlock.external_uid == "ev-7@agent.example")
    ).all()
    assert moved == [datetime(2026, 11, 8, 16, 0, tzinfo=UTC)]
    assert db.session.scalar(select(func.count()).select_from(BusyBlock)) == SIZE

    frozen(NOW + timedelta(minutes=10))
    idle = sync(client, admin, slug)  # nothing changed: one request, nothing re-parsed
    assert (idle["requests"], idle["changed"], idle["deleted"]) == (1, 0, 0)
