"""SOGo gives an event deleted and re-created the same ETag (issue 10 item 9): trust the change report.

On real SOGo 5.8 (``caldav_servers``, from Debian's package) and on the SOGo-like stand-in of
``tests/fixtures/sogo_like.py``, which reproduces the same ETag rule without the packages, so the
behaviour stays covered where SOGo is not installed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from booking.extensions import db
from booking.models import Agent, BusyBlock
from tests.calendar_helpers import connect, sync
from tests.fixtures.radicale import DavCalendar
from tests.test_caldav_servers import NOW, calendar, vevent


def starts(slug: str) -> list[datetime]:
    agent_id = db.session.scalar(select(Agent.id).where(Agent.slug == slug))
    return sorted(db.session.scalars(select(BusyBlock.start_at).where(BusyBlock.agent_id == agent_id)))


@pytest.fixture(params=[pytest.param("sogo", marks=pytest.mark.caldav_servers), "sogo_like"])
def sogo_like(request: pytest.FixtureRequest) -> DavCalendar:
    """Real SOGo, then the stand-in."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def test_event_recreated_with_the_same_etag_is_re_read(client, admin, make_agent, sogo_like: DavCalendar, frozen):
    """The client skipped a reported member whose ETag it already knew: the old slot stayed blocked
    and the new, busy one was offered. Only the echo of our own write may be skipped so."""
    frozen(NOW)
    slug = make_agent()["slug"]
    first_etag = sogo_like.put("standup", calendar(vevent("standup@agent.example", 4, 9)))
    connect(client, admin, slug, sogo_like)
    assert sync(client, admin, slug)["objects"] == 1
    assert starts(slug) == [datetime(2026, 11, 4, 9, tzinfo=UTC)]

    sogo_like.delete("standup")
    assert sogo_like.put("standup", calendar(vevent("standup@agent.example", 4, 14))) == first_etag  # SOGo's rule
    frozen(NOW + timedelta(minutes=5))
    body = sync(client, admin, slug)
    assert (body["mode"], body["changed"], body["objects"]) == ("incremental", 1, 1)
    assert starts(slug) == [datetime(2026, 11, 4, 14, tzinfo=UTC)]
