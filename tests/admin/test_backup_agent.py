"""Issue 14, item 4: the backup agent covers while the dedicated agent is away.

Real time off (the admin API's), real deactivation, the real booking page and booking API: for a slot
inside the dedicated agent's time off the page offers the backup's free time and says who is away
until when, and the API books the backup; outside it the dedicated agent keeps every call.
Also the ``admin`` flag and ``backup_agent`` in the admin API, and ``GET /api/bookings`` in the
OpenAPI document beside ``POST``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.pages.forms import slot_values

AWAY_SLOT = "2026-12-01T10:00:00+01:00"  # Tuesday: Camille is off all day
BACK_SLOT = "2026-12-02T10:00:00+01:00"  # Wednesday: Camille is back


@pytest.fixture
def acme(make_agent, make_customer, frozen) -> dict[str, Any]:
    make_agent(slug="camille", name="Camille Martin")
    make_agent(slug="dana", name="Dana Roux")
    return make_customer("camille", name="Acme", backup_agent="dana")


TUESDAY, WEDNESDAY = "2026-12-01", "2026-12-02"


def _time_off(client, admin, slug="camille"):
    body = {"start": "2026-12-01T00:00:00+01:00", "end": "2026-12-02T00:00:00+01:00", "reason": "holiday"}
    response = client.post(f"/api/agents/{slug}/time-off", json=body, headers=admin)
    assert response.status_code == 201, response.get_json()


def _book(client, customer, start):
    body = {
        "token": customer["booking_token"],
        "start": start,
        "duration": 30,
        "topic": "help",
        "name": "Alice Dupont",
        "email": "alice@customer.example",
    }
    return client.post("/api/bookings", json=body)


def test_admin_api_sets_and_clears_the_backup(client, admin, acme):
    assert acme["backup_agent"] == "dana" and acme["agent"] == "camille"
    path = f"/api/customers/{acme['id']}"
    cleared = client.patch(path, json={"backup_agent": None}, headers=admin)
    assert cleared.status_code == 200 and cleared.get_json()["backup_agent"] is None
    assert client.patch(path, json={"backup_agent": "dana"}, headers=admin).get_json()["backup_agent"] == "dana"
    for body, code in (
        ({"backup_agent": "nobody"}, "unknown_agent"),
        ({"backup_agent": "camille"}, "bad_backup_agent"),
        ({"agent": "dana"}, "bad_backup_agent"),  # the backup would become the dedicated agent
        ({"backup_agent": "Not A Slug"}, "invalid_request"),
    ):
        response = client.patch(path, json=body, headers=admin)
        assert response.status_code == 400, body
        assert response.get_json()["error"]["code"] == code
    assert client.get(path, headers=admin).get_json()["backup_agent"] == "dana"


def test_create_refuses_the_dedicated_agent_as_backup(client, admin, acme):
    body = {"name": "Globex", "plan": "all-inclusive", "dedicated_support": True, "agent": "dana"}
    response = client.post("/api/customers", json={**body, "backup_agent": "dana"}, headers=admin)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_backup_agent"


def test_admin_flag_in_the_agent_api(client, admin, make_agent):
    boss = make_agent(slug="boss", admin=True)
    assert boss["admin"] is True
    assert make_agent(slug="plain")["admin"] is False
    patched = client.patch("/api/agents/boss", json={"admin": False}, headers=admin).get_json()
    assert patched["admin"] is False
    assert client.patch("/api/agents/boss", json={"admin": 1}, headers=admin).status_code == 400


def test_get_and_post_bookings_are_both_documented(client):
    doc = client.get("/api/openapi.json").get_json()
    item = doc["paths"]["/api/bookings"]
    assert {"get", "post"} <= set(item)
    assert item["get"]["security"] == [{"bearer": []}]
    assert "security" not in item["post"] or item["post"]["security"] in ([], None)


def test_old_admin_bookings_address_still_answers(client, admin, acme):
    assert _book(client, acme, BACK_SLOT).status_code == 201
    old = client.get("/api/admin/bookings", headers=admin).get_json()["bookings"]
    assert old == client.get("/api/bookings", headers=admin).get_json()["bookings"]
    assert len(old) == 1


def test_page_says_who_is_away_and_offers_the_backups_slots(client, admin, acme):
    before = client.get(f"/book/{acme['booking_token']}", query_string={"lang": "en"}).get_data(as_text=True)
    assert "is away until" not in before and "· Dana Roux" not in before
    _time_off(client, admin)
    # The month view lists the chosen day's times: Tuesday (away), then Wednesday (back).
    html = client.get(f"/book/{acme['booking_token']}", query_string={"lang": "en", "day": TUESDAY}).get_data(
        as_text=True
    )
    assert "Camille Martin is away until Wednesday, December 2, 2026, 12:00\u202fAM." in html
    assert "You can book with Dana Roux" in html
    assert "2026-12-01T09:00:00+00:00" in slot_values(html)  # Tuesday 10:00 Paris: Dana's
    assert "· Dana Roux" in html
    wednesday = client.get(f"/book/{acme['booking_token']}", query_string={"lang": "en", "day": WEDNESDAY})
    assert "2026-12-02T09:00:00+00:00" in slot_values(wednesday.get_data(as_text=True))  # Camille's again
    french = client.get(f"/book/{acme['booking_token']}", query_string={"lang": "fr", "day": TUESDAY}).get_data(
        as_text=True
    )
    assert (
        "Camille Martin est absent·e jusqu’au mercredi 2 décembre 2026, 00:00." in french
        and "Vous pouvez réserver avec Dana Roux" in french
    )


def test_api_books_the_backup_inside_the_time_off_only(client, admin, acme):
    _time_off(client, admin)
    away = _book(client, acme, AWAY_SLOT)
    assert away.status_code == 201, away.get_json()
    assert away.get_json()["agent"] == "dana"
    back = _book(client, acme, BACK_SLOT)
    assert back.status_code == 201 and back.get_json()["agent"] == "camille"
    listed = client.get("/api/bookings?agent=dana", headers=admin).get_json()["bookings"]
    assert [b["customer"]["name"] for b in listed] == ["Acme"]


def test_without_a_backup_the_time_off_is_simply_not_offered(client, admin, acme):
    client.patch(f"/api/customers/{acme['id']}", json={"backup_agent": None}, headers=admin)
    _time_off(client, admin)
    assert _book(client, acme, AWAY_SLOT).status_code == 409
    html = client.get(f"/book/{acme['booking_token']}", query_string={"lang": "en", "day": TUESDAY}).get_data(
        as_text=True
    )
    assert "Camille Martin is away until" in html and "You can book with" not in html
    assert "2026-12-01T09:00:00+00:00" not in slot_values(html)


def test_a_deactivated_agent_is_covered_entirely(client, admin, acme):
    assert client.post("/api/agents/camille/deactivate", headers=admin).status_code == 200
    html = client.get(f"/book/{acme['booking_token']}", query_string={"lang": "en", "day": WEDNESDAY}).get_data(
        as_text=True
    )
    assert "Camille Martin is not taking calls any more." in html and "You can book with Dana Roux" in html
    assert "2026-12-02T09:00:00+00:00" in slot_values(html)
    booked = _book(client, acme, BACK_SLOT)
    assert booked.status_code == 201 and booked.get_json()["agent"] == "dana"
    client.patch(f"/api/customers/{acme['id']}", json={"backup_agent": None}, headers=admin)
    assert client.get(f"/book/{acme['booking_token']}").status_code == 403
    assert _book(client, acme, "2026-12-03T10:00:00+01:00").status_code == 403


def test_the_backups_own_busy_time_counts(client, admin, acme):
    """The backup's slots are the backup's free time: their own time off hides them too."""
    _time_off(client, admin)
    _time_off(client, admin, slug="dana")
    assert _book(client, acme, AWAY_SLOT).status_code == 409


def test_import_names_the_backup_and_refuses_bad_ones(app):
    from booking.extensions import db
    from booking.models import Customer
    from booking.services import importing

    settings = app.extensions["booking.settings"]
    agents = "slug,name,email,phone\ncamille,Camille,c@example.com,+33140000001\ndana,Dana,d@example.com,+33140000002\n"
    assert importing.import_agents(db.session, settings, agents).errors == []
    header = "name,plan,dedicated_support,agent,backup_agent\n"
    bad = header + "A,all-inclusive,yes,camille,nobody\nB,all-inclusive,yes,camille,camille\n"
    result = importing.import_customers(db.session, settings, bad)
    assert [line for line, _ in result.errors] == [2, 3] and "no agent 'nobody'" in result.errors[0][1]
    good = "name,plan,dedicated_support,agent,backup_agent\nAcme,all-inclusive,yes,camille,dana\n"
    assert importing.import_customers(db.session, settings, good).errors == []
    acme = db.session.query(Customer).one()
    assert acme.backup_agent is not None and acme.backup_agent.slug == "dana"


def test_cli_customer_add_backup_agent(app):
    from booking.extensions import db
    from booking.models import Customer

    runner = app.test_cli_runner()
    for slug, phone in (("camille", "+33140000001"), ("dana", "+33140000002")):
        args = ["agent", "add", "--slug", slug, "--name", slug.title(), "--email", f"{slug}@example.com"]
        assert runner.invoke(args=[*args, "--phone", phone]).exit_code == 0
    base = ["customer", "add", "--name", "Acme", "--agent", "camille"]
    refused = runner.invoke(args=[*base, "--backup-agent", "camille"])
    assert refused.exit_code == 2 and "backup agent must not be the dedicated agent" in refused.output
    assert runner.invoke(args=[*base, "--backup-agent", "dana"]).exit_code == 0
    assert db.session.query(Customer).one().backup_agent.slug == "dana"


def test_the_dedicated_agent_is_locked_before_their_time_off_is_read(client, admin, acme):
    """Issue 19 review: with a backup named, the choice between the dedicated agent and the backup
    reads the dedicated agent's time off. Read before any lock, an admin removing that time off in
    the same instant (``time_off`` locks the dedicated agent first) could commit between the read
    and the booking: a call left with the backup while the dedicated agent is free. So the booking
    locks the dedicated agent (``schedule.lock_agent``) before reading the time off, then the backup
    (lock order dedicated, then backup, always)."""
    from sqlalchemy import event, select

    from booking.extensions import db
    from booking.models import Agent

    _time_off(client, admin)
    ids = {slug: id_ for slug, id_ in db.session.execute(select(Agent.slug, Agent.id))}
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((" ".join(statement.split()), parameters))

    db.session.remove()
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        booked = _book(client, acme, AWAY_SLOT)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert booked.status_code == 201 and booked.get_json()["agent"] == "dana", booked.get_json()

    def locks(agent_id: int) -> list[int]:
        return [
            i
            for i, (sql, params) in enumerate(sent)
            if sql.startswith("UPDATE agents SET schedule_version") and _locked_id(params) == agent_id
        ]

    reads = [i for i, (sql, _) in enumerate(sent) if sql.startswith("SELECT") and "FROM time_off" in sql]
    assert reads and locks(ids["camille"]) and locks(ids["dana"]), sent
    assert locks(ids["camille"])[0] < reads[0], sent  # the dedicated agent is locked before the read
    assert locks(ids["dana"])[0] < reads[0], sent  # and so is the backup
    assert locks(ids["camille"])[0] < locks(ids["dana"])[0], sent  # ascending ids (camille's is lower)


def test_agents_backing_each_other_up_are_locked_in_one_order(client, admin, acme, make_customer):
    """Review of issue 19: Camille and Dana are each other's backup. Locking "dedicated, then backup"
    made Acme's booking lock Camille then Dana while Globex's locked Dana then Camille: at the same
    instant, a deadlock (PostgreSQL fails one booking). Both now lock in ascending id order."""
    from sqlalchemy import event, select

    from booking.extensions import db
    from booking.models import Agent

    globex = make_customer("dana", name="Globex", backup_agent="camille")
    _time_off(client, admin, slug="dana")
    ids = {slug: id_ for slug, id_ in db.session.execute(select(Agent.slug, Agent.id))}
    assert ids["camille"] < ids["dana"]
    order: list[Any] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if " ".join(statement.split()).startswith("UPDATE agents SET schedule_version"):
            order.append(_locked_id(parameters))

    db.session.remove()
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        booked = _book(client, globex, AWAY_SLOT)  # Dana is away: Globex's call goes to Camille
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert booked.status_code == 201 and booked.get_json()["agent"] == "camille", booked.get_json()
    assert order[:2] == [ids["camille"], ids["dana"]], order


def _locked_id(params: Any) -> Any:
    """The agent id bound to ``UPDATE agents ... WHERE agents.id = ?``: the last value (SQLite's
    tuple), or the ``id`` key (PostgreSQL's dict); the other value is the version's increment."""
    if isinstance(params, dict):
        return next((v for k, v in params.items() if k.startswith("id")), None)
    return params[-1] if params else None
