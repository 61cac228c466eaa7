"""Issue 10 item 12: what the service sends must be read the same by every client.

The feed is a METHOD:PUBLISH (no ATTENDEE, RFC 5546), the mailed calendar part
declares its charset, and a name with a double quote is written without RFC
6868 escapes (vobject, ics.py and libical show ``^'`` literally).
"""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import icalendar

from booking.calendar_sync.ics import EventSpec, build_calendar, build_feed
from booking.mail import Attachment, Mail, build_message

from ._support import PARIS

NOW = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)


def spec(**over: object) -> EventSpec:
    fields: dict[str, object] = {
        "uid": "booking-9@booking.example",
        "sequence": 0,
        "start": datetime(2026, 10, 26, 9, 0, tzinfo=PARIS),
        "end": datetime(2026, 10, 26, 9, 30, tzinfo=PARIS),
        "summary": "Support call",
        "description": "Contact: Zoé Müller <zoe@customer.example>",
        "organizer_name": "Agent Smith",
        "organizer_email": "agent@booking.example",
        "attendee_name": "Zoé Müller",
        "attendee_email": "zoe@customer.example",
        "booking_id": 9,
    }
    fields.update(over)
    return EventSpec(**fields)  # type: ignore[arg-type]


def test_feed_publish_carries_no_attendee_but_invitations_still_do() -> None:
    feed = build_feed([spec()], now=NOW, name="Agent")
    assert b"ATTENDEE" not in feed
    (event,) = icalendar.Calendar.from_ical(feed).walk("VEVENT")
    assert str(event["ORGANIZER"]) == "mailto:agent@booking.example"  # PUBLISH requires the organizer
    assert b"ATTENDEE" in build_calendar(spec(), "REQUEST", now=NOW)
    assert b"ATTENDEE" in build_calendar(spec(), now=NOW)  # the CalDAV copy too


def test_name_with_double_quote_is_written_without_rfc6868_escapes() -> None:
    data = build_calendar(spec(attendee_name='Jo "JJ" Doe', organizer_name="Ann\nLee"), "REQUEST", now=NOW)
    unfolded = data.replace(b"\r\n ", b"")
    assert b"^'" not in unfolded and b"^n" not in unfolded
    assert b"CN=Jo 'JJ' Doe" in unfolded or b"CN=\"Jo 'JJ' Doe\"" in unfolded
    (event,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert event["ATTENDEE"].params["CN"] == "Jo 'JJ' Doe"
    assert event["ORGANIZER"].params["CN"] == "Ann Lee"


def test_mailed_calendar_part_declares_utf8_so_accents_survive_a_standard_decoder() -> None:
    ics = build_calendar(spec(), "REQUEST", now=NOW)
    mail = Mail(
        to=["zoe@customer.example"],
        subject="Invitation",
        text="See the invitation.",
        attachments=[Attachment("invitation.ics", ics, params={"method": "REQUEST"})],
    )
    raw = build_message(mail, "booking@booking.example").as_bytes()
    received = email.message_from_bytes(raw, policy=email.policy.default)
    part = next(p for p in received.walk() if p.get_content_type() == "text/calendar")
    assert part.get_param("charset") == "utf-8"
    assert part.get_param("method") == "REQUEST"
    text = part.get_content()  # str, decoded with the declared charset
    assert "Zoé Müller" in text.replace("\r\n ", "")
