"""Reminder e-mails: the contact hears about their call again the day before.

The job runs every few minutes and queues ``booking.reminder`` for each confirmed call starting
within ``LEAD`` (24 h). The outbox key carries the booking's SEQUENCE, so each booking gets one
reminder per version: a call moved after its reminder was sent is reminded again at its new time, and
running the job any number of times (or in several workers) queues nothing twice. Calls booked less
than ``LEAD`` before they start get no reminder: their confirmation is still fresh.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.db_guards import write_transaction
from booking.models import Booking
from booking.services import outbox
from booking.vocabulary import BookingKind, BookingStatus

EVENT_REMINDER = "booking.reminder"
LEAD = timedelta(hours=24)


def due_for_reminder(booking: Booking, now: datetime) -> bool:
    """Confirmed call, starting within LEAD from now, booked (or last moved) at least LEAD before it starts."""
    return (
        booking.kind == BookingKind.CALL
        and booking.status == BookingStatus.CONFIRMED
        and now < booking.start_at <= now + LEAD
        and booking.updated_at <= booking.start_at - LEAD
    )


def queue_reminders(session: Session, now: datetime) -> int:
    """Queue the reminders that are due; returns how many outbox rows were created."""
    with write_transaction(session):  # reads then writes: take the SQLite write lock up front
        candidates = session.scalars(
            select(Booking).where(
                Booking.kind == BookingKind.CALL,
                Booking.status == BookingStatus.CONFIRMED,
                Booking.start_at > now,
                Booking.start_at <= now + LEAD,
            )
        ).all()
        created = 0
        for booking in candidates:
            if not due_for_reminder(booking, now):
                continue
            payload = {"booking_id": booking.id, "sequence": booking.sequence}
            key = f"{booking.uid}:{booking.sequence}:reminder"
            created += len(outbox.emit(session, EVENT_REMINDER, payload, key, now))
    return created
