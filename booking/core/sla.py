"""The VIP SLA table (product.md) turned into due times.

Severity 1-2 targets are wall-clock hours ("critical outages do not wait for
Monday"); severity 3-5 targets count business time only, on the business
calendar. All due times are returned in UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import IntEnum

from booking.core.business_time import BusinessCalendar
from booking.core.intervals import to_utc


class Severity(IntEnum):
    """Ticket/call severity, 1 (worst) to 5, as defined in the VIP SLA."""

    CRITICAL = 1
    """Service down or unavailable; the customer's business operations are
    interrupted and no workaround exists."""
    HIGH = 2
    """Major performance degradation: services run but so degraded that use is
    significantly impacted."""
    STANDARD = 3
    """Partial loss of service affecting the customer's business (e.g. new
    e-mails not fetched, one integration not working)."""
    BUG = 4
    """A non-critical bug (e.g. one rule condition does not work)."""
    REQUEST = 5
    """Configuration consultation, feature suggestion, any other question
    (e.g. setting up automation rules)."""

    @property
    def label(self) -> str:
        """Human label as in the SLA table, e.g. ``"1 Critical"``."""
        return f"{self.value} {_LABELS[self]}"

    @property
    def definition(self) -> str:
        """The SLA table's definition of this severity (for pages and e-mails)."""
        return _DEFINITIONS[self]

    @property
    def wall_clock(self) -> bool:
        """True when targets run on the wall clock rather than business time."""
        return self <= Severity.HIGH


_LABELS = {
    Severity.CRITICAL: "Critical",
    Severity.HIGH: "High",
    Severity.STANDARD: "Standard",
    Severity.BUG: "Bug fixes",
    Severity.REQUEST: "Requests",
}

_DEFINITIONS = {
    Severity.CRITICAL: (
        "Service down or unavailable; the customer's business operations are interrupted and no workaround exists."
    ),
    Severity.HIGH: ("Major performance degradation: services run but so degraded that use is significantly impacted."),
    Severity.STANDARD: (
        "Partial loss of service affecting the customer's business (e.g. new e-mails "
        "not fetched, one integration not working)."
    ),
    Severity.BUG: "A non-critical bug (e.g. one rule condition does not work).",
    Severity.REQUEST: (
        "Configuration consultation, feature suggestion, any other question (e.g. setting up automation rules)."
    ),
}

WALL_CLOCK_RESPONSE = timedelta(hours=1)
WALL_CLOCK_FOLLOWUP = timedelta(hours=4)
STANDARD_RESPONSE = timedelta(hours=2)  # business time
STANDARD_FOLLOWUP_DAYS = 2  # business days
LOW_RESPONSE_DAYS = 1  # business days, severity 4-5
LOW_FOLLOWUP_DAYS = 1  # business days, severity 4-5: internal cadence, not in the SLA


def response_due(severity: Severity | int, received_at: datetime, calendar: BusinessCalendar) -> datetime:
    """Initial-response deadline.

    1-2: received + 1 h wall clock. 3: + 2 business hours.
    4-5: + 1 business day (see ``BusinessCalendar.add_business_days``).
    """
    severity = Severity(severity)
    received_at = to_utc(received_at)
    if severity.wall_clock:
        return received_at + WALL_CLOCK_RESPONSE
    if severity == Severity.STANDARD:
        return calendar.add_business_time(received_at, STANDARD_RESPONSE)
    return calendar.add_business_days(received_at, LOW_RESPONSE_DAYS)


def followup_is_contractual(severity: Severity | int) -> bool:
    """Whether product.md states a follow-up target for this severity.

    It does for 1-3 only; for 4-5 it says "the dedicated agent handles all
    communication" without a time, so :func:`followup_due` returns an
    internal cadence there, which must not be shown to customers as a promise.
    """
    return Severity(severity) <= Severity.STANDARD


def followup_due(severity: Severity | int, received_at: datetime, calendar: BusinessCalendar) -> datetime:
    """Follow-up deadline, counted from ``received_at``.

    1-2: + 4 h wall clock. 3: + 2 business days (both from the SLA table).
    4-5: the SLA gives no follow-up time ("keeps the customer informed"), so
    this returns an *internal* cadence of 1 business day — keeping the
    ``datetime`` return type callers rely on; see
    :func:`followup_is_contractual`.
    """
    severity = Severity(severity)
    received_at = to_utc(received_at)
    if severity.wall_clock:
        return received_at + WALL_CLOCK_FOLLOWUP
    if severity == Severity.STANDARD:
        return calendar.add_business_days(received_at, STANDARD_FOLLOWUP_DAYS)
    return calendar.add_business_days(received_at, LOW_FOLLOWUP_DAYS)


def callback_due(severity: Severity | int, received_at: datetime, calendar: BusinessCalendar) -> datetime:
    """When a voicemail must be called back.

    1-2: received + 1 h wall clock, day or night (critical outages do not wait
    for Monday). 3-5: while the line is open, the standard response target
    (+ 2 business hours) when that falls before today's close (the close
    itself included); after hours, the next opening — the product promises
    a callback "for the next business day's opening" for voicemails left while
    closed, which is stricter than 2 business hours from that opening.

    An in-hours target that would spill past today's close is due at the next
    opening instead (issue 10 item 14): otherwise a voicemail at 16:59:59 was
    due the next day at 10:59:59 while one at 17:00:00 was due at 09:00, and a
    later voicemail of the same severity must never be due earlier. With this
    rule the due time never decreases as ``received_at`` grows.
    """
    severity = Severity(severity)
    received_at = to_utc(received_at)
    if severity.wall_clock:
        return received_at + WALL_CLOCK_RESPONSE
    if calendar.is_open(received_at):
        target = response_due(Severity.STANDARD, received_at, calendar)
        _, closes = calendar.day_opening(received_at.astimezone(calendar.tz).date())
        return target if target <= closes else calendar.next_opening(closes)
    return calendar.next_opening(received_at)
