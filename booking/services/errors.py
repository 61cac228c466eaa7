"""Errors that services raise and routes turn into a status code and a JSON (or HTML) error.

Services never import Flask; they raise one of these with a stable machine ``code`` (part of the
public API: clients branch on it) and a human message.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 400
    code = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class InvalidInput(ServiceError):
    status = 400
    code = "invalid_request"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotEligible(ServiceError):
    """The customer's plan has no dedicated support (All-inclusive + add-on only)."""

    status = 403
    code = "not_eligible"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class SlotUnavailable(Conflict):
    code = "slot_unavailable"


class TooLate(Conflict):
    code = "too_late"


class TooManyOpenBookings(ServiceError):
    """The customer already has ``BOOKING_MAX_OPEN_BOOKINGS`` upcoming calls (a leaked link's damage cap)."""

    status = 409
    code = "too_many_open_bookings"


class BookingLimitReached(Conflict):
    """The customer holds ``BOOKING_MAX_OPEN_BOOKINGS_PER_CUSTOMER`` upcoming calls (issue 18 item 7)."""

    code = "booking_limit_reached"
