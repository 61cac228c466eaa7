"""The customer's HTML pages: book a call, the confirmation, and the manage page (reschedule, cancel).

Thin like the JSON API: parse the form, call ``booking.services.bookings``, render. Every page answers
its POST at the same URL as its GET, so a re-rendered page (slot just taken, a form error) keeps a
working address and language switch. Pages work without JavaScript: the slot filters are a GET form,
the booking a plain POST with a CSRF token and a per-render idempotency key (a double submit books once).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from flask import Blueprint, Response, make_response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from booking import clock, links
from booking.calendar_sync.invitations import how_the_call_happens
from booking.db_faults import AnswerFromMemory
from booking.extensions import db
from booking.i18n import (
    TOPIC_LABELS,
    booking_zone,
    current_locale,
    format_day,
    format_time,
    format_when_zoned,
    listed_zone,
)
from booking.models import Agent, Booking, Customer
from booking.routes import month_picker
from booking.routes.common import clean_text, external_url, settings
from booking.routes.month_picker import Picker, parse_day, parse_month
from booking.services import bookings, coverage, validation
from booking.services.availability import open_calls, parse_zone
from booking.services.errors import BookingLimitReached, Conflict, InvalidInput, SlotUnavailable, TooLate
from booking.vocabulary import BookingStatus, CallMethod, Topic
from booking.zones import zone_options

bp = Blueprint("pages", __name__)

DURATIONS = (30, 60)
TZ_COOKIE = "tz"
MAX_NOTES = 2000


# --------------------------------------------------------------------------- #
# Slot picker
# --------------------------------------------------------------------------- #


def visitor_zone() -> tuple[ZoneInfo, str]:
    """The zone to show times in: an explicit choice, the remembered one, else the business zone.

    A zone we cannot read falls back to the business zone instead of an error page: the visitor can
    still book, and the page says which zone it shows.
    """
    candidates = (
        ("form" if request.method == "POST" else "query", request.values.get("tz")),
        ("cookie", request.cookies.get(TZ_COOKIE)),
    )
    for source, name in candidates:
        if name:
            try:
                return listed_zone(parse_zone(name, settings())), source
            except InvalidInput:
                continue
    return settings().timezone, "default"


def requested_duration(default: int = DURATIONS[0], allowed: tuple[int, ...] = DURATIONS) -> int:
    raw = request.values.get("duration", "")
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) in allowed else default


def build_picker(
    agent: Agent,
    tz: ZoneInfo,
    tz_source: str,
    duration: int,
    chosen: str,
    now: datetime,
    exclude_booking_id: int | None = None,
    customer: Customer | None = None,
    customer_id: int | None = None,
) -> Picker:
    """The month picker for this request's ``?month=`` / ``?day=`` (see ``booking.routes.month_picker``).

    ``customer`` given (booking): the dedicated agent's slots and the backup's while they are away."""
    return month_picker.build_picker(
        db.session,
        settings(),
        agent,
        tz,
        tz_source,
        duration,
        month=parse_month(request.values.get("month")),
        day=parse_day(request.values.get("day")),
        chosen=parse_start(chosen),
        now=now,
        exclude_booking_id=exclude_booking_id,
        customer=customer,
        customer_id=customer_id,
    )


# --------------------------------------------------------------------------- #
# Forms
# --------------------------------------------------------------------------- #


def parse_start(raw: str | None) -> datetime | None:
    """A slot value as posted (an ISO instant with offset); ``None`` when missing or naive."""
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


@dataclass
class BookingForm:
    """The booking form's fields as typed, and its errors (localized, per field)."""

    start: str = ""
    topic: str = Topic.HELP
    name: str = ""
    email: str = ""
    notes: str = ""
    phone: str = ""
    call_method: str = CallMethod.PHONE
    idempotency_key: str = field(default_factory=lambda: str(uuid.uuid4()))
    errors: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_request(cls) -> BookingForm:
        form = request.form
        return cls(
            start=form.get("start", ""),
            topic=form.get("topic", Topic.HELP),
            name=clean_text(form.get("name", "")),
            email=clean_text(form.get("email", "")),
            notes=clean_text(form.get("notes", ""), multiline=True),
            phone=clean_text(form.get("phone", ""))[:40],
            call_method=form.get("call_method", CallMethod.PHONE),
            idempotency_key=form.get("idempotency_key", "")[:200] or str(uuid.uuid4()),
        )

    def validate(self) -> datetime | None:
        """Fill ``errors``; return the chosen start when everything is usable."""
        start = parse_start(self.start)
        if start is None:
            self.errors["start"] = _l("Please choose a time.")
        if self.topic not in TOPIC_LABELS:
            self.errors["topic"] = _l("Please choose what the call is about.")
        if not self.name:
            self.errors["name"] = _l("Please enter your name.")
        elif len(self.name) > 200:
            self.errors["name"] = _l("Please shorten your name to 200 characters.")
        try:
            self.email = validate_email(self.email, check_deliverability=False).normalized
        except EmailNotValidError:
            self.errors["email"] = _l("Please enter an e-mail address such as name@company.com.")
        if len(self.notes) > MAX_NOTES:
            self.errors["notes"] = _l("Please shorten your notes to %(n)d characters.", n=MAX_NOTES)
        video = settings().video_url_template is not None
        if self.call_method not in (CallMethod.PHONE, CallMethod.VIDEO) or (
            self.call_method == CallMethod.VIDEO and not video
        ):
            self.errors["call_method"] = _l("Please choose how the call happens.")
        # Left empty: the customer's first known number (bookings.contact_details) is the one called.
        if self.phone:
            try:
                self.phone = validation.phone(self.phone, settings().phone_region)
            except InvalidInput:
                self.errors["phone"] = _l("Please enter a phone number such as +33 6 12 34 56 78.")
        return None if self.errors else start


