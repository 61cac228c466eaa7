"""Issue 12 item 3: Unicode line breaks and control characters in names.

U+2028, U+2029 and U+0085 passed the API's old pattern (it only knew C0 controls); every e-mail with
such a name in a header then failed on each of its 12 retries. Each entry point is checked here: the
JSON API refuses (400), the forms normalise, the CLI refuses with one line, and the mail layer
normalises whatever still gets through (old rows, other sources).
"""

from __future__ import annotations

import unicodedata

import pytest

from booking.mail import Mail, build_message
from booking.text import has_unsafe_chars, multiline, one_line
from tests.pages.forms import hidden

BREAKERS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1e", "\r\n", "\x9b", "\x7f"]


def test_every_cc_zl_zp_character_is_unsafe():
    unsafe = {chr(i) for i in range(0x110000) if unicodedata.category(chr(i)) in ("Cc", "Zl", "Zp")}
    assert all(has_unsafe_chars(c) for c in unsafe)
    assert not any(has_unsafe_chars(chr(i)) for i in range(0x110000) if chr(i) not in unsafe)
    # Everything str.splitlines (the e-mail header folder) breaks on is among them.
    assert {chr(i) for i in range(0x3000) if len(f"a{chr(i)}b".splitlines()) > 1} <= unsafe


def test_normalisers():
    assert one_line("Alice\u2028Bcc: x@evil.example\x85 \r\n Dupont\x00") == "Alice Bcc: x@evil.example Dupont"
    assert one_line("10:00\u202fAM\u2009–\u200910:30\u202fAM") == "10:00\u202fAM\u2009–\u200910:30\u202fAM"
    assert multiline("one\u2028two\r\nthree\x85four\u2029five\x00\tsix") == "one\ntwo\nthree\nfour\nfive\tsix"


@pytest.fixture
def customer(make_agent, make_customer, frozen):
    return make_customer(make_agent()["slug"])


@pytest.mark.parametrize("breaker", BREAKERS)
def test_api_refuses_names_with_line_breaks(client, admin, customer, breaker):
    name = f"Alice{breaker}Bcc: x@evil.example"
    booking = {
        "token": customer["booking_token"],
        "start": "2026-12-01T10:00:00+01:00",
        "topic": "help",
        "name": name,
        "email": "alice@customer.example",
    }
    for path, body, headers in (
        ("/api/bookings", booking, {}),
        ("/api/customers", {"name": name, "plan": "standard"}, admin),
        ("/api/agents", {"slug": "z", "name": name, "email": "z@example.com", "phone": "+33140009999"}, admin),
        ("/api/customers", {"name": "Acme", "plan": f"gold{breaker}x"}, admin),
    ):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 400, (path, response.get_json())
        assert response.get_json()["error"]["code"] == "invalid_request"


def test_booking_form_normalises_names(client, customer):
    from booking.extensions import db
    from booking.models import Booking

    url = f"/book/{customer['booking_token']}"
    html = client.get(url).get_data(as_text=True)
    response = client.post(
        url,
        data={
            "csrf_token": hidden(html, "csrf_token"),
            "idempotency_key": hidden(html, "idempotency_key"),
            "start": "2026-12-01T09:00:00+00:00",
            "topic": "help",
            "name": "Alice\u2028Bcc: x@evil.example\x85Dupont",
            "email": "alice@customer.example",
            "notes": "line one\u2029line two\x9b",
        },
    )
    assert response.status_code == 303
    booking = db.session.query(Booking).one()
    assert booking.contact_name == "Alice Bcc: x@evil.example Dupont"
    assert booking.notes == "line one\nline two"


def test_cli_refuses_names_with_line_breaks(app, make_agent):
    agent = make_agent()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["customer", "add", "--name", "Acme\u2028Corp", "--agent", agent["slug"]])
    assert result.exit_code != 0
    assert "name must be one line" in result.output and result.output.strip().count("\n") == 0
    result = runner.invoke(
        args=["agent", "add", "--slug", "z", "--name", "Z\x85", "--email", "z@example.com", "--phone", "+33140009999"]
    )
    assert result.exit_code != 0 and "name must be one line" in result.output


def test_service_refuses_what_the_routes_did_not_clean(app, customer):
    from datetime import datetime

    from booking.extensions import db
    from booking.services import bookings
    from booking.services.errors import InvalidInput

    req = bookings.BookingRequest(
        token=customer["booking_token"],
        start=datetime.fromisoformat("2026-12-01T10:00:00+01:00"),
        duration_minutes=None,
        topic="help",
        name="Alice\u2028Dupont",
        email="alice@customer.example",
    )
    with pytest.raises(InvalidInput):
        bookings.book(
            db.session, app.extensions["booking.settings"], req, datetime.fromisoformat("2026-11-30T08:00+01:00")
        )


@pytest.mark.parametrize("breaker", BREAKERS)
def test_mail_headers_are_normalised_instead_of_failing_forever(breaker):
    mail = Mail(
        to=[f"alice@customer.example{breaker}"],
        subject=f"Your call with Camille{breaker}Martin",
        text="body",
        from_name=f"Camille{breaker}Martin",
        reply_to=f"camille@vendor.example{breaker}",
    )
    msg = build_message(mail, "booking@vendor.example")
    raw = msg.as_bytes()  # serialises: no header injection, no ValueError
    assert str(msg["Subject"]) == "Your call with Camille Martin"
    assert str(msg["From"]) == "Camille Martin <booking@vendor.example>"
    assert b"\r\nBcc" not in raw
