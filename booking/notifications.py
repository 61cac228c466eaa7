"""E-mails about a booking, sent from the outbox after the commit (never inside the transaction).

Two handlers, one per recipient, so a failure mailing the agent is retried alone and never sends the
contact a second copy. Each mail carries the booking's invitation (``invitation_ics``: same UID, the
booking's SEQUENCE, METHOD:REQUEST or CANCEL), so the contact's calendar client adds, moves or
removes one and the same event. The contact reads it in the language they booked in; times are given in
the business zone (the calendar attachment carries the exact instant for their own client) and the
agent's copy in the agent's zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale, gettext

from booking.calendar_sync.invitations import invitation_ics
from booking.config import Settings
from booking.extensions import db
from booking.i18n import DEFAULT_LOCALE, LOCALES, TOPIC_LABELS, format_when
from booking.mail import Attachment, Mail, Mailer
from booking.models import Booking
from booking.routes.common import mail_base_url
from booking.services import outbox
from booking.services.bookings import EVENT_CANCELLED, EVENT_CONFIRMED, EVENT_RESCHEDULED
from booking.services.reminders import EVENT_REMINDER, due_for_reminder

EVENTS = (EVENT_CONFIRMED, EVENT_RESCHEDULED, EVENT_CANCELLED)
CONTACT_HANDLER = "email.booking_contact"
AGENT_HANDLER = "email.booking_agent"


def _base_url(settings: Settings) -> str:
    """Links in a mail must be absolute: BOOKING_PUBLIC_URL (relative only when nothing is trusted)."""
    return mail_base_url() or ""


def _load(payload: dict[str, Any]) -> Booking | None:
    """The booking to write about, or None when this mail has been overtaken.

    A confirmation or update still waiting in the outbox after the call was cancelled must not go out
    (the cancellation mail tells the whole story), and callbacks are not mailed to anyone.
    """
    booking = db.session.get(Booking, payload["booking_id"])
    if booking is None or booking.kind != "call":
        return None
    if payload.get("event") != EVENT_CANCELLED and booking.status == "cancelled":
        return None
    return booking


def _current_reminder(payload: dict[str, Any], now: datetime) -> Booking | None:
    """A reminder goes out only while it is still true: same version of the booking, call still ahead."""
    booking = _load(payload)
    if booking is None or booking.sequence != payload.get("sequence"):
        return None
    return booking if due_for_reminder(booking, now) else None


def _context(booking: Booking, event: str, tz: ZoneInfo, settings: Settings) -> dict[str, Any]:
    base = _base_url(settings)
    return {
        "event": event.rsplit(".", 1)[-1],  # confirmed | rescheduled | cancelled | reminder
        "booking": booking,
        "agent": booking.agent,
        "customer": booking.customer,
        "when": format_when(booking.start_at, booking.end_at, tz),
        "zone": tz.key,
        "minutes": int((booking.end_at - booking.start_at).total_seconds() // 60),
        "topic": TOPIC_LABELS.get(booking.topic, booking.topic),
        "manage_url": f"{base}/bookings/{booking.id}/manage?token={booking.manage_token}",
        "book_url": f"{base}/book/{booking.customer.booking_token}",
    }


def _invitation(booking: Booking, settings: Settings, now: datetime) -> Attachment:
    method = "CANCEL" if booking.status == "cancelled" else "REQUEST"
    return Attachment("invitation.ics", invitation_ics(booking, settings, now), params={"method": method})


def _subject(kind: str, event: str, ctx: dict[str, Any]) -> str:
    agent, customer, when = ctx["agent"].name, ctx["customer"].name, ctx["when"]
    subjects = {
        ("contact", "confirmed"): gettext("Your call with %(agent)s is booked: %(when)s", agent=agent, when=when),
        ("contact", "rescheduled"): gettext("Your call with %(agent)s has moved: %(when)s", agent=agent, when=when),
        ("contact", "cancelled"): gettext("Cancelled: your call with %(agent)s, %(when)s", agent=agent, when=when),
        ("contact", "reminder"): gettext("Reminder: your call with %(agent)s, %(when)s", agent=agent, when=when),
        ("agent", "confirmed"): gettext("New call booked by %(customer)s: %(when)s", customer=customer, when=when),
        ("agent", "rescheduled"): gettext("Call with %(customer)s moved: %(when)s", customer=customer, when=when),
        ("agent", "cancelled"): gettext("Call with %(customer)s cancelled: %(when)s", customer=customer, when=when),
    }
    return subjects[(kind, event)]


def _render(kind: str, booking: Booking, event: str, tz: ZoneInfo, locale: str) -> tuple[str, str, str]:
    settings: Settings = current_app.extensions["booking.settings"]
    with force_locale(locale):
        ctx = _context(booking, event, tz, settings)
        subject = _subject(kind, ctx["event"], ctx)
        text = render_template(f"email/{kind}.txt", **ctx)
        html = render_template(f"email/{kind}.html", subject=subject, lang=locale, **ctx)
    return subject, text, html


def mail_contact(payload: dict[str, Any], now: datetime) -> None:
    """The contact's confirmation / update / cancellation / reminder, with the invitation attached."""
    booking = _current_reminder(payload, now) if payload["event"] == EVENT_REMINDER else _load(payload)
    if booking is None:
        return
    settings: Settings = current_app.extensions["booking.settings"]
    locale = booking.locale if booking.locale in LOCALES else DEFAULT_LOCALE
    subject, text, html = _render("contact", booking, payload["event"], settings.timezone, locale)
    mailer: Mailer = current_app.extensions["booking.mailer"]
    mailer.send(
        Mail(
            to=[booking.contact_email],
            subject=subject,
            text=text,
            html=html,
            attachments=[_invitation(booking, settings, now)],
            reply_to=booking.agent.email,
            from_name=booking.agent.name,
        )
    )


def mail_agent(payload: dict[str, Any], now: datetime) -> None:
    """The agent's copy: who booked, why, their notes; same invitation so the event is the same one."""
    booking = _load(payload)
    if booking is None:
        return
    settings: Settings = current_app.extensions["booking.settings"]
    subject, text, html = _render("agent", booking, payload["event"], ZoneInfo(booking.agent.timezone), DEFAULT_LOCALE)
    mailer: Mailer = current_app.extensions["booking.mailer"]
    mailer.send(
        Mail(
            to=[booking.agent.email],
            subject=subject,
            text=text,
            html=html,
            attachments=[_invitation(booking, settings, now)],
            reply_to=booking.contact_email,
        )
    )


def register() -> None:
    """Subscribe both mails to every booking event (idempotent: safe for every ``create_app``)."""
    outbox.subscribe(*EVENTS, EVENT_REMINDER, name=CONTACT_HANDLER)(mail_contact)
    outbox.subscribe(*EVENTS, name=AGENT_HANDLER)(mail_agent)
