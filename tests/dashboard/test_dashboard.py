"""The agent's dashboard: what it shows (in the agent's zone and language) and its callback actions.

Every action is a CSRF-protected POST on one of the signed-in agent's own callbacks; someone else's
callback answers 404 exactly like a missing one, and nothing changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from booking.extensions import db
from booking.models import Agent, Booking, CalendarConnection, Callback
from tests.conftest import MONDAY
from tests.dashboard.conftest import paris
from tests.pages.forms import hidden

NNBSP = "\u202f"  # Babel's narrow no-break space before AM/PM


def book(client, customer, start: datetime, **fields) -> dict:
    body = {
        "token": customer["booking_token"],
        "start": start.isoformat(),
        "duration": 30,
        "topic": "training",
        "name": "Alice Dupont",
        "email": "alice@customer.example",
        "notes": "Rules for the support inbox",
        **fields,
    }
    response = client.post("/api/bookings", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def fresh(model, id_):
    db.session.rollback()  # end this test's read snapshot; the requests committed in their own transactions
    return db.session.get(model, id_, populate_existing=True)


def post_action(client, callback_id: int, action: str, **data):
    token = hidden(client.get("/agent").get_data(as_text=True), "csrf_token")
    return client.post(f"/agent/callbacks/{callback_id}/{action}", data={"csrf_token": token, **data})


def test_the_dashboard_shows_calls_callbacks_voicemails_and_calendar(client, team, leave_voicemail, sign_in, frozen):
    book(client, team["acme"], paris(2026, 12, 1, 10, 0))
    callback = leave_voicemail(team["acme"], "CA1")  # 08:00 Paris, before opening: due at 09:00
    sign_in(client, "camille@vendor.example")

    page = client.get("/agent").get_data(as_text=True)
    # The call, in Camille's zone (Paris), with the customer, contact, topic, notes and links.
    assert "mardi 1 décembre 2026, 10:00 – 10:30" in page
    assert "Acme Industries" in page and 'href="mailto:alice@customer.example"' in page
    assert "Une formation sur une fonctionnalité" in page and "Rules for the support inbox" in page
    assert "/bookings/1/manage?token=" in page and "/api/bookings/1/invite.ics?token=" in page
    # The callback: SLA due time, severity, caller, recording, reservation, actions.
    assert f'id="callback-{callback.id}"' in page
    assert "Rappeler avant" in page and "lundi 30 novembre, 09:00" in page
    assert "Gravité 3 Standard" in page
    assert 'href="tel:+33612345678"' in page
    assert 'href="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RECA1"' in page
    assert "Écouter (42 s)" in page
    assert "lundi 30 novembre 2026, 09:00 – 09:15" in page  # the 15 minutes reserved in the calendar
    assert f'action="/agent/callbacks/{callback.id}/done"' in page
    assert f'action="/agent/callbacks/{callback.id}/move"' in page
    assert 'value="2026-11-30T09:00"' in page  # the move form starts at the current due time, local
    assert "En retard" not in page
    # Recent voicemails, and the calendar: no CalDAV connection, so the private feed is offered.
    assert 'id="voicemails"' in page and "En attente" in page
    assert "Aucun agenda CalDAV n’est connecté" in page
    agent = db.session.scalar(select(Agent).where(Agent.slug == "camille"))
    assert f"http://booking.test/agents/camille/calendar.ics?key={agent.feed_key}" in page

    frozen(paris(2026, 11, 30, 9, 1))
    late = client.get("/agent").get_data(as_text=True)
    assert "En retard" in late and 'class="item overdue"' in late


def test_english_and_the_agents_own_zone(client, team, leave_voicemail, sign_in):
    book(client, team["globex"], paris(2026, 12, 1, 10, 0))
    leave_voicemail(team["globex"], "CA2", severity=5, duration=7)
    sign_in(client, "dana@vendor.example")
    page = client.get("/agent?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Times are shown in your zone, America/New York." in page
    assert f"Tuesday, December 1, 2026, 4:00{NNBSP}AM – 4:30{NNBSP}AM" in page  # 10:00 Paris in New York
    assert f"Monday, November 30, 3:00{NNBSP}AM" in page  # due 09:00 Paris
    assert "Severity 5 Requests" in page and "Listen (7 s)" in page


def test_an_agent_sees_and_touches_only_their_own_callbacks(client, team, leave_voicemail, sign_in):
    mine = leave_voicemail(team["acme"], "CA1")
    theirs = leave_voicemail(team["globex"], "CA2")
    due_before = theirs.due_at
    sign_in(client, "camille@vendor.example")

    page = client.get("/agent").get_data(as_text=True)
    assert f'id="callback-{mine.id}"' in page
    assert f'id="callback-{theirs.id}"' not in page
    assert "Globex" not in page and "+33698765432" not in page and "RECA2" not in page

    assert post_action(client, theirs.id, "done").status_code == 404
    assert post_action(client, theirs.id, "move", due_at="2026-12-02T14:00").status_code == 404
    assert post_action(client, 999, "done").status_code == 404  # the same answer as a missing one
    after = fresh(Callback, theirs.id)
    assert (after.status, after.due_at) == ("pending", due_before)


def test_mark_a_callback_done(client, team, leave_voicemail, sign_in):
    callback = leave_voicemail(team["acme"], "CA1")
    reservation_id = callback.booking_id
    sign_in(client, "camille@vendor.example")

    response = post_action(client, callback.id, "done")
    assert response.status_code == 303 and response.headers["Location"] == "/agent?notice=done#callbacks"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Rappel marqué comme fait." in page
    assert f'id="callback-{callback.id}"' not in page
    assert "Fait" in page  # the voicemail is still listed, its callback done

    done = fresh(Callback, callback.id)
    assert (done.status, done.done_at) == ("done", MONDAY)
    assert db.session.get(Booking, reservation_id).status == "cancelled"  # the reserved 15 minutes are free again
    assert post_action(client, callback.id, "done").status_code == 303  # a second click changes nothing


def test_move_a_callback_in_the_agents_zone(client, team, leave_voicemail, sign_in):
    callback = leave_voicemail(team["acme"], "CA1")
    sign_in(client, "camille@vendor.example")

    response = post_action(client, callback.id, "move", due_at="2026-12-02T14:00")
    assert response.status_code == 303 and response.headers["Location"] == "/agent?notice=moved#callbacks"
    assert "Rappel déplacé." in client.get(response.headers["Location"]).get_data(as_text=True)

    moved = fresh(Callback, callback.id)
    assert moved.due_at == datetime(2026, 12, 2, 13, 0, tzinfo=UTC)  # 14:00 Paris
    assert (moved.booking.start_at, moved.booking.sequence) == (datetime(2026, 12, 2, 13, 0, tzinfo=UTC), 1)


def test_a_move_that_cannot_be_done_says_why_and_changes_nothing(client, team, leave_voicemail, sign_in):
    callback = leave_voicemail(team["acme"], "CA1")
    sign_in(client, "camille@vendor.example")

    nul = post_action(client, callback.id, "move", due_at="\x00")  # refused before any route runs
    assert nul.status_code == 400 and nul.mimetype == "text/html"
    odd = ("not a time", "2026-11-29T10:00", "2027-03-01T10:00", "0001-01-01T00:00", "9999-12-31T23:59")
    for value in odd:  # garbage, the past, beyond 62 days, the ends of the calendar
        response = post_action(client, callback.id, "move", due_at=value)
        assert response.status_code == 400, value
        page = response.get_data(as_text=True)
        assert "Indiquez une échéance entre maintenant et dans 62 jours." in page
        assert '<details class="move" open>' in page  # the form stays open on the callback concerned
    assert fresh(Callback, callback.id).due_at == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)

    post_action(client, callback.id, "done")
    stale = post_action(client, callback.id, "move", due_at="2026-12-02T14:00")  # a form left open
    assert stale.status_code == 409
    assert "Ce rappel n’est plus en attente" in stale.get_data(as_text=True)


def test_the_actions_are_csrf_protected(client, team, leave_voicemail, sign_in):
    callback = leave_voicemail(team["acme"], "CA1")
    sign_in(client, "camille@vendor.example")
    assert client.post(f"/agent/callbacks/{callback.id}/done").status_code == 400
    moved = client.post(f"/agent/callbacks/{callback.id}/move", data={"due_at": "2026-12-02T14:00"})
    assert moved.status_code == 400
    assert "Ce formulaire a expiré" in moved.get_data(as_text=True)
    after = fresh(Callback, callback.id)
    assert (after.status, after.due_at) == ("pending", datetime(2026, 11, 30, 8, 0, tzinfo=UTC))


def test_the_calendar_sync_status_and_its_error(client, team, sign_in):
    agent = db.session.scalar(select(Agent).where(Agent.slug == "camille"))
    db.session.add(
        CalendarConnection(
            agent_id=agent.id,
            url="https://dav.vendor.example/calendars/camille/work/",
            username="camille",
            password_encrypted="-",
            last_sync_at=MONDAY - timedelta(minutes=5),
            last_sync_status="error",
            last_sync_error="calendar_unreachable: connection refused",
        )
    )
    db.session.commit()
    sign_in(client, "camille@vendor.example")
    page = client.get("/agent?lang=en").get_data(as_text=True)
    assert "https://dav.vendor.example/calendars/camille/work/" in page
    assert "Monday, November 30, 7:55" in page and "Failed" in page
    assert "calendar_unreachable: connection refused" in page
