"""Connect and disconnect an agent's CalDAV calendar; build the client for a stored connection.

Split from the sync pass (:mod:`booking.calendar_sync.sync`) because it is the admin's use case,
not the scheduler's: the server is checked before anything is stored, credentials are encrypted at
rest, and a (re)connected calendar gets every upcoming booking pushed through the outbox.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from booking.calendar_sync.dav import CalDAVClient, CalendarConnectionError, CalendarError, Limits
from booking.calendar_sync.secrets import decrypt_password, encrypt_password
from booking.config import Settings
from booking.db_guards import write_transaction
from booking.models import Agent, Booking, BusyBlock, CalendarConnection, RemoteEvent
from booking.services import outbox, schedule
from booking.services.errors import InvalidInput

__all__ = [
    "EVENT_CALENDAR_CONNECTED",
    "CalendarCheckFailed",
    "client_for",
    "connect_calendar",
    "disconnect_calendar",
    "reset_remote_state",
]

#: Outbox event queued per upcoming booking when a calendar is (re)connected; only the CalDAV push
#: subscribes to it (re-using ``booking.confirmed`` would re-send the customers' confirmations).
EVENT_CALENDAR_CONNECTED = "calendar.connected"

#: calendar connect answers an admin's request: its one PROPFIND gets 15 s in all, not the sync's 60
_CHECK_LIMITS = Limits(connect_timeout=5.0, read_timeout=15.0, deadline=15.0)


class CalendarCheckFailed(InvalidInput):
    """PUT calendar: the server refused or could not be reached; the message is the server's reason."""

    code = "calendar_check_failed"


def client_for(conn: CalendarConnection, settings: Settings, limits: Limits | None = None) -> CalDAVClient:
    """A client for the stored connection (password decrypted only in memory, only for this pass).

    Without ``limits``, the transport's defaults (a 60 s deadline and 50 MiB per request).
    """
    password = decrypt_password(settings.secret_key, conn.password_encrypted)
    return CalDAVClient(conn.url, conn.username, password, limits=limits or Limits())


def reset_remote_state(session: Session, agent_id: int) -> None:
    """Forget what was pulled from the agent's calendar: its objects and their busy blocks."""
    session.execute(delete(RemoteEvent).where(RemoteEvent.agent_id == agent_id))
    session.execute(delete(BusyBlock).where(BusyBlock.agent_id == agent_id, BusyBlock.source == "caldav"))


def connect_calendar(
    session: Session, settings: Settings, agent: Agent, url: str, username: str, password: str, now: datetime
) -> tuple[CalendarConnection, list[int]]:
    """Check the collection, then store it with the password encrypted; returns (connection, outbox ids).

    The check comes first so a typo never replaces a working configuration. A different URL or user
    is another calendar: the previous one's busy blocks and sync state are dropped. Every upcoming
    confirmed booking is queued for a push, so the new calendar holds the bookings made before it was
    connected too (the caller drains the returned outbox rows after the commit).
    """
    agent_id = agent.id
    session.commit()  # no transaction held open while the server is checked (up to 15 s)
    try:
        client = CalDAVClient(url, username, password, limits=_CHECK_LIMITS)
    except ValueError as exc:
        raise CalendarCheckFailed(str(exc)) from exc
    with client:
        try:
            client.check()
        except CalendarConnectionError as exc:
            raise CalendarCheckFailed(exc.reason) from exc
        except CalendarError as exc:
            raise CalendarCheckFailed(str(exc)) from exc
    with write_transaction(session):
        schedule.lock_agent(session, agent_id)  # may drop the old calendar's busy blocks
        conn = session.scalar(select(CalendarConnection).where(CalendarConnection.agent_id == agent_id))
        if conn is None:
            conn = CalendarConnection(agent_id=agent_id, url=url, username=username, created_at=now)
            session.add(conn)
        elif conn.url != client.collection_url or conn.username != username:
            reset_remote_state(session, agent_id)
            conn.sync_token = None
            conn.last_sync_at = conn.last_sync_status = conn.last_sync_error = None
            conn.last_sync_counts = None
        conn.url = client.collection_url
        conn.username = username
        conn.password_encrypted = encrypt_password(settings.secret_key, password)
        upcoming = session.scalars(
            select(Booking.id).where(Booking.agent_id == agent_id, Booking.status == "confirmed", Booking.end_at > now)
        ).all()
        ids: list[int] = []
        for booking_id in upcoming:
            key = f"{booking_id}:{now.isoformat()}"
            ids += outbox.emit(session, EVENT_CALENDAR_CONNECTED, {"booking_id": booking_id}, key, now)
    session.refresh(agent)
    return conn, ids


def disconnect_calendar(session: Session, agent: Agent) -> bool:
    """Forget the agent's CalDAV calendar: its credentials, sync state and busy blocks.

    Idempotent (False when nothing was connected). Events the service already wrote stay in that
    calendar: it belongs to the agent, and without the connection we may no longer write to it.
    Pending pushes become no-ops (the push handler skips agents without a connection).
    """
    agent_id = agent.id
    with write_transaction(session):
        schedule.lock_agent(session, agent_id)  # drops the calendar's busy blocks
        conn = session.scalar(select(CalendarConnection).where(CalendarConnection.agent_id == agent_id))
        if conn is None:
            return False
        reset_remote_state(session, agent_id)
        session.delete(conn)
    session.refresh(agent)
    return True
