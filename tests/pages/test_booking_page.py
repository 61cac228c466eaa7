"""The booking page without JavaScript: plain GET/POST with the Flask test client, CSRF token from the form."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from booking.extensions import db
from booking.models import Booking
from tests.pages.forms import hidden, slot_values

SLOT = "2026-12-01T09:00:00+00:00"  # Tuesday 10:00 Paris


def _form(client, token, **query):
    response = client.get(f"/book/{token}", query_string=query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _post(client, token, html, **fields):
    data = {
        "csrf_token": hidden(html, "csrf_token"),
        "idempotency_key": hidden(html, "idempotency_key"),
        "tz": hidden(html, "tz"),
        "duration": hidden(html, "duration"),
        "start": SLOT,
        "topic": "training",
        "name": "Alice Dupont",
        "email": "alice@customer.example",
        "notes": "SSO questions",
    }
    data.update(fields)
    return client.post(f"/book/{token}", data=data)


def test_page_shows_the_named_agent_and_slots_grouped_by_day(client, customer):
    html = _form(client, customer["booking_token"], lang="en", month="2026-12")
    assert '<html lang="en">' in html
    assert "Camille Martin" in html and "Your dedicated support agent" in html and ">CM<" in html
    assert "Tuesday, December 1" in html
    slots = slot_values(html)
    assert SLOT in slots
    assert min(slots) >= "2026-12-01" and max(slots) < "2027-01-01"  # the month shown
    assert "Times are shown in Europe/Paris (UTC+01:00)." in html
    today = slot_values(_form(client, customer["booking_token"], lang="en"))  # the default: this month
    assert min(today) == "2026-11-30T08:00:00+00:00"  # min notice: nothing before 09:00 Paris today
    assert max(today) < "2026-12-01"


def test_french_from_accept_language_with_times_in_the_visitors_zone(client, customer):
    response = client.get(
        f"/book/{customer['booking_token']}?tz=America/Montreal&month=2026-12",
        headers={"Accept-Language": "fr-CA,fr;q=0.9"},
    )
    html = response.get_data(as_text=True)
    assert '<html lang="fr">' in html
    assert "Réserver un appel avec Camille Martin" in html
    assert "Votre agent de support dédié" in html
    assert "mardi 1 décembre" in html
    # Montreal is a tzdata alias of Toronto: the list holds canonical zones only (issue 18 item 4).
    assert "America/Toronto (UTC-05:00)" in html
    assert re.search(r'<option [^>]*value="America/Toronto" selected>Toronto, Montréal', html)
    # 10:00 Paris is 04:00 in Montréal: the label shows the visitor's wall time, the value the instant.
    assert f'value="{SLOT}"' in html and "04:00" in html
    assert response.headers["Set-Cookie"].startswith("tz=America/Toronto")


def test_language_switch_is_remembered_in_a_cookie(client, customer):
    url = f"/book/{customer['booking_token']}"
    first = client.get(url, query_string={"lang": "en"}, headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in first.get_data(as_text=True)
    assert "lang=en" in first.headers["Set-Cookie"]
    again = client.get(url, headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in again.get_data(as_text=True)
    assert f'href="/book/{customer["booking_token"]}?lang=fr"' in again.get_data(as_text=True)


def test_plain_form_post_books_and_redirects_to_the_confirmation(client, customer):
    html = _form(client, customer["booking_token"], lang="en")
    response = _post(client, customer["booking_token"], html)
    assert response.status_code == 303
    confirmation = client.get(response.headers["Location"])
    page = confirmation.get_data(as_text=True)
    assert confirmation.status_code == 200
    assert "Your call is booked" in page
    assert "Tuesday, December 1, 2026, 10:00" in page
    booking = db.session.query(Booking).one()
    assert (booking.topic, booking.contact_name, booking.notes, booking.locale) == (
        "training",
        "Alice Dupont",
        "SSO questions",
        "en",
    )
    assert f"/api/bookings/{booking.id}/invite.ics?token={booking.manage_token}" in page
    assert f"http://booking.test/bookings/{booking.id}/manage?token={booking.manage_token}" in page
    ics = client.get(f"/api/bookings/{booking.id}/invite.ics?token={booking.manage_token}")
    assert ics.mimetype == "text/calendar" and b"METHOD:REQUEST" in ics.data


def test_double_submit_of_the_same_form_books_once(client, customer):
    html = _form(client, customer["booking_token"])
    first = _post(client, customer["booking_token"], html)
    second = _post(client, customer["booking_token"], html)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.query(Booking).count() == 1


def test_sixty_minute_calls(client, customer):
    html = _form(client, customer["booking_token"], duration=60, day="2026-12-01")
    assert "2026-12-01T15:00:00+00:00" in slot_values(html)  # 16:00-17:00 Paris fits before closing
    assert "2026-12-01T15:30:00+00:00" not in slot_values(html)  # 16:30-17:30 would not
    response = _post(client, customer["booking_token"], html, start="2026-12-01T15:00:00+00:00")
    assert response.status_code == 303
    booking = db.session.query(Booking).one()
    assert booking.end_at - booking.start_at == timedelta(minutes=60)


def test_slot_taken_meanwhile_gives_a_friendly_page_with_fresh_slots(client, customer):
    html_a = _form(client, customer["booking_token"], lang="en")
    html_b = _form(client, customer["booking_token"], lang="en")
    assert _post(client, customer["booking_token"], html_a).status_code == 303
    response = _post(client, customer["booking_token"], html_b, name="Bob Martin")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "That time was just taken" in page
    assert SLOT not in slot_values(page) and slot_values(page)
    assert 'value="Bob Martin"' in page  # the visitor's details are kept
    assert db.session.query(Booking).count() == 1


def test_form_errors_are_shown_next_to_the_fields(client, customer):
    html = _form(client, customer["booking_token"], lang="en")
    response = _post(client, customer["booking_token"], html, start="", name="", email="not-an-address")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Please check the form" in page
    assert "Please choose a time." in page and "Please enter your name." in page
    assert 'id="email-error"' in page and 'aria-invalid="true"' in page
    assert db.session.query(Booking).count() == 0


def test_post_without_csrf_token_is_refused_with_a_friendly_page(client, customer):
    html = _form(client, customer["booking_token"], lang="en")
    response = _post(client, customer["booking_token"], html, csrf_token="")
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert db.session.query(Booking).count() == 0


def test_unknown_token_and_not_eligible_customer_get_friendly_pages(client, customer, make_customer):
    unknown = client.get("/book/not-a-token", headers={"Accept-Language": "fr"})
    assert unknown.status_code == 404
    page = unknown.get_data(as_text=True)
    assert "Ce lien de réservation n’est pas valide" in page and 'class="site-header"' in page
    from booking.models import Customer

    basic = make_customer(None, plan="standard")
    token = db.session.get(Customer, basic["id"]).booking_token
    refused = client.get(f"/book/{token}", headers={"Accept-Language": "en"})
    assert refused.status_code == 403
    assert "not part of your plan" in refused.get_data(as_text=True)


def test_api_errors_stay_json(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404 and response.is_json
    page = client.get("/nothing-here", headers={"Accept-Language": "en"})
    assert page.status_code == 404 and "Page not found" in page.get_data(as_text=True)


def test_month_links_page_through_the_horizon(client, customer):
    html = _form(client, customer["booking_token"], lang="en")
    assert 'id="previous-month"' not in html  # nothing before this month
    assert "month=2026-12#next-month" in html and "Next month" in html
    december = _form(client, customer["booking_token"], lang="en", month="2026-12")
    assert "month=2026-11#previous-month" in december and "month=2027-01#next-month" in december
    assert "2026-12-25T09:00:00+00:00" not in slot_values(december)  # Christmas is a holiday
    assert '<span class="day-off">25</span>' in december
    january = _form(client, customer["booking_token"], lang="en", month="2027-01")
    assert max(slot_values(january)) < "2027-01-30"  # the 60-day horizon ends on 29 January
    assert 'id="next-month"' not in january
    # Beyond the horizon, before today or unreadable: the nearest month that can be shown.
    assert slot_values(_form(client, customer["booking_token"], month="2027-05")) == slot_values(january)
    assert slot_values(_form(client, customer["booking_token"], month="2020-01")) == slot_values(
        _form(client, customer["booking_token"])
    )
    assert _form(client, customer["booking_token"], month="2026-13", day="nope")


def test_a_used_form_sent_again_for_another_time_gets_a_fresh_form(client, customer):
    html = _form(client, customer["booking_token"], lang="en")
    assert _post(client, customer["booking_token"], html).status_code == 303
    again = _post(client, customer["booking_token"], html, start="2026-12-01T10:00:00+00:00")
    page = again.get_data(as_text=True)
    assert again.status_code == 409 and "This form was already used" in page
    assert hidden(page, "idempotency_key") != hidden(html, "idempotency_key")
    assert db.session.query(Booking).count() == 1


def test_zone_hint_names_both_offsets_when_the_slots_straddle_a_dst_change(client, customer, frozen):
    frozen(datetime(2026, 3, 23, 7, 0, tzinfo=UTC))  # Monday 23 March, 08:00 Paris (winter time)
    html = client.get(f"/book/{customer['booking_token']}?lang=en").get_data(as_text=True)
    hint = re.search(r'id="zone-hint">([^<]+)<', html).group(1)
    assert "UTC+01:00 / UTC+02:00" in hint  # slots from 30 March are on summer time
    frozen(datetime(2026, 4, 6, 7, 0, tzinfo=UTC))
    html = client.get(f"/book/{customer['booking_token']}?lang=en").get_data(as_text=True)
    assert re.search(r'id="zone-hint">[^<]*\(UTC\+02:00\)', html)


def test_control_characters_in_a_crafted_post_are_dropped_not_stored(client, customer):
    """CR/LF in a name would break the confirmation's headers (NUL is refused before: see below)."""
    token = customer["booking_token"]
    html = _form(client, token)
    response = _post(client, token, html, name="Alice\r\nBcc: x@evil.example\x07", notes="line 1\r\nline 2\x07")
    assert response.status_code == 303
    booking = db.session.query(Booking).one()
    assert booking.contact_name == "Alice Bcc: x@evil.example"
    assert booking.notes == "line 1\nline 2"


def test_odd_input_on_html_routes_gets_friendly_pages_not_500s(client, customer):
    token = customer["booking_token"]
    assert client.get(f"/book/{token}?duration=%C2%B2").status_code == 200  # "²" is a digit to str.isdigit
    assert client.get(f"/bookings/{10**20}/manage?token=x").status_code == 404  # beyond any id
    assert client.get(f"/bookings/{10**20}/confirmation?token=x").status_code == 404
    for url in ("/book/abc%00def", f"/book/{token}?tz=Europe%00", "/agents/a%00b/calendar.ics?key=k"):
        response = client.get(url)
        assert response.status_code == 400 and response.mimetype == "text/html", url
    html = _form(client, token)
    assert _post(client, token, html, idempotency_key="k\x00y").status_code == 400
