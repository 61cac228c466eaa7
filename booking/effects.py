"""Side effects, declared once: which handlers an event queues, which jobs run when, and with what.

Services only ``outbox.emit(session, event, payload, key, now)`` inside their transaction. This module
is where anyone can read, in one screen, what each event causes (``SUBSCRIPTIONS``), which function
does it (``HANDLERS``) and which periodic jobs exist (``JOBS``). ``create_app`` builds the adapters
once (``build_adapters``: settings, mailer, SMS sender, CalDAV connector, clock) and every handler
receives them in a ``Context`` with its database session: no handler reads ``request`` or
``current_app``, so ``booking worker`` (which imports no route) runs exactly what ``booking serve``
runs, and a mail's links do not depend on where its row was drained (the base URL is in the payload).

Handler names are stored in ``outbox.handler``: renaming one strands its queued rows, so names stay.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from booking import clock
from booking.calendar_sync import push
from booking.calendar_sync.connection import EVENT_CALENDAR_CONNECTED, client_for
from booking.config import Settings
from booking.inbound.ingest import EVENT_MAIL_QUEUED, EVENT_MAIL_RECEIVED
from booking.mail import Mailer, mailer_for
from booking.models import CalendarConnection
from booking.services.agent_auth import EVENT_SIGN_IN_REQUESTED
from booking.services.call_now import EVENT_CALL_NOW
from booking.services.callbacks import EVENT_CALLBACK_OVERDUE, EVENT_CALLBACK_QUEUED
from booking.services.calls import EVENT_CRITICAL_CALL, EVENT_SENIOR_MISSED
from booking.services.chat import EVENT_TRANSCRIPT
from booking.services.handoff import EVENT_HANDOFF
from booking.services.reminders import EVENT_REMINDER
from booking.services.requests import EVENT_BREACHED, EVENT_DUE_SOON, EVENT_ESCALATED, EVENT_TRIAGE
from booking.services.schedule import (
    EVENT_CALLBACK_MOVED,
    EVENT_CALLBACK_RELEASED,
    EVENT_CALLBACK_RESERVED,
    EVENT_CANCELLED,
    EVENT_CONFIRMED,
    EVENT_RESCHEDULED,
)
from booking.voicemail import reconcile

__all__ = ["HANDLERS", "JOBS", "SUBSCRIPTIONS", "Adapters", "Context", "Handler", "Job", "build_adapters"]


#: opens a CalDAV client for a stored connection (used as a context manager)
CalendarConnector = Callable[[CalendarConnection, Settings], Any]


@dataclass(frozen=True)
class Adapters:
    """Everything a handler may use that leaves the process, chosen once by configuration."""

    settings: Settings
    mailer: Mailer
    sms: Any  # booking.voicemail.sms.SmsSender (a Protocol; Any keeps this module import-light)
    caldav: CalendarConnector
    secret_key: str
    twilio_rest: Any = None  # twilio.rest.Client when Twilio is configured (recording reconciliation)
    now: Callable[[], datetime] = clock.now


@dataclass(frozen=True)
class Context:
    """What one handler run gets: its unit of work's session, the adapters, and its outbox row's name."""

    session: Session
    adapters: Adapters
    ref: str = ""  # unique per outbox row, stable across its retries (mail Message-IDs are built from it)

    @property
    def settings(self) -> Settings:
        return self.adapters.settings


Handler = Callable[[Context, dict[str, Any], datetime], None]


@dataclass(frozen=True)
class Job:
    """A periodic job: ``run`` calls services only; ``seconds`` reads its interval from the settings."""

    name: str
    run: Callable[[Context, datetime], object]
    seconds: Callable[[Settings], int]


def build_adapters(settings: Settings, secret_key: str) -> Adapters:
    """The composition root's one decision about the outside world (tests point it at local servers)."""
    from booking.voicemail.sms import sms_sender_for

    return Adapters(
        settings=settings,
        mailer=mailer_for(settings.smtp_url, settings.mail_from),
        sms=sms_sender_for(settings),
        caldav=client_for,
        secret_key=secret_key,
        twilio_rest=reconcile.twilio_rest_client(settings),
    )


