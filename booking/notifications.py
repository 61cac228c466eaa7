"""E-mails sent from the outbox after the commit (never inside the transaction): about a booking, and
the agent's sign-in link.

Two handlers, one per recipient, so a failure mailing the agent is retried alone and never sends the
contact a second copy. Each mail carries the booking's invitation (``invitation_ics``: same UID, the
booking's SEQUENCE, METHOD:REQUEST or CANCEL), so the contact's calendar client adds, moves or
removes one and the same event. The contact reads it in the language they booked in, with times in their own zone
(named: « New York, UTC-05:00 »); the agent's copy in the agent's language and zone (issue 18).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import render_template
from flask_babel import force_locale, gettext
from sqlalchemy.orm import Session

from booking import links
from booking.calendar_sync.invitations import how_the_call_happens, invitation_ics
from booking.config import Settings
from booking.effects import Context
from booking.i18n import DEFAULT_LOCALE, LOCALES, TOPIC_LABELS, booking_zone, format_when, zone_label
from booking.mail import Attachment, Mail
from booking.models import Agent, Booking
from booking.services import agent_auth
from booking.services.bookings import EVENT_CANCELLED
from booking.services.reminders import EVENT_REMINDER, due_for_reminder
from booking.vocabulary import BookingKind, BookingStatus

CONTACT_HANDLER = "email.booking_contact"
AGENT_HANDLER = "email.booking_agent"
SIGN_IN_HANDLER = "email.agent_sign_in"


def message_id(ctx: Context) -> str | None:
    """One Message-ID per outbox row: a copy sent twice (a worker killed mid-send) is recognisably one."""
    if not ctx.ref:
        return None
    domain = ctx.settings.mail_from.rsplit("@", 1)[-1] or "booking"
    return f"<outbox.{ctx.ref}@{domain}>"


def _load(session: Session, payload: dict[str, Any]) -> Booking | None:
    """The booking to write about, or None when this mail has been overtaken.

    A confirmation or update still waiting in the outbox after the call was cancelled must not go out
    (the cancellation mail tells the whole story), and callbacks are not mailed to anyone.
    """
    booking = session.get(Booking, payload["booking_id"])
    if booking is None or booking.kind != BookingKind.CALL:
        return None
    if payload.get("event") != EVENT_CANCELLED and booking.status == BookingStatus.CANCELLED:
        return None
    return booking


def _current_reminder(session: Session, payload: dict[str, Any], now: datetime) -> Booking | None:
    """A reminder goes out only while it is still true: same version of the booking, call still ahead."""
    booking = _load(session, payload)
    if booking is None or booking.sequence != payload.get("sequence"):
        return None
    return booking if due_for_reminder(booking, now) else None


def _context(
    kind: str,
    booking: Booking,
    event: str,
    tz: ZoneInfo,
    base: str | None,
    settings: Settings,
    reason: str | None = None,
) -> dict[str, Any]:
    return {
        "reason": reason,  # an admin cancelled on the customer's behalf (issue 14)
        "event": event.rsplit(".", 1)[-1],  # confirmed | rescheduled | cancelled | reminder
        "booking": booking,
        "agent": booking.agent,
        "customer": booking.customer,
        "when": format_when(booking.start_at, booking.end_at, tz),
        "zone": zone_label(tz, booking.start_at),
        "how": how_the_call_happens(booking, settings, for_contact=kind == "contact"),
        "minutes": int((booking.end_at - booking.start_at).total_seconds() // 60),
        "topic": TOPIC_LABELS.get(booking.topic, booking.topic),
        "manage_url": links.absolute(base, links.manage_path(booking)),
        "book_url": links.absolute(base, links.book_path(booking.customer)),
    }


def _invitation(booking: Booking, settings: Settings, now: datetime, *, for_contact: bool = True) -> Attachment:
    method = "CANCEL" if booking.status == BookingStatus.CANCELLED else "REQUEST"
    body = invitation_ics(booking, settings, now, for_contact=for_contact)
    return Attachment("invitation.ics", body, params={"method": method})


def _subject(kind: str, event: str, ctx: dict[str, Any]) -> str:
    agent, customer, when = ctx["agent"].name, ctx["customer"].name, f"{ctx['when']} ({ctx['zone']})"
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


def _render(
    kind: str,
    booking: Booking,
    event: str,
    tz: ZoneInfo,
    locale: str,
    base: str | None,
    settings: Settings,
    reason: str | None = None,
) -> tuple[str, str, str]:
    with force_locale(locale):
        ctx = _context(kind, booking, event, tz, base, settings, reason)
        subject = _subject(kind, ctx["event"], ctx)
        text = render_template(f"email/{kind}.txt", **ctx)
        html = render_template(f"email/{kind}.html", subject=subject, lang=locale, **ctx)
    return subject, text, html


def mail_contact(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    """The contact's confirmation / update / cancellation / reminder, with the invitation attached."""
    session, settings = ctx.session, ctx.settings
    if payload["event"] == EVENT_REMINDER:
        booking = _current_reminder(session, payload, now)
    else:
        booking = _load(session, payload)
    if booking is None:
        return
    locale = booking.locale if booking.locale in LOCALES else DEFAULT_LOCALE
    base = payload.get("base_url") or settings.public_url
    tz = booking_zone(booking.contact_timezone, settings.timezone)
    reason = payload.get("reason")
    subject, text, html = _render("contact", booking, payload["event"], tz, locale, base, settings, reason)
    ctx.adapters.mailer.send(
        Mail(
            to=[booking.contact_email],
            subject=subject,
            text=text,
            html=html,
            attachments=[_invitation(booking, settings, now)],
            reply_to=booking.agent.email,
            from_name=booking.agent.name,
            message_id=message_id(ctx),
        )
    )


