"""The console's customers and bookings pages (issue 14, item 3); see ``booking.routes.admin_pages``.

Customers: create, edit (dedicated and backup agent, plan and add-on, phones, e-mails, active), the
booking link with copy and rotate. Bookings: list with filters, and "cancel on the customer's
behalf" with a reason that the contact's cancellation mail carries (the customer's own cancel
service and outbox mail, called with the booking's manage token).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import lazy_gettext as _l

from booking import clock, links
from booking.extensions import db
from booking.models import Agent, Booking
from booking.routes.admin_pages import admin_only, checkbox, log, render
from booking.routes.common import clean_text, external_url, settings
from booking.services import booking_search, bookings, directory
from booking.services.errors import ServiceError
from booking.vocabulary import BookingKind, BookingStatus, Plan

bp = Blueprint("admin_customers", __name__, url_prefix="/admin")

_LINES = re.compile(r"[\r\n,;]+")
MAX_REASON = 1000


def _lines(raw: str) -> list[str]:
    return [part.strip() for part in _LINES.split(raw) if part.strip()]


def customer_form() -> dict[str, Any]:
    form = request.form
    return {
        "name": form.get("name", ""),
        "plan": form.get("plan", ""),
        "dedicated_support": checkbox("dedicated_support"),
        "agent": form.get("agent", "").strip() or None,
        "backup_agent": form.get("backup_agent", "").strip() or None,
        "phones": _lines(form.get("phones", "")),
        "emails": _lines(form.get("emails", "")),
        "active": checkbox("active"),
    }


def _choices() -> dict[str, Any]:
    return {"plans": list(Plan), "agents": [a for a in directory.list_agents(db.session) if a.active]}


def _customers_page(
    admin: Agent, status: int = 200, form: dict[str, Any] | None = None, error: str | None = None
) -> Any:
    blank = {"plan": Plan.ALL_INCLUSIVE, "dedicated_support": True, "phones": [], "emails": [], "active": True}
    return render(
        "admin/customers.html",
        admin,
        status,
        customers=directory.list_customers(db.session),
        form=form or blank,
        error=error,
        **_choices(),
    )


@bp.route("/customers", methods=["GET", "POST"])
@admin_only
def customers(admin: Agent) -> Any:
    """Every customer, and the form to add one."""
    if request.method == "GET":
        return _customers_page(admin)
    form = customer_form()
    try:
        customer = directory.create_customer(
            db.session,
            name=form["name"],
            plan=form["plan"],
            dedicated_support=form["dedicated_support"],
            agent_slug=form["agent"],
            phones=form["phones"],
            emails=form["emails"],
            phone_region=settings().phone_region,
            backup_agent_slug=form["backup_agent"],
        )
    except ServiceError as exc:
        return _customers_page(admin, exc.status, form, exc.message)
    log(admin, "create_customer", f"customer:{customer.id}", form)
    return redirect(url_for("admin_customers.customer", customer_id=customer.id, notice="created"), code=303)


def _customer_page(
    admin: Agent, customer_id: int, status: int = 200, form: dict[str, Any] | None = None, error: str | None = None
) -> Any:
    customer = directory.customer_by_id(db.session, customer_id)  # 404 page
    current = {
        "name": customer.name,
        "plan": customer.plan,
        "dedicated_support": customer.dedicated_support,
        "agent": customer.agent.slug if customer.agent else None,
        "backup_agent": customer.backup_agent.slug if customer.backup_agent else None,
        "phones": [p.e164 for p in customer.phones],
        "emails": [e.email for e in customer.emails],
        "active": customer.active,
    }
    return render(
        "admin/customer.html",
        admin,
        status,
        customer=customer,
        form=form or current,
        error=error,
        booking_url=external_url(links.book_path(customer)) if customer.eligible else None,
        **_choices(),
    )


@bp.route("/customers/<int(max=2147483647):customer_id>", methods=["GET", "POST"])
@admin_only
def customer(admin: Agent, customer_id: int) -> Any:
    if request.method == "GET":
        return _customer_page(admin, customer_id)
    form = customer_form()
    try:
        directory.update_customer(db.session, customer_id, form, clock.now(), phone_region=settings().phone_region)
    except ServiceError as exc:
        db.session.rollback()
        return _customer_page(admin, customer_id, exc.status, form, exc.message)
    log(admin, "update_customer", f"customer:{customer_id}", form)
    return redirect(url_for("admin_customers.customer", customer_id=customer_id, notice="saved"), code=303)


@bp.post("/customers/<int(max=2147483647):customer_id>/booking-link")
@admin_only
def rotate_link(admin: Agent, customer_id: int) -> Any:
    """A new booking link; the old one answers 404 at once."""
    directory.rotate_booking_token(db.session, customer_id)
    log(admin, "rotate_booking_link", f"customer:{customer_id}")
    target = url_for("admin_customers.customer", customer_id=customer_id, notice="rotated", _anchor="link")
    return redirect(target, code=303)


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        return None


@bp.get("/bookings")
@admin_only
def bookings_list(admin: Agent) -> Any:
    """Calls and callback reservations, filtered by agent, status and days (business zone)."""
    args = request.args
    filters = {
        "agent": args.get("agent") or None,
        "status": args.get("status") if args.get("status") in list(BookingStatus) else None,
        "from": _day(args.get("from")),
        "to": _day(args.get("to")),
    }
    return _bookings_page(admin, filters)


def _bookings_page(
    admin: Agent, filters: dict[str, Any], status: int = 200, error: str | None = None, failed: int | None = None
) -> Any:
    found: list[Booking] = []
    try:
        found = booking_search.find(
            db.session,
            settings(),
            agent_slug=filters["agent"],
            status=filters["status"],
            start=filters["from"],
            end=filters["to"],
        )
    except ServiceError as exc:
        status, error = exc.status, exc.message
    now = clock.now()
    return render(
        "admin/bookings.html",
        admin,
        status,
        found=found,
        filters=filters,
        error=error,
        failed=failed,
        statuses=list(BookingStatus),
        agents=directory.list_agents(db.session),
        cancellable=lambda b: b.kind == BookingKind.CALL and b.status == BookingStatus.CONFIRMED and b.start_at > now,
    )


@bp.post("/bookings/<int(max=2147483647):booking_id>/cancel")
@admin_only
def cancel_booking(admin: Agent, booking_id: int) -> Any:
    """Cancel on the customer's behalf: the reason is required and goes into the contact's mail."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.kind != BookingKind.CALL:
        abort(404)
    reason = clean_text(request.form.get("reason", ""), multiline=True)
    filters = {"agent": None, "status": None, "from": None, "to": None}
    if not reason or len(reason) > MAX_REASON:
        message = str(_l("Please give a reason (at most 1000 characters): it is sent to the contact."))
        return _bookings_page(admin, filters, 400, message, booking_id)
    try:
        bookings.cancel(db.session, booking_id, booking.manage_token, clock.now(), reason=reason)
    except ServiceError as exc:
        return _bookings_page(admin, filters, exc.status, exc.message, booking_id)
    log(admin, "cancel_booking", f"booking:{booking_id}", {"reason": reason, "customer_id": booking.customer_id})
    return redirect(url_for("admin_customers.bookings_list", notice="cancelled"), code=303)
