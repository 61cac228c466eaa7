"""Issue 14, item 3: the admin console's pages with the Flask client (no JavaScript).

Signed in through the real e-mailed link; forms posted with the CSRF token read from the page. Only
admins get in (403 page for other agents), a form without its token is refused and changes nothing,
a refused form comes back with the service's message and what was typed, and every action lands in
the audit log (the admin API's writes too).
"""

from __future__ import annotations

from typing import Any

import pytest

from booking.extensions import db
from booking.models import Agent, Customer
from booking.models_audit import AuditEntry
from tests.dashboard.conftest import client, sign_in  # noqa: F401
from tests.pages.forms import hidden


@pytest.fixture
def boss(make_agent, frozen) -> dict[str, Any]:
    return make_agent(slug="boss", name="Bea Boss", email="boss@vendor.example", admin=True)


@pytest.fixture
def signed(client, sign_in, boss):  # noqa: F811
    sign_in(client, boss["email"])
    return client


def _token(http, path: str) -> str:
    response = http.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return hidden(response.get_data(as_text=True), "csrf_token")


def _post(http, form_path: str, action: str, data: dict[str, Any]) -> Any:
    return http.post(action, data={"csrf_token": _token(http, form_path), **data})


NEW_AGENT = {
    "slug": "camille",
    "name": "Camille Martin",
    "email": "camille@vendor.example",
    "phone": "+33 1 40 00 00 11",
    "timezone": "Europe/Paris",
    "tier": "dedicated",
}


def test_only_signed_in_admins_get_in(client, sign_in, make_agent, boss):  # noqa: F811
    anonymous = client.get("/admin/agents")
    assert anonymous.status_code == 303 and "/agent/sign-in" in anonymous.headers["Location"]
    plain = make_agent(slug="plain", email="plain@vendor.example")
    sign_in(client, plain["email"])
    for path in ("/admin/agents", "/admin/customers", "/admin/bookings", "/admin/audit", "/admin/agents/boss"):
        response = client.get(path, query_string={"lang": "en"})
        assert response.status_code == 403 and response.mimetype == "text/html", path
        assert "This page is for admins" in response.get_data(as_text=True)
    refused = client.post("/admin/agents", data=NEW_AGENT)
    assert refused.status_code in (400, 403)
    assert db.session.query(Agent).filter_by(slug="camille").count() == 0


def test_a_form_without_its_csrf_token_changes_nothing(signed):
    response = signed.post("/admin/agents", data=NEW_AGENT)
    assert response.status_code == 400
    assert db.session.query(Agent).filter_by(slug="camille").count() == 0


def test_create_an_agent_and_bad_input_keeps_what_was_typed(signed):
    bad = _post(signed, "/admin/agents", "/admin/agents", {**NEW_AGENT, "phone": "0612", "lang": "en"})
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert "is not a valid phone number" in html or "international format" in html
    assert 'value="Camille Martin"' in html and 'value="camille@vendor.example"' in html
    assert db.session.query(Agent).filter_by(slug="camille").count() == 0
    good = _post(signed, "/admin/agents", "/admin/agents", NEW_AGENT)
    assert good.status_code == 303 and good.headers["Location"].endswith("/admin/agents/camille?notice=created")
    agent = db.session.query(Agent).filter_by(slug="camille").one()
    assert agent.phone == "+33140000011"
    assert db.session.query(AuditEntry).filter_by(action="create_agent", actor="agent:boss").count() == 1


def test_working_hours_editor_changes_the_offered_slots(signed, admin):
    _post(signed, "/admin/agents", "/admin/agents", NEW_AGENT)

    def tuesday() -> list[str]:
        url = "/api/agents/camille/availability?start=2026-12-01&end=2026-12-02&tz=Europe/Paris&duration=30"
        return [s["start"][11:16] for s in signed.get(url).get_json()["slots"]]

    assert "09:00" in tuesday() and "15:00" in tuesday()
    hours = {"hours-tue": "9:00-10:00, 14:00-15:00", "hours-wed": "09:00-17:00"}
    response = _post(signed, "/admin/agents/camille", "/admin/agents/camille/hours", hours)
    assert response.status_code == 303
    assert tuesday() == ["09:00", "09:30", "14:00", "14:30"]
    bad = _post(signed, "/admin/agents/camille", "/admin/agents/camille/hours", {"hours-tue": "25:00-26:00"})
    assert bad.status_code == 400 and 'value="25:00-26:00"' in bad.get_data(as_text=True)
    assert tuesday() == ["09:00", "09:30", "14:00", "14:30"]  # nothing changed
    entry = db.session.query(AuditEntry).filter_by(action="update_working_hours").one()
    assert entry.details["working_hours"]["tue"] == ["9:00-10:00", "14:00-15:00"]


