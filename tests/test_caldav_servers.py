"""The sync and push against DAViCal and Cyrus IMAP's CalDAV (issue 10), started from Debian's packages.

Each test names the server behaviour it proves; the servers are real (``tests/fixtures/caldav_servers``)
and the tests skip with the reason when the packages are not installed. "Now" is a Monday in
November 2026; the events sit in the following weeks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from booking.calendar_sync.dav import resource_name
from booking.extensions import db
from booking.models import Agent, BusyBlock, OutboxMessage
from tests.calendar_helpers import connect, sync
from tests.conftest import MONDAY
from tests.fixtures.caldav_servers import SogoServer
from tests.fixtures.radicale import DavCalendar
from tests.test_calendar_push import book

pytestmark = pytest.mark.caldav_servers

NOW = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)  # Monday 08:00 Paris
SIZE = 200


def vevent(uid: str, day: int, hour: int, summary: str = "Meeting", extra: str = "") -> str:
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261001T000000Z\r\n"
        f"DTSTART:202611{day:02d}T{hour:02d}0000Z\r\nDTEND:202611{day:02d}T{hour:02d}3000Z\r\n"
        f"SUMMARY:{summary}\r\n{extra}END:VEVENT\r\n"
    )


def calendar(*events: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + "".join(events) + "END:VCALENDAR\r\n").encode()


@pytest.fixture(params=["davical", "cyrus", "sogo"])
def real_caldav(request: pytest.FixtureRequest) -> DavCalendar:
    """The same test on DAViCal, Cyrus and SOGo."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def test_full_then_incremental_sync_transfers_only_the_change(client, admin, make_agent, real_caldav, frozen, capsys):
    """Also the figures of the note: requests and bytes of a full, an incremental and a reconciling pass."""
    frozen(NOW)
    slug = make_agent()["slug"]
    for i in range(SIZE):
        real_caldav.put(f"ev-{i}", calendar(vevent(f"ev-{i}@agent.example", 3 + i % 10, 8 + i % 8)))
    connect(client, admin, slug, real_caldav)
    full = sync(client, admin, slug)
    assert (full["mode"], full["objects"], full["changed"], full["busy_blocks"]) == ("full", SIZE, SIZE, SIZE)

    real_caldav.put("ev-7", calendar(vevent("ev-7@agent.example", 12, 15)))
    frozen(NOW + timedelta(minutes=5))
    incremental = sync(client, admin, slug)
    assert (incremental["mode"], incremental["deleted"], incremental["reconciled"]) == ("incremental", 0, False)
    assert ("ev-7@agent.example", datetime(2026, 11, 12, 15, tzinfo=UTC)) in blocks_of(slug)
    if isinstance(real_caldav.server, SogoServer):
        # SOGo's token is a time in seconds and its report repeats every member changed in that
        # second (its ETags cannot tell us they did not change: item 9), so a busy second before
        # the token costs a re-read of those members.
        assert incremental["changed"] >= 1
    else:
        assert incremental["changed"] == 1
        assert incremental["bytes_received"] < full["bytes_received"] / 20

    real_caldav.put("ev-8", calendar(vevent("ev-8@agent.example", 12, 16)))
    frozen(NOW + timedelta(hours=1, minutes=5))
    reconciling = sync(client, admin, slug)  # an hour on: hrefs+ETags listing, only ev-8 downloaded
    assert (reconciling["reconciled"], reconciling["changed"], reconciling["deleted"]) == (True, 1, 0)
    assert reconciling["bytes_received"] < full["bytes_received"] / 2
    with capsys.disabled():
        print(
            f"\n[{type(real_caldav.server).__name__}, {SIZE} events] "
            + "; ".join(
                f"{name}: {body['requests']} requests, {body['bytes_received']} bytes, {body['changed']} changed"
                for name, body in (("full", full), ("incremental", incremental), ("reconciling", reconciling))
            )
        )


