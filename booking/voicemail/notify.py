"""Outbox handlers that tell agents about voicemails and critical calls (SMS and e-mail).

They run after the commit (in-request drain, then the scheduler's ``outbox`` job), so a Twilio or
SMTP outage delays a notification but never loses the voicemail. Each handler reloads its rows and
does nothing when there is nothing left to say (a callback already done, an agent gone): the outbox
only guarantees "at least once, never twice on purpose", and the handler decides what is still true.

Which SMS sender is used is configuration: the real Twilio client when ``TWILIO_ACCOUNT_SID``,
``TWILIO_AUTH_TOKEN`` and ``TWILIO_FROM_NUMBER`` are set (``BOOKING_TWILIO_API_BASE`` points it at a
local server in tests), a logging sender otherwise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from booking import clock
from booking.config import Settings
from booking.core.sla import Severity
from booking.extensions import db
from booking.jobs import job
from booking.mail import Mail, Mailer
from booking.models import Agent, Call, Callback, Customer
from booking.services import callbacks, outbox
from booking.services.callbacks import EVENT_CALLBACK_OVERDUE, EVENT_CALLBACK_QUEUED
from booking.services.calls import EVENT_CRITICAL_CALL
from booking.voicemail.sms import LoggingSmsSender, SmsError, SmsSender, TwilioSmsSender

SMS_EXTENSION = "booking.sms"


def sms_sender() -> SmsSender:
    """The app's SMS sender, built once per app from its settings."""
    extensions = current_app.extensions
    sender: SmsSender | None = extensions.get(SMS_EXTENSION)
    if sender is None:
        cfg: Settings = extensions["booking.settings"]
        if cfg.twilio_account_sid and cfg.twilio_auth_token and cfg.twilio_from_number:
            sender = TwilioSmsSender(
                cfg.twilio_account_sid, cfg.twilio_auth_token, cfg.twilio_from_number, api_base=cfg.twilio_api_base
            )
        else:
            sender = LoggingSmsSender()
        extensions[SMS_EXTENSION] = sender
    return sender


def _send_sms(to: str, body: str) -> None:
    """Send, turning a failure retrying cannot fix (invalid number) into a permanent outbox failure."""
    try:
        sms_sender().send(to, body)
    except SmsError as exc:
        if not exc.retryable:
            raise outbox.PermanentError(str(exc)) from exc
        raise


def _local(moment: datetime) -> str:
    cfg: Settings = current_app.extensions["booking.settings"]
    return local_text(moment, cfg.timezone)


def local_text(moment: datetime, tz: ZoneInfo) -> str:
    """``Sun 25 Oct 02:30 (Europe/Paris)``, with the UTC offset when that wall time occurs twice.

    In the repeated autumn hour "called 02:30 ... call back by 02:30" read as no time at all
    (issue 10 item 13); ``02:30 UTC+02:00`` and ``02:30 UTC+01:00`` are one hour apart.
    """
    local = moment.astimezone(tz)
    text = f"{local:%a %d %b %H:%M}"
    offset = local.utcoffset()
    if offset is not None and local.replace(fold=1 - local.fold).utcoffset() != offset:
        minutes = int(offset.total_seconds()) // 60
        text += f" UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return f"{text} ({tz.key})"


def _who(callback: Callback) -> str:
    return callback.customer.name if callback.customer else "Unknown caller"


def callback_sms_text(callback: Callback) -> str:
    """Short enough for two SMS segments: who, number, when, how long, where to listen."""
    vm = callback.voicemail
    text = (
        f"Voicemail from {_who(callback)} {callback.phone} ({vm.duration} s, severity "
        f"{Severity(callback.severity).label}). Call back by {_local(callback.due_at)}."
    )
    if callback.booking is not None and callback.booking.status == "confirmed":
        text += f" Reserved {_local(callback.booking.start_at)}."
    return f"{text} {vm.recording_url}"


