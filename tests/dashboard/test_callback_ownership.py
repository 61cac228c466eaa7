"""An agent completes or moves only their own callbacks: checked in the services, not only in routes.

The dashboard routes used to ask ``dashboard.owned_callback`` first and then call services that
would act on any callback; any other caller of ``callbacks.complete`` / ``move`` (a new route, a
CLI command) could have skipped the check. Now the services take the acting agent and answer
NotFound for someone else's callback, the same answer as for a missing one.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from booking import clock
from booking.extensions import db
from booking.models import Agent, Booking, Callback
from booking.services import callbacks
from booking.services.errors import NotFound
from tests.dashboard.conftest import paris
from tests.pages.forms import hidden


def agent_id(slug: str) -> int:
    return db.session.query(Agent.id).filter_by(slug=slug).scalar()


def test_complete_refuses_another_agents_callback(app, team, leave_voicemail):
    theirs = leave_voicemail(team["globex"], "CA2")
    camille = agent_id("camille")
    with pytest.raises(NotFound):
        callbacks.complete(db.session, theirs.id, clock.now(), acting_agent_id=camille)
    db.session.rollback()
    assert db.session.get(Callback, theirs.id, populate_existing=True).status == "pending"
    # Their own agent and the admin (no acting agent) may.
    done, _ = callbacks.complete(db.session, theirs.id, clock.now(), acting_agent_id=agent_id("dana"))
    assert done.status == "done"


def test_move_refuses_another_agents_callback(app, team, leave_voicemail):
    theirs = leave_voicemail(team["globex"], "CA2")
    due_before, booking_id = theirs.due_at, theirs.booking_id
    settings = app.extensions["booking.settings"]
    new_due = paris(2026, 12, 2, 14, 0)
    with pytest.raises(NotFound):
        callbacks.move(db.session, settings, theirs.id, new_due, clock.now(), acting_agent_id=agent_id("camille"))
    db.session.rollback()
    after = db.session.get(Callback, theirs.id, populate_existing=True)
    reservation = db.session.get(Booking, booking_id, populate_existing=True)
    assert after.due_at == due_before and reservation.sequence == 0
    moved, _ = callbacks.move(db.session, settings, theirs.id, new_due, clock.now())  # the admin
    assert moved.due_at == new_due


def test_the_dashboard_relies_on_the_service_check(client, team, leave_voicemail, sign_in):
    """Over HTTP: the done route no longer checks ownership itself, the service answers 404."""
    theirs = leave_voicemail(team["globex"], "CA2")
    sign_in(client, "camille@vendor.example")
    page = client.get("/agent").get_data(as_text=True)
    token = hidden(page, "csrf_token")
    response = client.post(f"/agent/callbacks/{theirs.id}/done", data={"csrf_token": token})
    assert response.status_code == 404
    due = (theirs.due_at + timedelta(days=1)).astimezone(paris(2026, 1, 1).tzinfo).strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"/agent/callbacks/{theirs.id}/move", data={"csrf_token": token, "due_at": due})
    assert response.status_code == 404
    db.session.rollback()
    assert db.session.get(Callback, theirs.id, populate_existing=True).status == "pending"
