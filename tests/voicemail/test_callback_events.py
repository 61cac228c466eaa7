"""A callback reservation queues its own events: the CalDAV push, and no booking mail.

It used to queue ``booking.confirmed`` / ``rescheduled`` / ``cancelled`` like a customer's call, which
fanned out to two e-mail rows per change that the mail handlers then threw away (a reservation is
mailed to nobody). Now it queues ``callback.reserved`` / ``moved`` / ``released``; only the push listens.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from booking.extensions import db
from booking.models import OutboxMessage
from tests.voicemail.conftest import paris
from tests.voicemail.test_callbacks import callbacks, leave_voicemail, line  # noqa: F401 (fixture)


def rows() -> Counter[tuple[str, str]]:
    """Outbox rows so far, by (handler, event)."""
    db.session.rollback()  # see what the requests committed
    return Counter(
        (handler, payload["event"])
        for handler, payload in db.session.execute(select(OutboxMessage.handler, OutboxMessage.payload))
    )


def test_a_voicemail_queues_the_push_sms_and_email_and_no_booking_mail(hook, line, frozen, client, admin):  # noqa: F811
    leave_voicemail(hook, frozen, paris(2026, 12, 1, 10, 0))  # business hours: the dial was missed
    assert rows() == {
        ("caldav.push", "callback.reserved"): 1,
        ("callback.sms", "callback.queued"): 1,
        ("callback.email", "callback.queued"): 1,
    }

    (pending,) = callbacks(client, admin, status="pending")
    moved = client.post(
        f"/api/callbacks/{pending['id']}/move", json={"due_at": "2026-12-03T14:00:00+01:00"}, headers=admin
    )
    assert moved.status_code == 200
    assert rows()[("caldav.push", "callback.moved")] == 1

    done = client.post(f"/api/callbacks/{pending['id']}/done", headers=admin)
    assert done.status_code == 200 and done.get_json()["reserved"]["status"] == "cancelled"
    after = rows()
    assert after[("caldav.push", "callback.released")] == 1
    assert not [key for key in after if key[0].startswith("email.booking")], after
    assert sum(after.values()) == 5