def blocks_of(slug: str) -> list[tuple[str | None, datetime]]:
    agent_id = db.session.scalar(select(Agent.id).where(Agent.slug == slug))
    rows = db.session.execute(
        select(BusyBlock.external_uid, BusyBlock.start_at).where(BusyBlock.agent_id == agent_id)
    ).all()
    return sorted((uid, start) for uid, start in rows)


# -- item 3: Cyrus answers invalid XML for a Latin-1 byte ------------------------------------- #


def test_cyrus_latin1_byte_in_an_event_does_not_fail_the_sync(client, admin, make_agent, cyrus, frozen):
    """Cyrus stores a Latin-1 byte verbatim and serves it inside its UTF-8 XML: the answer is not
    well-formed. One such event (written by an old client) made every pass fail with 502."""
    frozen(NOW)
    slug = make_agent()["slug"]
    cyrus.put(
        "latin1", calendar(vevent("latin1@agent.example", 4, 9, "Caf\xe9 with Ren\xe9")).replace(b"\xc3\xa9", b"\xe9")
    )
    cyrus.put("plain", calendar(vevent("plain@agent.example", 5, 9)))
    _, _, raw = cyrus.get("latin1")
    assert b"Caf\xe9" in raw  # the server kept the invalid byte
    connect(client, admin, slug, cyrus)
    body = sync(client, admin, slug)
    assert (body["objects"], body["malformed"]) == (2, 0)
    assert blocks_of(slug) == [
        ("latin1@agent.example", datetime(2026, 11, 4, 9, tzinfo=UTC)),
        ("plain@agent.example", datetime(2026, 11, 5, 9, tzinfo=UTC)),
    ]
    agent_id = db.session.scalar(select(Agent.id).where(Agent.slug == slug))
    summary = db.session.scalar(
        select(BusyBlock.summary).where(
            BusyBlock.agent_id == agent_id, BusyBlock.external_uid == "latin1@agent.example"
        )
    )
    assert summary == "Café with René"  # read as Latin-1, not dropped or mangled

    cyrus.put(
        "latin1",
        calendar(vevent("latin1@agent.example", 6, 10, "D\xe9j\xe0 vu"))
        .replace(b"\xc3\xa9", b"\xe9")
        .replace(b"\xc3\xa0", b"\xe0"),
    )
    frozen(NOW + timedelta(minutes=5))
    incremental = sync(client, admin, slug)
    assert (incremental["mode"], incremental["changed"]) == ("incremental", 1)
    assert ("latin1@agent.example", datetime(2026, 11, 6, 10, tzinfo=UTC)) in blocks_of(slug)


# -- item 10: DAViCal and SOGo accept an old sync token after the calendar is re-created ------- #