def _handlers() -> dict[str, Handler]:
    from booking import notifications, request_alerts
    from booking.chat import transcript
    from booking.inbound import outgoing
    from booking.voicemail import notify, outbound, senior_page

    return {
        push.HANDLER_NAME: push.push_to_caldav,
        notifications.CONTACT_HANDLER: notifications.mail_contact,
        notifications.AGENT_HANDLER: notifications.mail_agent,
        notifications.SIGN_IN_HANDLER: notifications.send_sign_in_link,
        "callback.sms": notify.notify_callback_sms,
        "callback.email": notify.notify_callback_email,
        "callback.overdue_sms": notify.remind_overdue_callback,
        "phone.page_on_call": notify.page_on_call,
        senior_page.HANDLER_NAME: senior_page.page_senior_missed,
        "request.alert_sms": request_alerts.alert_sms,
        "request.alert_email": request_alerts.alert_email,
        "request.page_senior": request_alerts.page_senior,
        "request.triage_email": request_alerts.mail_triage,
        outgoing.SEND_HANDLER: outgoing.send_message,
        outgoing.AGENT_HANDLER: outgoing.notify_agent,
        outbound.CALL_NOW_HANDLER: outbound.place_call,
        outbound.HANDOFF_HANDLER: outbound.move_to_conference,
        "chat.transcript_email": transcript.mail_transcript,
    }


#: handler name -> function
HANDLERS: dict[str, Handler] = _handlers()

#: handler name -> the destination it talks to; each lane is drained by a job of its own, so a slow
#: destination (a hanging calendar server) never holds another's rows
LANE_OF: dict[str, str] = {
    push.HANDLER_NAME: "caldav",
    "email.booking_contact": "email",
    "email.booking_agent": "email",
    "email.agent_sign_in": "email",
    "callback.email": "email",
    "request.alert_email": "email",
    "request.triage_email": "email",
    "email.request_message": "email",
    "email.request_agent": "email",
    "chat.transcript_email": "email",
    "callback.sms": "sms",
    "callback.overdue_sms": "sms",
    "phone.page_on_call": "sms",
    "request.alert_sms": "sms",
    "request.page_senior": "sms",
    "phone.page_senior_missed": "sms",
    # Twilio voice REST calls share the SMS lane: the same provider, drained by the same job.
    "phone.call_now": "sms",
    "phone.handoff": "sms",
}

_BOOKING_MAILS = (push.HANDLER_NAME, "email.booking_contact", "email.booking_agent")

#: event -> the handlers it queues, in the order their rows are created (and so run)
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    EVENT_CONFIRMED: _BOOKING_MAILS,
    EVENT_RESCHEDULED: _BOOKING_MAILS,
    EVENT_CANCELLED: _BOOKING_MAILS,
    EVENT_REMINDER: ("email.booking_contact",),
    EVENT_CALENDAR_CONNECTED: (push.HANDLER_NAME,),
    # A callback's reservation is only ever pushed to the agent's calendar: nobody is mailed about it.
    EVENT_CALLBACK_RESERVED: (push.HANDLER_NAME,),
    EVENT_CALLBACK_MOVED: (push.HANDLER_NAME,),
    EVENT_CALLBACK_RELEASED: (push.HANDLER_NAME,),
    EVENT_SIGN_IN_REQUESTED: ("email.agent_sign_in",),
    EVENT_CALLBACK_QUEUED: ("callback.sms", "callback.email"),
    EVENT_CALLBACK_OVERDUE: ("callback.overdue_sms",),
    EVENT_CRITICAL_CALL: ("phone.page_on_call",),
    EVENT_SENIOR_MISSED: ("phone.page_senior_missed",),  # pressed 2, no senior could take the call
    EVENT_DUE_SOON: ("request.alert_sms", "request.alert_email"),
    EVENT_BREACHED: ("request.alert_sms", "request.alert_email"),
    EVENT_ESCALATED: ("request.page_senior",),
    EVENT_TRIAGE: ("request.triage_email",),
    EVENT_MAIL_QUEUED: ("email.request_message",),  # the acknowledgement, an agent's reply (issue 15)
    EVENT_MAIL_RECEIVED: ("email.request_agent",),  # business hours: the agent reads new mail at once
    EVENT_CALL_NOW: ("phone.call_now",),  # "Call now" pressed: ring the agent, then the customer
    EVENT_HANDOFF: ("phone.handoff",),  # a live call moved into a conference, a senior dialled in
    EVENT_TRANSCRIPT: ("chat.transcript_email",),
}


