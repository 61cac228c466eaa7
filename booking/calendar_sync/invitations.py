"""A booking as an iCalendar object: the e-mail invitation (METHOD) and the CalDAV copy (no METHOD).

One mapping for both, so the contact's calendar and the agent's calendar hold the same UID, times and
SEQUENCE: a reschedule (SEQUENCE+1) or a cancel updates the existing event instead of adding one.
"""

from __future__ import annotations

from datetime import datetime

from booking import links
from booking.calendar_sync.ics import EventSpec, build_calendar
from booking.config import Settings
from booking.models import Booking
from booking.vocabulary import CALLBACK_TOPIC, BookingKind, BookingStatus, Topic

# English names in the calendar event; the customer pages use booking.i18n's translated ones.
TOPIC_LABELS: dict[str, str] = {
    Topic.HELP: "Help",
    Topic.TRAINING: "Feature training",
    Topic.SETUP_CHANGES: "Setup changes",
    CALLBACK_TOPIC: "Callback",
}


def event_spec(booking: Booking, settings: Settings, *, manage_link: bool = False) -> EventSpec:
    """The event; ``manage_link`` adds the customer's manage URL (their own invitation only).

    The CalDAV copy and the agent's feed leave it out: they live on servers and in apps outside the
    service, and the link changes or cancels the customer's call (issue 12).
    """
    customer = booking.customer
    topic = TOPIC_LABELS.get(booking.topic, booking.topic)
    if booking.kind == BookingKind.CALLBACK:
        summary = f"Callback: {customer.name if customer else booking.contact_name}"
    else:
        summary = f"{topic} call: {customer.name} with {booking.agent.name}"
    description_lines = [f"Topic: {topic}", f"Contact: {booking.contact_name} <{booking.contact_email}>"]
    if booking.notes:
        description_lines += ["", booking.notes]
    url = None
    if manage_link and settings.public_url and booking.kind == BookingKind.CALL:
        url = links.absolute(settings.public_url, links.manage_path(booking))
    return EventSpec(
        uid=booking.uid,
        sequence=booking.sequence,
        start=booking.start_at,
        end=booking.end_at,
        summary=summary,
        description="\n".join(description_lines),
        organizer_name=booking.agent.name,
        organizer_email=booking.agent.email,
        attendee_name=booking.contact_name,
        attendee_email=booking.contact_email,
        status="CANCELLED" if booking.status == BookingStatus.CANCELLED else "CONFIRMED",
        url=url,
        booking_id=booking.id,
    )


def invitation_ics(booking: Booking, settings: Settings, now: datetime, alarm_minutes: int = 15) -> bytes:
    """METHOD:REQUEST while confirmed, METHOD:CANCEL once cancelled (same UID)."""
    method = "CANCEL" if booking.status == BookingStatus.CANCELLED else "REQUEST"
    spec = event_spec(booking, settings, manage_link=True)
    return build_calendar(spec, method=method, alarm_minutes=alarm_minutes, now=now)


def calendar_object_ics(booking: Booking, settings: Settings, now: datetime) -> bytes:
    """The object stored in the agent's CalDAV collection (RFC 4791: no METHOD property)."""
    return build_calendar(event_spec(booking, settings), method=None, now=now)