def test_time_off_add_and_remove(signed):
    _post(signed, "/admin/agents", "/admin/agents", NEW_AGENT)
    data = {"start": "2026-12-01T00:00", "end": "2026-12-02T00:00", "reason": "training"}
    assert _post(signed, "/admin/agents/camille", "/admin/agents/camille/time-off", data).status_code == 303
    page = signed.get("/admin/agents/camille").get_data(as_text=True)
    assert "· training" in page  # the time off list (the audit entries below quote it too)
    backwards = _post(
        signed, "/admin/agents/camille", "/admin/agents/camille/time-off", {**data, "end": "2026-11-01T00:00"}
    )
    assert backwards.status_code == 400 and 'value="2026-11-01T00:00"' in backwards.get_data(as_text=True)
    entry = db.session.query(AuditEntry).filter_by(action="add_time_off").one()
    removed = _post(signed, "/admin/agents/camille", f"/admin/agents/camille/time-off/{entry.details['id']}/remove", {})
    assert removed.status_code == 303
    assert "· training" not in signed.get("/admin/agents/camille").get_data(as_text=True)


def test_feed_key_rotation(signed):
    _post(signed, "/admin/agents", "/admin/agents", NEW_AGENT)
    agent = db.session.query(Agent).filter_by(slug="camille").one()
    old_key = agent.feed_key
    assert signed.get(f"/agents/camille/calendar.ics?key={old_key}").status_code == 200
    assert _post(signed, "/admin/agents/camille", "/admin/agents/camille/feed-key", {}).status_code == 303
    assert signed.get(f"/agents/camille/calendar.ics?key={old_key}").status_code == 404


def test_customer_create_edit_and_link_rotation(signed):
    _post(signed, "/admin/agents", "/admin/agents", NEW_AGENT)
    form = {
        "name": "Acme",
        "plan": "all-inclusive",
        "dedicated_support": "on",
        "agent": "camille",
        "backup_agent": "boss",
        "phones": "06 12 34 56 99\n+33 6 12 34 56 98",
        "emails": "it@acme.example",
    }
    typo = _post(signed, "/admin/customers", "/admin/customers", {**form, "plan": "all-inclusve"})
    assert typo.status_code == 400 and "unknown plan" in typo.get_data(as_text=True)
    assert "06 12 34 56 99" in typo.get_data(as_text=True)
    created = _post(signed, "/admin/customers", "/admin/customers", form)
    assert created.status_code == 303
    customer = db.session.query(Customer).one()
    assert [p.e164 for p in customer.phones] == ["+33612345699", "+33612345698"]
    assert customer.backup_agent.slug == "boss"
    path = f"/admin/customers/{customer.id}"
    old_token = customer.booking_token
    assert f"/book/{old_token}" in signed.get(path).get_data(as_text=True)
    assert signed.get(f"/book/{old_token}").status_code == 200
    assert _post(signed, path, f"{path}/booking-link", {}).status_code == 303
    assert signed.get(f"/book/{old_token}").status_code == 404
    db.session.expire_all()
    assert signed.get(f"/book/{db.session.get(Customer, customer.id).booking_token}").status_code == 200
    edited = _post(signed, path, path, {**form, "name": "Acme SA", "backup_agent": "", "active": "on"})
    assert edited.status_code == 303
    db.session.expire_all()
    again = db.session.get(Customer, customer.id)
    assert again.name == "Acme SA" and again.backup_agent_id is None and again.active


def test_cancel_on_the_customers_behalf_mails_the_reason(app, signed, admin, make_customer):
    _post(signed, "/admin/agents", "/admin/agents", NEW_AGENT)
    acme = make_customer("camille", name="Acme")
    body = {
        "token": acme["booking_token"],
        "start": "2026-12-01T10:00:00+01:00",
        "duration": 30,
        "topic": "help",
        "name": "Alice Dupont",
        "email": "alice@customer.example",
    }
    booking = signed.post("/api/bookings", json=body).get_json()
    listed = signed.get("/admin/bookings?agent=camille&status=confirmed&lang=en").get_data(as_text=True)
    assert "Alice Dupont" in listed and "Cancel on the customer" in listed
    no_reason = _post(signed, "/admin/bookings", f"/admin/bookings/{booking['id']}/cancel", {"reason": " "})
    assert no_reason.status_code == 400
    sent = len(app.extensions["booking.mailer"].sent)
    reason = "Camille is ill; we will call you to find a new time."
    done = _post(signed, "/admin/bookings", f"/admin/bookings/{booking['id']}/cancel", {"reason": reason})
    assert done.status_code == 303
    done.close()
    mails = app.extensions["booking.mailer"].sent[sent:]
    to_contact = [m for m in mails if m["To"] == "alice@customer.example"]
    assert len(to_contact) == 1
    assert reason in to_contact[0].get_body(preferencelist=("plain",)).get_content()
    cancelled = signed.get("/api/bookings?status=cancelled", headers=admin).get_json()["bookings"]
    assert [b["id"] for b in cancelled] == [booking["id"]]


def test_audit_page_shows_page_and_api_actions(signed, admin):
    _post(signed, "/admin/agents", "/admin/agents", NEW_AGENT)
    password = "s3cret-pass"
    assert signed.patch("/api/agents/camille", json={"name": "Camille M."}, headers=admin).status_code == 200
    signed.put(
        "/api/agents/camille/calendar",
        json={"url": "http://127.0.0.1:9/cal/", "username": "c", "password": password},
        headers=admin,
    )
    html = signed.get("/admin/audit").get_data(as_text=True)
    assert "create_agent" in html and "agent:boss" in html
    assert "update_agent" in html and "api" in html
    assert password not in html
    assert all(password not in str(e.details) for e in db.session.query(AuditEntry))