@pytest.fixture(params=["davical", "sogo"])
def accepts_old_tokens(request: pytest.FixtureRequest) -> DavCalendar:
    """The two servers that accept a re-created calendar's old sync token."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def test_recreated_calendar_old_token_does_not_keep_deleted_events(
    client, admin, make_agent, accepts_old_tokens, frozen
):
    """DAViCal and SOGo answer 207 to a token of the deleted collection: trusting it kept the deleted events'
    busy time for ever. The periodic hrefs+ETags listing (and any doubt) reconciles."""
    frozen(NOW)
    slug = make_agent()["slug"]
    accepts_old_tokens.put("a", calendar(vevent("a@agent.example", 4, 9)))
    accepts_old_tokens.put("b", calendar(vevent("b@agent.example", 5, 9)))
    connect(client, admin, slug, accepts_old_tokens)
    assert sync(client, admin, slug)["objects"] == 2

    name = accepts_old_tokens.collection_url.rstrip("/").rsplit("/", 1)[1]
    accepts_old_tokens.server.delete_collection(accepts_old_tokens.collection_url)
    assert accepts_old_tokens.server.make_calendar(name) == accepts_old_tokens.collection_url
    accepts_old_tokens.put("c", calendar(vevent("c@agent.example", 6, 9)))

    frozen(NOW + timedelta(minutes=5))
    sync(client, admin, slug)
    frozen(NOW + timedelta(hours=2))
    body = sync(client, admin, slug)
    assert body["objects"] == 1
    assert blocks_of(slug) == [("c@agent.example", datetime(2026, 11, 6, 9, tzinfo=UTC))]


# -- item 1: duplicate DTSTART (seen on DAViCal) -------------------------------------------------- #


def test_davical_event_with_two_dtstart_does_not_stop_the_sync(client, admin, make_agent, davical, frozen):
    """DAViCal stores an event with two DTSTART lines; parsing it raised AttributeError past the
    per-object handler, so every pass answered 500 and later changes were never applied."""
    frozen(NOW)
    slug = make_agent()["slug"]
    twice = vevent("twice@agent.example", 4, 9, extra="DTSTART:20261104T100000Z\r\n")
    davical.put("twice", calendar(twice))
    davical.put("fine", calendar(vevent("fine@agent.example", 5, 9)))
    connect(client, admin, slug, davical)
    body = sync(client, admin, slug)
    assert body["objects"] == 2
    assert ("fine@agent.example", datetime(2026, 11, 5, 9, tzinfo=UTC)) in blocks_of(slug)
    davical.put("later", calendar(vevent("later@agent.example", 6, 9)))
    frozen(NOW + timedelta(minutes=5))
    sync(client, admin, slug)
    assert ("later@agent.example", datetime(2026, 11, 6, 9, tzinfo=UTC)) in blocks_of(slug)


# -- item 11: Cyrus refuses a UID another calendar of the account holds -------------------------- #


def test_cyrus_switching_calendars_moves_the_bookings_along(client, admin, make_agent, make_customer, cyrus, frozen):
    """Cyrus keeps a scheduling UID unique per account: after the agent switches to another calendar
    of the same account, the PUT of an already pushed booking is refused with 403
    ``unique-scheduling-object-resource`` - the push called it "access denied" and retried for ever."""
    frozen(MONDAY)
    agent = make_agent()
    connect(client, admin, agent["slug"], cyrus)
    customer = make_customer(agent["slug"])
    booked = book(client, customer)
    assert cyrus.get(resource_name(booked["uid"]))[0] == 200

    other = DavCalendar(cyrus.server, cyrus.server.make_calendar())
    try:
        connect(client, admin, agent["slug"], other)
        assert db.session.scalar(select(func.count()).where(OutboxMessage.status != "done")) == 0
        status, _, body = other.get(resource_name(booked["uid"]))
        assert status == 200 and booked["uid"].encode() in body
        assert cyrus.get(resource_name(booked["uid"]))[0] == 404  # moved, not copied
        response = client.post(
            f"/api/bookings/{booked['id']}/reschedule",
            json={"token": booked["manage_token"], "start": "2026-11-30T15:00:00+01:00"},
        )
        assert response.status_code == 200
        status, _, body = other.get(resource_name(booked["uid"]))
        assert status == 200 and b"DTSTART:20261130T140000Z" in body
        assert db.session.scalar(select(func.count()).where(OutboxMessage.status != "done")) == 0
    finally:
        other.close()
        cyrus.server.delete_collection(other.collection_url)


def test_cyrus_task_list_refusing_events_fails_the_push_once_with_the_reason(
    client, admin, make_agent, make_customer, cyrus_server, frozen
):
    """An agent who picks a VTODO-only task list: Cyrus refuses every VEVENT (403
    ``supported-calendar-component``). It was "access denied", retried 12 times; it cannot work."""
    frozen(MONDAY)
    agent = make_agent()
    tasks = DavCalendar(cyrus_server, cyrus_server.make_calendar(component="VTODO"))
    try:
        connect(client, admin, agent["slug"], tasks)
        book(client, make_customer(agent["slug"]))
        row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.handler == "caldav.push"))
        assert row is not None
        assert (row.status, row.attempts) == ("failed", 1)
        assert "supported-calendar-component" in (row.last_error or "")
    finally:
        tasks.close()
        cyrus_server.delete_collection(tasks.collection_url)