def page(template: str, status: int = 200, **context: Any) -> Response:
    """Render a customer page: never cached (each render carries a fresh idempotency key and CSRF
    token, so the back button shows a new form instead of replaying an old one), zone remembered."""
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    picker: Picker | None = context.get("picker")
    if picker is not None and picker.tz_source in ("query", "form"):
        response.set_cookie(TZ_COOKIE, picker.tz_name, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def initials(name: str) -> str:
    """« Camille Martin » → « CM »: the agent's avatar when there is no photo."""
    words = [w for w in name.replace("-", " ").split() if w[:1].isalpha()]
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


def describe(booking: Booking) -> dict[str, Any]:
    """What the confirmation and manage pages show about a booking, in the contact's zone (named)."""
    tz = booking_zone(booking.contact_timezone, settings().timezone)
    return {
        "when": format_when_zoned(booking.start_at, booking.end_at, tz),
        "how": how_the_call_happens(booking, settings()),
        "minutes": int((booking.end_at - booking.start_at).total_seconds() // 60),
        "topic": TOPIC_LABELS.get(booking.topic, booking.topic),
        "ics_url": links.invite_path(booking),
        "manage_url": url_for("pages.manage", booking_id=booking.id, token=booking.manage_token),
        "manage_url_external": external_url(links.manage_path(booking)),
    }


def away_notice(cover: coverage.Coverage, tz: ZoneInfo, now: datetime, picker: Picker) -> dict[str, Any] | None:
    """What the booking page says when the dedicated agent is away in the month shown (issue 14, item 4).

    ``until`` is the end of the first absence shown (None: deactivated); ``backup`` who takes the calls.
    """
    assert cover.dedicated is not None
    backup = cover.backup.name if cover.backup else None
    if cover.deactivated:
        return {"name": cover.dedicated.name, "until": None, "backup": backup}
    shown_end = datetime.combine(month_picker.add_months(picker.month, 1), datetime.min.time(), tz)
    shown_start = max(now, datetime.combine(picker.month, datetime.min.time(), tz))
    period = next(((s, e) for s, e in cover.away if e > shown_start and s < shown_end), None)
    if period is None:
        return None
    local = period[1].astimezone(tz)
    until = f"{format_day(local.date(), with_year=True)}, {format_time(period[1], tz)}"
    return {"name": cover.dedicated.name, "until": until, "backup": backup}


# --------------------------------------------------------------------------- #
# Views
# --------------------------------------------------------------------------- #


@bp.route("/book/<token>", methods=["GET", "POST"])
def book(token: str) -> Any:
    """The booking page: the named agent, free slots in the visitor's zone, the form."""
    customer = bookings.customer_by_token(db.session, token)  # 404 page for an unknown link
    now = clock.now()
    cover = bookings.serving(db.session, customer, now)  # 403 page without the add-on
    agent = cover.dedicated
    assert agent is not None  # serving() refuses a customer without one
    tz, tz_source = visitor_zone()
    duration = requested_duration()
    status, notice = 200, None
    form = BookingForm()
    if request.method == "POST":
        form = BookingForm.from_request()
        start = form.validate()
        status = 400
        if start is not None:
            req = bookings.BookingRequest(
                token=token,
                start=start,
                duration_minutes=duration,
                topic=form.topic,
                name=form.name,
                email=form.email,
                notes=form.notes or None,
                locale=current_locale(),
                idempotency_key=form.idempotency_key,
                timezone=tz.key,
                phone=form.phone or None,
                call_method=form.call_method,
            )
            try:
                # Committed means redirected to the confirmation, even if the database goes away now.
                with AnswerFromMemory(db.session) as memory:
                    result = bookings.book(db.session, settings(), req, now)
                    memory.restore()
                    target = url_for(
                        "pages.confirmation",
                        booking_id=result.booking.id,
                        token=result.booking.manage_token,
                        tz=tz.key,
                    )
            except SlotUnavailable:
                status, notice, form.start = 409, "taken", ""
            except BookingLimitReached:
                status, notice, form.start = 409, "limit", ""
            except Conflict:  # this form already booked a different time: offer a fresh form
                status, notice, form.start = 409, "form_used", ""
                form.idempotency_key = str(uuid.uuid4())
            else:
                return redirect(target, code=303)
    if request.method == "GET":
        form.start = request.args.get("start", "")  # the "first available" link preselects its slot
        if customer.phones:
            form.phone = customer.phones[0].e164  # prefilled: the number the customer is known by
    picker = build_picker(agent, tz, tz_source, duration, form.start, now, customer=customer)
    return page(
        "book.html",
        status,
        agent=agent,
        away=away_notice(cover, tz, now, picker),
        customer=customer,
        picker=picker,
        form=form,
        notice=notice,
        topics=TOPIC_LABELS,
        filter_hidden={},
        initials=initials(agent.name),
        zone_groups=zone_options(current_locale(), now),
        region_labels=month_picker.REGION_LABELS,
        durations=DURATIONS,
        video_offered=settings().video_url_template is not None,
        limit_reached=not picker.days and _capped(customer.id, now),
    )


def _capped(customer_id: int, now: datetime) -> bool:
    """The customer holds BOOKING_MAX_OPEN_BOOKINGS_PER_CUSTOMER upcoming calls: say so, not "no slots"."""
    cap = settings().max_open_bookings_per_customer
    return bool(cap) and open_calls(db.session, customer_id, now) >= cap


@bp.get("/bookings/<int(max=2147483647):booking_id>/confirmation")
def confirmation(booking_id: int) -> Any:
    """Right after booking: the summary, "Add to calendar" (.ics) and the manage link."""
    booking = bookings.get_managed(db.session, booking_id, request.args.get("token"))
    if booking.status != BookingStatus.CONFIRMED:
        return redirect(url_for("pages.manage", booking_id=booking.id, token=booking.manage_token), code=303)
    return page(
        "confirmation.html",
        booking=booking,
        agent=booking.agent,
        initials=initials(booking.agent.name),
        info=describe(booking),
    )


@bp.route("/bookings/<int(max=2147483647):booking_id>/manage", methods=["GET", "POST"])
def manage(booking_id: int) -> Any:
    """See the call, move it to another offered slot, or cancel it — until it starts."""
    token = request.values.get("token")
    booking = bookings.get_managed(db.session, booking_id, token)  # 404 / 403 pages
    now = clock.now()
    tz, tz_source = visitor_zone()
    if tz_source == "default" and booking.contact_timezone:  # the zone the call was booked in
        tz = listed_zone(booking_zone(booking.contact_timezone, tz))
    current_minutes = int((booking.end_at - booking.start_at).total_seconds() // 60)
    # A call booked through the API may have another length (15-240 min): keep it on offer, and the
    # default, so moving it from this page never silently shortens it.
    durations = tuple(sorted({*DURATIONS, current_minutes}))
    duration = requested_duration(current_minutes, durations)
    status, notice, errors = 200, request.args.get("done"), {}
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "cancel":
                booking, _ = bookings.cancel(db.session, booking_id, token, now)
                return redirect(url_for("pages.manage", booking_id=booking_id, token=token, done="cancelled"), 303)
            if action == "reschedule":
                start = parse_start(request.form.get("start"))
                if start is None:
                    status, notice, errors = 400, None, {"start": _l("Please choose a time.")}
                else:
                    new_zone = tz.key if tz_source == "form" else None  # a zone chosen on the page moves with it
                    booking, _ = bookings.reschedule(
                        db.session, settings(), booking_id, token, start, duration, now, new_zone
                    )
                    target = url_for("pages.manage", booking_id=booking_id, token=token, done="rescheduled")
                    return redirect(target, 303)
            else:
                status, notice = 400, None
        except SlotUnavailable:
            status, notice = 409, "taken"
        except TooLate:
            status, notice = 409, "too_late"
        except Conflict:  # moving a cancelled call
            status, notice = 409, "cancelled_already"
        booking = bookings.get_managed(db.session, booking_id, token)
    too_late = booking.start_at <= now
    changeable = booking.status == BookingStatus.CONFIRMED and not too_late
    picker = (
        build_picker(
            booking.agent,
            tz,
            tz_source,
            duration,
            request.values.get("start", ""),
            now,
            booking.id,
            customer_id=booking.customer_id,
        )
        if changeable
        else None
    )
    return page(
        "manage.html",
        status,
        booking=booking,
        agent=booking.agent,
        initials=initials(booking.agent.name),
        info=describe(booking),
        picker=picker,
        notice=notice,
        errors=errors,
        too_late=too_late,
        changeable=changeable,
        filter_hidden={"token": booking.manage_token},
        zone_groups=zone_options(current_locale(), now),
        region_labels=month_picker.REGION_LABELS,
        durations=durations,
        chosen_start=request.values.get("start", "") if status == 200 else "",
        book_again_url=url_for("pages.book", token=booking.customer.booking_token),
    )
