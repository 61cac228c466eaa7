"""Push bookings (calls and callback reservations) to the agent's CalDAV calendar, from the outbox.

The handler pushes the booking's *current* state, not the event that triggered it: outbox rows can
run late and out of order (a retried "confirmed" after a successful "rescheduled"), and writing the
current state makes every run idempotent and order-independent. Confirmed → PUT the VEVENT (same UID,
the booking's SEQUENCE); cancelled → DELETE it.

Preconditions (RFC 4791 5.3.2 / RFC 7232): a create uses ``If-None-Match: *`` and an update
``If-Match`` with the ETag we last saw (kept in ``remote_events``, the same row the sync uses, so
the sync does not re-download what we just wrote). A 412 means the object changed on the server (the
agent moved it in their own client, or our remembered ETag is stale): we re-read it and write the
booking again on the fresh ETag - the booking service is the source of truth for its own events.

Any calendar failure is raised: the outbox keeps the row and retries with back-off, so an outage
never fails or loses a booking, and the push catches up once the server is back. What retrying
cannot fix fails the row at once (:class:`outbox.PermanentError`): the server refusing the object
itself (a 4xx other than auth, missing collection or 412). One such refusal is resolved instead:
Cyrus keeps a UID unique per account, so after the agent switches to another calendar of the same
account the booking's PUT is refused because the previous calendar holds it - the push MOVEs that
object into the connected calendar (the booking follows the agent) and writes its current state.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.calendar_sync.dav import (
    CalendarClient,
    CalendarConflict,
    CalendarRequestError,
    CalendarResponseTooLarge,
    CalendarUidConflict,
)
from booking.calendar_sync.invitations import calendar_object_ics
from booking.config import Settings
from booking.db_guards import write_transaction
from booking.models import Booking, CalendarConnection, RemoteEvent
from booking.services import outbox
from booking.vocabulary import BookingStatus

if TYPE_CHECKING:
    from booking.effects import Context

__all__ = ["HANDLER_NAME", "push_booking", "push_to_caldav"]

log = logging.getLogger(__name__)

HANDLER_NAME = "caldav.push"
_MAX_CONFLICTS = 3


def _remembered(session: Session, agent_id: int, href: str) -> RemoteEvent | None:
    return session.scalar(select(RemoteEvent).where(RemoteEvent.agent_id == agent_id, RemoteEvent.href == href))


def _remember(session: Session, agent_id: int, href: str, uid: str, etag: str | None, now: datetime) -> None:
    """Record (or forget, with ``etag=None``) our object's ETag.

    Its own short write transaction, serialized with a sync pass by the connection row lock (on
    PostgreSQL; SQLite has one writer anyway). If the process dies before this commits, the retry
    writes with a stale ETag, gets 412, re-reads: still correct.
    """
    with write_transaction(session):
        stmt = select(CalendarConnection.id).where(CalendarConnection.agent_id == agent_id)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        session.execute(stmt)
        row = _remembered(session, agent_id, href)
        if etag is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(RemoteEvent(agent_id=agent_id, href=href, etag=etag, uid=uid, updated_at=now))
        else:
            row.etag, row.uid, row.updated_at = etag, uid, now


def push_booking(session: Session, settings: Settings, booking: Booking, client: CalendarClient, now: datetime) -> str:
    """Make the server hold the booking's current state; returns what was done ("put" / "deleted")."""
    agent_id, uid, cancelled = booking.agent_id, booking.uid, booking.status == BookingStatus.CANCELLED
    href = client.href_for(uid)
    row = _remembered(session, agent_id, href)
    etag = row.etag if row is not None else None
    body = None if cancelled else calendar_object_ics(booking, settings, now)
    session.commit()  # no transaction (or SQLite lock) held across the network calls below
    if body is None:
        for _ in range(_MAX_CONFLICTS):
            try:
                client.delete(uid, etag)
                break
            except CalendarConflict:
                current = client.get(uid)
                if current is None:
                    break
                etag = current.etag
        else:
            raise CalendarConflict(href, f"still changing after {_MAX_CONFLICTS} attempts")
        _remember(session, agent_id, href, uid, None, now)
        return "deleted"
    moved = False
    for _ in range(_MAX_CONFLICTS):
        try:
            new_etag = client.put(uid, body, etag)
            break
        except CalendarUidConflict as exc:
            # The account's other calendar (the agent's previous one) holds this booking: it
            # follows the agent, once. Anything else would be refused the same way for ever.
            if moved or exc.existing is None or exc.existing == href:
                raise outbox.PermanentError(
                    f"calendar {client.href_for(uid).rsplit('/', 1)[0]}/ refuses booking {uid}: {exc}; "
                    "delete or move that event in the agent's calendar, then reconnect the calendar"
                ) from exc
            log.info("caldav push %s: UID held by %s; moving it into the connected calendar", uid, exc.existing)
            try:
                client.move(exc.existing, uid)
            except CalendarRequestError as move_exc:
                raise outbox.PermanentError(f"booking {uid}: {exc}; moving it here failed: {move_exc}") from exc
            moved = True
            current = client.get(uid)
            etag = current.etag if current is not None else None
        except CalendarConflict:
            # Re-read: exists (edited elsewhere, or our create's response was lost) → update on
            # its fresh ETag; gone (deleted elsewhere) → create it again.
            current = client.get(uid)
            etag = current.etag if current is not None else None
            log.info("caldav push %s: conflict, retrying on %s", uid, etag or "a fresh create")
    else:
        raise CalendarConflict(href, f"still changing after {_MAX_CONFLICTS} attempts")
    _remember(session, agent_id, href, uid, new_etag, now)
    return "put"


def push_to_caldav(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    """Outbox handler: a no-op for agents without a calendar; raises (→ retry) on calendar errors."""
    session, settings = ctx.session, ctx.settings
    booking = session.get(Booking, payload["booking_id"])
    conn = None
    if booking is not None:
        conn = session.scalar(select(CalendarConnection).where(CalendarConnection.agent_id == booking.agent_id))
    if booking is None or conn is None:
        # End the read transaction: on SQLite (WAL) the outbox's following UPDATE would otherwise try
        # to upgrade a stale read snapshot and fail at once with "database is locked" whenever another
        # request committed meanwhile, instead of waiting for the lock.
        session.commit()
        return
    with ctx.adapters.caldav(conn, settings) as client:
        try:
            push_booking(session, settings, booking, client, now)
        except CalendarResponseTooLarge:
            raise  # retried with back-off like any failure (see dav.errors)
        except CalendarRequestError as exc:
            raise outbox.PermanentError(f"the calendar server refused booking {booking.uid}: {exc}") from exc