def _drain_outbox(ctx: Context, now: datetime) -> object:
    from booking.services import outbox

    return outbox.drain(ctx.session, now, adapters=ctx.adapters)


def _sync_calendars(ctx: Context, now: datetime) -> object:
    """Every BOOKING_SYNC_MINUTES: one pass per agent with a calendar; a failing server is recorded."""
    from booking.calendar_sync.sync import sync_all

    return list(sync_all(ctx.session, ctx.settings, now))


def _queue_reminders(ctx: Context, now: datetime) -> object:
    from booking.services.reminders import queue_reminders

    return queue_reminders(ctx.session, now)


def _flag_overdue_callbacks(ctx: Context, now: datetime) -> object:
    """Flag callbacks past their due time; their reminder rows are drained right after the job."""
    from booking.services.callbacks import flag_overdue

    return flag_overdue(ctx.session, now)


def _scan_breaches(ctx: Context, now: datetime) -> object:
    """Log and queue the T-15 warnings and the breaches (each once); they are drained right after."""
    from booking.services.requests import scan_breaches

    return scan_breaches(ctx.session, now)


def _escalate_chats(ctx: Context, now: datetime) -> object:
    """In-hours chats unanswered for BOOKING_CHAT_ANSWER_MINUTES become requests (issue 17)."""
    from booking.services.chat import escalate_unanswered

    return escalate_unanswered(ctx.session, ctx.settings, now)


def _reconcile_recordings(ctx: Context, now: datetime) -> object:
    """Store any voicemail whose webhook never arrived (database down, network cut), from Twilio's list."""
    if ctx.adapters.twilio_rest is None:
        return None
    return reconcile.reconcile_recordings(ctx.session, ctx.settings, ctx.adapters.twilio_rest, now)


def _poll_imap(ctx: Context, now: datetime) -> object:
    """Every BOOKING_IMAP_POLL_SECONDS (and at once when IDLE hears of mail): the support mailbox."""
    if ctx.settings.imap is None:
        return None
    from booking.inbound.imap_poll import poll_mailbox

    return poll_mailbox(ctx.session, ctx.settings, now)


#: the periodic jobs, each run at most once at a time across processes and hosts (see booking.jobs)
JOBS: tuple[Job, ...] = (
    Job("outbox", _drain_outbox, seconds=lambda s: 30),
    Job("calendar_sync", _sync_calendars, seconds=lambda s: s.sync_minutes * 60),
    Job("reminders", _queue_reminders, seconds=lambda s: 300),
    Job("callbacks.overdue", _flag_overdue_callbacks, seconds=lambda s: 60),
    Job("requests.breach_scan", _scan_breaches, seconds=lambda s: 60),
    Job("chat.unanswered", _escalate_chats, seconds=lambda s: 30),
    Job("voicemail.reconcile", _reconcile_recordings, seconds=lambda s: reconcile.INTERVAL_MINUTES * 60),
    Job("inbound.imap_poll", _poll_imap, seconds=lambda s: s.imap_poll_seconds),
)


def subscribers(event: str, table: Mapping[str, tuple[str, ...]] | None = None) -> tuple[str, ...]:
    return (SUBSCRIPTIONS if table is None else table).get(event, ())


def describe() -> dict[str, Any]:
    """The wiring as data: what ``booking worker --list`` prints and what the tests compare."""
    return {
        "events": {event: list(names) for event, names in sorted(SUBSCRIPTIONS.items())},
        "handlers": sorted(HANDLERS),
        "jobs": [job.name for job in JOBS],
    }
