"""Issue 10 item 6 end to end: an invitation the agent declined, stored in a real Radicale, leaves the slot free.

Nextcloud, iCloud and Google keep declined invitations in the calendar; the sync must read the agent's
own PARTSTAT (matched on the agent's e-mail address) and not block their time. A tentative one still blocks.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests.calendar_helpers import connect, paris, slots, sync
from tests.calendar_sync._support import ics
from tests.fixtures.radicale import RadicaleCalendar

NOW = datetime(2026, 10, 12, 8, 0, tzinfo=UTC)
WEEK = (date(2026, 10, 26), date(2026, 10, 31))


def invitation(agent_email: str, partstat: str, day: str) -> bytes:
    data = ics("issue10/declined_invitation.ics")
    data = data.replace(b"mailto:Agent.Smith@Booking.example", f"mailto:{agent_email.upper()}".encode())
    data = data.replace(b"PARTSTAT=DECLINED", f"PARTSTAT={partstat}".encode())
    data = data.replace(b"UID:declined@", f"UID:{partstat.lower()}@".encode())
    return data.replace(b"20261026T", f"{day}T".encode())


def test_declined_invitation_does_not_block_but_a_tentative_one_does(
    client, admin, make_agent, radicale: RadicaleCalendar, frozen
):
    frozen(NOW)
    agent = make_agent()
    slug = agent["slug"]
    radicale.put("declined", invitation(agent["email"], "DECLINED", "20261026"))  # Mon 10:00Z = 11:00 Paris
    radicale.put("tentative", invitation(agent["email"], "TENTATIVE", "20261027"))  # Tue 11:00 Paris
    before = slots(client, slug, *WEEK)
    connect(client, admin, slug, radicale)
    counts = sync(client, admin, slug)
    assert counts["malformed"] == 0
    gone = before - slots(client, slug, *WEEK)
    assert gone == paris("2026-10-27", "11:00", "11:30")
    assert paris("2026-10-26", "11:00", "11:30") <= before
