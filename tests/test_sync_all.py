"""sync_all: one agent's slow server or crash costs that agent only (issue 10 item 2, process part).

The scheduler syncs agents one after the other; before, a stalled server held the pass for the
transport's full timeouts and a crash was logged but left the agent's status saying "ok".
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import select

from booking.calendar_sync.sync import CalendarSyncFailed, SyncCounts, sync_all
from booking.extensions import db
from booking.models import Agent, CalendarConnection
from tests.calendar_helpers import connect
from tests.fixtures.radicale import DavCalendar, RadicaleServer
from tests.test_caldav_servers import calendar, vevent

NOW = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)


def connection(slug: str) -> CalendarConnection:
    db.session.expire_all()
    conn = db.session.scalar(
        select(CalendarConnection).join(Agent, Agent.id == CalendarConnection.agent_id).where(Agent.slug == slug)
    )
    assert conn is not None
    return conn


def two_agents(client, admin, make_agent, radicale: DavCalendar, radicale_server: RadicaleServer) -> None:
    """``a-trouble`` and ``b-fine``, each on its own Radicale calendar (sync_all goes by slug)."""
    make_agent(slug="a-trouble")
    make_agent(slug="b-fine")
    connect(client, admin, "a-trouble", radicale)
    fine = DavCalendar(radicale_server, radicale_server.make_calendar())
    fine.put("meeting", calendar(vevent("meeting@agent.example", 4, 9)))
    connect(client, admin, "b-fine", fine)
    fine.close()


def test_a_stalled_server_costs_its_agent_only_the_pass_deadline(
    app, client, admin, make_agent, radicale, radicale_server, stalled, frozen
):
    frozen(NOW)
    two_agents(client, admin, make_agent, radicale, radicale_server)
    connection("a-trouble").url = stalled.url  # the agent's server hangs from now on
    db.session.commit()

    started = time.monotonic()
    results = {a.slug: r for a, r in sync_all(db.session, app.extensions["booking.settings"], NOW, pass_seconds=1.5)}
    elapsed = time.monotonic() - started

    assert elapsed < 8  # the transport alone waits 10 s for a read
    trouble, fine = results["a-trouble"], results["b-fine"]
    assert isinstance(trouble, CalendarSyncFailed) and trouble.code == "calendar_unreachable"
    assert isinstance(fine, SyncCounts) and fine.busy_blocks == 1
    assert connection("a-trouble").last_sync_status == "error"
    assert connection("b-fine").last_sync_status == "ok"


def test_a_crash_is_recorded_on_that_agent_and_the_others_sync(
    app, client, admin, make_agent, radicale, radicale_server, frozen
):
    frozen(NOW)
    two_agents(client, admin, make_agent, radicale, radicale_server)
    agent = db.session.scalar(select(Agent).where(Agent.slug == "a-trouble"))
    assert agent is not None
    agent.timezone = "Mars/Olympus_Mons"  # a row the API would refuse: parsing it crashes the pass
    db.session.commit()

    results = {a.slug: r for a, r in sync_all(db.session, app.extensions["booking.settings"], NOW)}

    trouble = results["a-trouble"]
    assert isinstance(trouble, CalendarSyncFailed) and trouble.code == "sync_error"
    assert isinstance(results["b-fine"], SyncCounts)
    conn = connection("a-trouble")
    assert conn.last_sync_status == "error"
    assert conn.last_sync_error is not None and "crashed: ZoneInfoNotFoundError" in conn.last_sync_error
    assert connection("b-fine").last_sync_status == "ok"


def test_a_pass_past_its_deadline_stops_before_parsing_and_says_so(
    app, client, admin, make_agent, radicale, radicale_server, frozen
):
    """The deadline also bounds parsing (an expensive calendar, not only a slow server): checked
    between slices of objects, the pass ends as ``sync_timeout`` and the previous blocks stay."""
    frozen(NOW)
    two_agents(client, admin, make_agent, radicale, radicale_server)
    radicale.put("big", calendar(vevent("big@agent.example", 5, 10)))

    results = {a.slug: r for a, r in sync_all(db.session, app.extensions["booking.settings"], NOW, pass_seconds=0)}

    trouble = results["a-trouble"]
    assert isinstance(trouble, CalendarSyncFailed) and trouble.code == "sync_timeout"
    conn = connection("a-trouble")
    assert conn.last_sync_status == "error" and "deadline" in (conn.last_sync_error or "")