def callback_mail(callback: Callback) -> Mail:
    vm = callback.voicemail
    severity = Severity(callback.severity)
    lines = [
        f"{_who(callback)} left a voicemail and is waiting for your call.",
        "",
        f"Phone: {callback.phone}",
        f"Severity: {severity.label} - {severity.definition}",
        f"Received: {_local(vm.received_at)}",
        f"Call back by: {_local(callback.due_at)}",
    ]
    if callback.booking is not None and callback.booking.status == "confirmed":
        lines.append(
            f"Reserved in your calendar: {_local(callback.booking.start_at)} - "
            f"{callback.booking.end_at.astimezone(current_app.extensions['booking.settings'].timezone):%H:%M}"
        )
    lines += [
        f"Recording ({vm.duration} s): {vm.recording_url}",
        f"Call SID: {vm.call_sid}",
        "",
        "Mark it done in the dashboard or with POST /api/callbacks/<id>/done once you have called back.",
    ]
    assert callback.agent is not None
    # A severity-1 callback goes to the on-call senior; the customer's own agent "handles all
    # communication", so they get a copy.
    dedicated = callback.customer.agent if callback.customer else None
    cc = [dedicated.email] if dedicated is not None and dedicated.id != callback.agent_id else []
    return Mail(
        to=[callback.agent.email],
        cc=cc,
        subject=f"[{severity.label}] Call back {_who(callback)} by {_local(callback.due_at)}",
        text="\n".join(lines),
    )


def _pending(payload: dict[str, Any]) -> Callback | None:
    callback = db.session.get(Callback, int(payload["callback_id"]))
    if callback is None or callback.agent is None or callback.status != "pending":
        return None
    return callback


@outbox.subscribe(EVENT_CALLBACK_QUEUED, name="callback.sms")
def notify_callback_sms(payload: dict[str, Any], now: datetime) -> None:
    """Text the assigned agent about a new callback."""
    callback = _pending(payload)
    if callback is not None and callback.agent is not None:
        _send_sms(callback.agent.phone, callback_sms_text(callback))


@outbox.subscribe(EVENT_CALLBACK_QUEUED, name="callback.email")
def notify_callback_email(payload: dict[str, Any], now: datetime) -> None:
    """E-mail the assigned agent the details (recording link, SLA, reservation)."""
    callback = _pending(payload)
    if callback is not None:
        mailer: Mailer = current_app.extensions["booking.mailer"]
        mailer.send(callback_mail(callback))


@outbox.subscribe(EVENT_CALLBACK_OVERDUE, name="callback.overdue_sms")
def remind_overdue_callback(payload: dict[str, Any], now: datetime) -> None:
    """Text the agent once when a callback's SLA due time passed and it is still not done."""
    callback = _pending(payload)
    if callback is not None and callback.agent is not None:
        _send_sms(
            callback.agent.phone,
            f"OVERDUE: call back {_who(callback)} {callback.phone} (severity "
            f"{Severity(callback.severity).label}, due {_local(callback.due_at)}).",
        )


@job("callbacks.overdue", seconds=lambda settings: 60)
def overdue_callbacks() -> object:
    """Scheduler job: flag callbacks past their due time, then send the reminders."""
    ids = callbacks.flag_overdue(db.session, clock.now())
    return outbox.drain(db.session, clock.now(), ids=ids) if ids else None


@outbox.subscribe(EVENT_CRITICAL_CALL, name="phone.page_on_call")
def page_on_call(payload: dict[str, Any], now: datetime) -> None:
    """Page the on-call senior the moment a customer reports an outage after hours (press 1)."""
    agent = db.session.get(Agent, int(payload["agent_id"]))
    call = db.session.scalar(select(Call).where(Call.call_sid == payload["call_sid"]))
    if agent is None or call is None:
        return
    customer = db.session.get(Customer, call.customer_id) if call.customer_id else None
    due = datetime.fromisoformat(payload["due_at"])
    _send_sms(
        agent.phone,
        f"CRITICAL: {customer.name if customer else 'a customer'} {call.from_number} reports its service "
        f"is down (called {_local(call.received_at)}). Call back by {_local(due)}. Voicemail follows.",
    )