def mail_agent(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    """The agent's copy: who booked, why, their notes; same invitation so the event is the same one."""
    booking = _load(ctx.session, payload)
    if booking is None:
        return
    settings = ctx.settings
    tz = ZoneInfo(booking.agent.timezone)
    base = payload.get("base_url") or settings.public_url
    locale = booking.agent.language if booking.agent.language in LOCALES else DEFAULT_LOCALE
    reason = payload.get("reason")
    subject, text, html = _render("agent", booking, payload["event"], tz, locale, base, settings, reason)
    ctx.adapters.mailer.send(
        Mail(
            to=[booking.agent.email],
            subject=subject,
            text=text,
            html=html,
            attachments=[_invitation(booking, settings, now, for_contact=False)],
            reply_to=booking.contact_email,
            message_id=message_id(ctx),
        )
    )


def sign_in_mail(agent: Agent, link: str, locale: str, message_id: str | None = None) -> Mail:
    """The mail with the link, in the language the agent used on the sign-in page."""
    with force_locale(locale):
        subject = gettext("Your sign-in link for the dedicated support dashboard")
        context = {"agent": agent, "link": link, "minutes": int(agent_auth.LINK_LIFETIME.total_seconds() // 60)}
        text = render_template("email/sign_in.txt", **context)
        html = render_template("email/sign_in.html", subject=subject, lang=locale, **context)
    return Mail(to=[agent.email], subject=subject, text=text, html=html, message_id=message_id)


def send_sign_in_link(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    """Sign the link now (it is never stored) and mail it, unless it would arrive already dead."""
    issued_at = datetime.fromisoformat(payload["issued_at"])
    if now - issued_at > agent_auth.LINK_LIFETIME:
        return
    agent = ctx.session.get(Agent, int(payload["agent_id"]))
    if agent is None or not agent.active or agent.sign_in_nonce != payload["nonce"]:
        return
    token = agent_auth.make_token(ctx.adapters.secret_key, agent.id, payload["nonce"], issued_at)
    link = links.absolute(payload["base_url"], links.sign_in_path(token))
    ctx.adapters.mailer.send(sign_in_mail(agent, link, payload.get("locale") or "fr", message_id(ctx)))
