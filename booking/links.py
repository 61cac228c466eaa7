"""Every URL the service hands out, built in one place.

Paths are built here from the objects they point at, so a route, a mail and a calendar object can
never disagree about where a booking is managed. Absolute links need a base: in a request it is
``BOOKING_PUBLIC_URL`` (or, in development on loopback only, the request's own root); in a job or an
outbox handler there is no request, so the base travels in the outbox payload (``base_url``), taken
when the row was queued. ``current_base`` is that request-time value, set by the composition root's
``before_request`` hook and read by ``outbox.emit``; services never read the request themselves.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from booking.models import Agent, Booking, Customer

_base: ContextVar[str | None] = ContextVar("booking_links_base", default=None)


def set_base(base: str | None) -> None:
    """Remember the trusted base URL of the work in progress (a request, or a job: the public URL)."""
    _base.set(base.rstrip("/") if base else None)


def current_base() -> str | None:
    return _base.get()


def absolute(base: str | None, path: str) -> str:
    """``base + path``; a relative link only when nothing trustworthy is known (never a foreign host)."""
    return f"{(base or '').rstrip('/')}{path}"


def manage_path(booking: Booking) -> str:
    return f"/bookings/{booking.id}/manage?token={booking.manage_token}"


def confirmation_path(booking: Booking) -> str:
    return f"/bookings/{booking.id}/confirmation?token={booking.manage_token}"


def invite_path(booking: Booking) -> str:
    return f"/api/bookings/{booking.id}/invite.ics?token={booking.manage_token}"


def book_path(customer: Customer) -> str:
    return f"/book/{customer.booking_token}"


def feed_path(agent: Agent) -> str:
    return f"/agents/{agent.slug}/calendar.ics?key={agent.feed_key}"


def sign_in_path(token: str) -> str:
    return f"/agent/sign-in/{token}"


def request_thread_path(request_id: int) -> str:
    """The agent's page of one request: its e-mail thread and the reply form (issue 15)."""
    return f"/agent/requests/{request_id}"


def chat_widget_path() -> str:
    return "/chat/widget.js"