def test_unknown_ids_and_bad_filters_are_friendly_pages(signed):
    for path in ("/admin/agents/nobody", "/admin/customers/999"):
        response = signed.get(path)
        assert response.status_code == 404 and response.mimetype == "text/html", path
    backwards = signed.get("/admin/bookings?from=2026-12-05&to=2026-12-01&lang=en")
    assert backwards.status_code == 400 and 'id="form-error"' in backwards.get_data(as_text=True)
    assert 'value="2026-12-05"' in backwards.get_data(as_text=True)  # the filter is kept
    missing = _post(signed, "/admin/agents", "/admin/bookings/999/cancel", {"reason": "x"})
    assert missing.status_code == 404 and missing.mimetype == "text/html"


def test_calendar_connect_and_test_connection_against_radicale(signed, radicale):
    """A real CalDAV server: a wrong password is refused on the page (form kept, nothing stored),
    the right one connects, and "Test connection" runs a sync pass whose status the page shows."""
    _post(signed, "/admin/agents", "/admin/agents", NEW_AGENT)
    form = {"url": radicale.collection_url, "username": radicale.username}
    wrong = _post(signed, "/admin/agents/camille", "/admin/agents/camille/calendar", {**form, "password": "nope"})
    assert wrong.status_code == 400 and f'value="{radicale.collection_url}"' in wrong.get_data(as_text=True)
    assert db.session.query(Agent).filter_by(slug="camille").one().calendar is None
    right = {**form, "password": radicale.password}
    assert _post(signed, "/admin/agents/camille", "/admin/agents/camille/calendar", right).status_code == 303
    tested = _post(signed, "/admin/agents/camille", "/admin/agents/camille/calendar/test", {})
    assert tested.status_code == 303
    page = signed.get("/admin/agents/camille?lang=en").get_data(as_text=True)
    assert "Last sync" in page and " · ok" in page
    assert radicale.password not in page
    actions = [e.action for e in db.session.query(AuditEntry).order_by(AuditEntry.id)]
    assert actions[-2:] == ["connect_calendar", "test_calendar"]


def test_agent_form_creates_and_edits_language_buffer_and_daily_cap(signed):
    """The form edits what ``PATCH /api/agents`` edits (issue 18's fields), with the API's checks."""
    created = _post(
        signed,
        "/admin/agents",
        "/admin/agents",
        {**NEW_AGENT, "language": "fr", "buffer_minutes": "10", "max_calls_per_day": "0"},
    )
    assert created.status_code == 303
    agent = db.session.query(Agent).filter_by(slug="camille").one()
    assert (agent.language, agent.buffer_minutes, agent.max_calls_per_day) == ("fr", 10, 0)
    page = signed.get("/admin/agents/camille").get_data(as_text=True)
    assert 'name="buffer_minutes" value="10"' in page and 'name="max_calls_per_day" value="0"' in page
    assert '<option value="fr" selected>' in page
    details = {
        **{k: v for k, v in NEW_AGENT.items() if k != "slug"},
        "active": "on",
        "language": "en",
        "buffer_minutes": "15",
        "max_calls_per_day": "",  # empty: BOOKING_MAX_CALLS_PER_DAY again
    }
    assert _post(signed, "/admin/agents/camille", "/admin/agents/camille", details).status_code == 303
    db.session.expire_all()
    agent = db.session.query(Agent).filter_by(slug="camille").one()
    assert (agent.language, agent.buffer_minutes, agent.max_calls_per_day) == ("en", 15, None)
    for field, typed, message in (
        ("buffer_minutes", "500", "buffer_minutes must be a whole number from 0 to 240"),
        ("buffer_minutes", "ten", "buffer_minutes must be a whole number from 0 to 240"),
        ("max_calls_per_day", "101", "max_calls_per_day must be a whole number from 0 to 100"),
        ("language", "de", "language must be &#39;en&#39; or &#39;fr&#39;"),
    ):
        bad = _post(signed, "/admin/agents/camille", "/admin/agents/camille", {**details, field: typed, "lang": "en"})
        html = bad.get_data(as_text=True)
        assert bad.status_code == 400 and message in html, (field, typed)
        if field != "language":
            assert f'name="{field}" value="{typed}"' in html  # what was typed comes back
        refused = _post(signed, "/admin/agents", "/admin/agents", {**NEW_AGENT, "slug": "dana", field: typed})
        assert refused.status_code == 400 and message in refused.get_data(as_text=True), (field, typed)
    db.session.expire_all()
    agent = db.session.query(Agent).filter_by(slug="camille").one()
    assert (agent.language, agent.buffer_minutes, agent.max_calls_per_day) == ("en", 15, None)
    assert db.session.query(Agent).filter_by(slug="dana").count() == 0
