"""A booking as an iCalendar object: the e-mail invitation (METHOD) and the CalDAV copy (no METHOD).

One mapping for both, so the contact's calendar and the agent's calendar hold the same UID, times and
SEQUENCE: a reschedule (SEQUENCE+1) or a cancel updates the existing event instead of adding one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from booking import links
from booking.calendar_sync.ics import EventSpec, build_calendar
from booking.config import Settings
from booking.i18n import DEFAULT_LOCALE, LOCALES, booking_zone, format_when_zoned
from booking.models import Booking
from booking.vocabulary import CALLBACK_TOPIC, BookingKind, BookingStatus, CallMethod, Topic

# Short names in the calendar event (the customer pages use booking.i18n's longer ones), in the
# reader's language: the contact's for their invitation, the agent's for their calendar and feed.
TOPIC_LABELS: dict[str, Any] = {
    Topic.HELP: _l("Help"),
    Topic.TRAINING: _l("Feature training"),
    Topic.SETUP_CHANGES: _l("Setup changes"),
    CALLBACK_TOPIC: _l("Callback"),
}


def video_url(booking: Booking, settings: Settings) -> str | None:
    """The video link of a ``video`` call: BOOKING_VIDEO_URL_TEMPLATE with ``{uid}`` = the UID's
    unique part (the UUID before ``@``), so both sides open the same room for the booking's life."""
    if booking.call_method != CallMethod.VIDEO or not settings.video_url_template:
        return None
    return settings.video_url_template.replace("{uid}", booking.uid.split("@", 1)[0])


def call_location(booking: Booking, settings: Settings) -> str | None:
    """LOCATION of the event: the video link, or the number the agent calls."""
    return video_url(booking, settings) or booking.phone


def how_the_call_happens(booking: Booking, settings: Settings, *, for_contact: bool = True) -> str:
    """One sentence, in the current language, for the .ics description and the e-mails: worded for
    the contact (``for_contact``) or for the agent who makes the call."""
    link = video_url(booking, settings)
    if link:
        return gettext("Video call: join %(url)s at the time of the call.", url=link)
    if for_contact and booking.phone:
        return gettext("%(agent)s calls you on %(phone)s.", agent=booking.agent.name, phone=booking.phone)
    if for_contact:
        return gettext("%(agent)s calls you; reply to the e-mail to give a number.", agent=booking.agent.name)
    if booking.phone:
        return gettext("Call %(name)s on %(phone)s.", name=booking.contact_name, phone=booking.phone)
    return gettext("No phone number given: write to %(email)s for one.", email=booking.contact_email)


def event_spec(booking: Booking, settings: Settings, *, manage_link: bool = False) -> EventSpec:
    """The event; ``manage_link`` makes it the customer's own invitation (with the manage URL).

    The CalDAV copy and the agent's feed leave the link out: they live on servers and in apps outside
    the service, and the link changes or cancels the customer's call (issue 12). The contact's
    invitation is written in the booking's language with times in the contact's zone; the other
    copies in the agent's language and zone (issue 18).
    """
    if manage_link:
        language, tz = booking.locale, booking_zone(booking.contact_timezone, settings.timezone)
    else:
        language, tz = booking.agent.language, booking_zone(booking.agent.timezone, settings.timezone)
    with force_locale(language if language in LOCALES else DEFAULT_LOCALE):
        summary, description = _texts(booking, settings, tz, for_contact=manage_link)
    url = None
    if manage_link and settings.public_url and booking.kind == BookingKind.CALL:
        url = links.absolute(settings.public_url, links.manage_path(booking))
    return EventSpec(
        uid=booking.uid,
        sequence=booking.sequence,
        start=booking.start_at,
        end=booking.end_at,
        summary=summary,
        description=description,
        organizer_name=booking.agent.name,
        organizer_email=booking.agent.email,
        attendee_name=booking.contact_name,
        attendee_email=booking.contact_email,
        status="CANCELLED" if booking.status == BookingStatus.CANCELLED else "CONFIRMED",
        location=call_location(booking, settings) if booking.kind == BookingKind.CALL else None,
        url=url,
        booking_id=booking.id,
    )


def _texts(booking: Booking, settings: Settings, tz: Any, *, for_contact: bool) -> tuple[str, str]:
    """SUMMARY and DESCRIPTION in the active language; times in ``tz``, naming it."""
    customer = booking.customer
    topic = str(TOPIC_LABELS.get(booking.topic, booking.topic))
    if booking.kind == BookingKind.CALLBACK:
        summary = gettext("Callback: %(name)s", name=customer.name if customer else booking.contact_name)
    else:
        summary = gettext(
            "%(topic)s call: %(customer)s with %(agent)s", topic=topic, customer=customer.name, agent=booking.agent.name
        )
    lines = [
        gettext("When: %(when)s", when=format_when_zoned(booking.start_at, booking.end_at, tz)),
        gettext("Topic: %(topic)s", topic=topic),
        gettext("Contact: %(name)s <%(email)s>", name=booking.contact_name, email=booking.contact_email),
    ]
    if booking.kind == BookingKind.CALL:
        lines.append(how_the_call_happens(booking, settings, for_contact=for_contact))
    if booking.notes:
        lines += ["", booking.notes]
    return summary, "\n".join(lines)


def invitation_ics(
    booking: Booking, settings: Settings, now: datetime, alarm_minutes: int = 15, *, for_contact: bool = True
) -> bytes:
    """METHOD:REQUEST while confirmed, METHOD:CANCEL once cancelled (same UID).

    ``for_contact=False``: the copy attached to the agent's e-mail, in the agent's language and zone
    (the same event: UID, SEQUENCE and times are the contact's).
    """
    method = "CANCEL" if booking.status == BookingStatus.CANCELLED else "REQUEST"
    spec = event_spec(booking, settings, manage_link=for_contact)
    return build_calendar(spec, method=method, alarm_minutes=alarm_minutes, now=now)


def calendar_object_ics(booking: Booking, settings: Settings, now: datetime) -> bytes:
    """The object stored in the agent's CalDAV collection (RFC 4791: no METHOD property)."""
    return build_calendar(event_spec(booking, settings), method=None, now=now)
