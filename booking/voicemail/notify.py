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

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask_babel import force_locale, gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.config import Settings
from booking.core.sla import Severity
from booking.mail import Mail
from booking.models import Agent, Call, Callback, Customer
from booking.services import outbox
from booking.vocabulary import BookingStatus, CallbackStatus
from booking.voicemail.sms import SmsError, SmsSender

if TYPE_CHECKING:  # the composition root imports this module: no cycle at import time
    from booking.effects import Context


def send_sms(sender: SmsSender, to: str, body: str) -> None:
    """Send, turning a failure retrying cannot fix (invalid number) into a permanent outbox failure."""
    try:
        sender.send(to, body)
    except SmsError as exc:
        if not exc.retryable:
            raise outbox.PermanentError(str(exc)) from exc
        raise


@contextmanager
def in_language(agent: Agent | None) -> Iterator[str]:
    """Word what follows in the agent's language (``agents.language``; English when unknown)."""
    language = agent.language if agent is not None and agent.language in ("en", "fr") else "en"
    with force_locale(language):
        yield language


def _local(moment: datetime, cfg: Settings, language: str = "en") -> str:
    return local_text(moment, cfg.timezone, language)


def local_text(moment: datetime, tz: ZoneInfo, language: str = "en") -> str:
    """``Sun 25 Oct 02:30 (Europe/Paris)``, with the UTC offset when that wall time occurs twice.

    In the repeated autumn hour "called 02:30 ... call back by 02:30" read as no time at all
    (issue 10 item 13); ``02:30 UTC+02:00`` and ``02:30 UTC+01:00`` are one hour apart.
    """
    local = moment.astimezone(tz)
    # English as it always was (C-locale names); other languages through Babel: « dim. 25 oct. 02:30 ».
    text = f"{local:%a %d %b %H:%M}" if language == "en" else format_datetime(local, "EEE d MMM HH:mm", locale=language)
    offset = local.utcoffset()
    if offset is not None and local.replace(fold=1 - local.fold).utcoffset() != offset:
        minutes = int(offset.total_seconds()) // 60
        text += f" UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return f"{text} ({tz.key})"


def _who(callback: Callback) -> str:
    return callback.customer.name if callback.customer else gettext("Unknown caller")


def callback_sms_text(callback: Callback, cfg: Settings) -> str:
    """Short enough for two SMS segments: who, number, when, how long, where to listen; in the
    assigned agent's language."""
    vm = callback.voicemail
    with in_language(callback.agent) as lang:
        text = gettext(
            "Voicemail from %(who)s %(phone)s (%(seconds)d s, severity %(severity)s). Call back by %(due)s.",
            who=_who(callback),
            phone=callback.phone,
            seconds=vm.duration,
            severity=Severity(callback.severity).label,
            due=_local(callback.due_at, cfg, lang),
        )
        if callback.booking is not None and callback.booking.status == BookingStatus.CONFIRMED:
            text += " " + gettext("Reserved %(when)s.", when=_local(callback.booking.start_at, cfg, lang))
    return f"{text} {vm.recording_url}"


def callback_mail(callback: Callback, cfg: Settings) -> Mail:
    """The assigned agent's e-mail about a callback, in their language."""
    with in_language(callback.agent) as lang:
        return _callback_mail(callback, cfg, lang)


def _callback_mail(callback: Callback, cfg: Settings, lang: str) -> Mail:
    vm = callback.voicemail
    severity = Severity(callback.severity)
    lines = [
        gettext("%(who)s left a voicemail and is waiting for your call.", who=_who(callback)),
        "",
        gettext("Phone: %(phone)s", phone=callback.phone),
        gettext("Severity: %(label)s - %(definition)s", label=severity.label, definition=severity.definition),
        gettext("Received: %(when)s", when=_local(vm.received_at, cfg, lang)),
        gettext("Call back by: %(when)s", when=_local(callback.due_at, cfg, lang)),
    ]
    if callback.booking is not None and callback.booking.status == BookingStatus.CONFIRMED:
        lines.append(
            gettext(
                "Reserved in your calendar: %(start)s - %(end)s",
                start=_local(callback.booking.start_at, cfg, lang),
                end=f"{callback.booking.end_at.astimezone(cfg.timezone):%H:%M}",
            )
        )
    lines += [
        gettext("Recording (%(seconds)d s): %(url)s", seconds=vm.duration, url=vm.recording_url),
        gettext("Call SID: %(sid)s", sid=vm.call_sid),
        "",
        gettext("Mark it done in the dashboard or with POST /api/callbacks/<id>/done once you have called back."),
    ]
    assert callback.agent is not None
    # A severity-1 callback goes to the on-call senior; the customer's own agent "handles all
    # communication", so they get a copy.
    dedicated = callback.customer.agent if callback.customer else None
    cc = [dedicated.email] if dedicated is not None and dedicated.id != callback.agent_id else []
    return Mail(
        to=[callback.agent.email],
        cc=cc,
        subject=gettext(
            "[%(severity)s] Call back %(who)s by %(due)s",
            severity=severity.label,
            who=_who(callback),
            due=_local(callback.due_at, cfg, lang),
        ),
        text="\n".join(lines),
    )


def _pending(session: Session, payload: dict[str, Any]) -> Callback | None:
    callback = session.get(Callback, int(payload["callback_id"]))
    if callback is None or callback.agent is None or callback.status != CallbackStatus.PENDING:
        return None
    return callback


def notify_callback_sms(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    """Text the assigned agent about a new callback."""
    callback = _pending(ctx.session, payload)
    if callback is not None and callback.agent is not None:
        send_sms(ctx.adapters.sms, callback.agent.phone, callback_sms_text(callback, ctx.settings))


def notify_callback_email(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    """E-mail the assigned agent the details (recording link, SLA, reservation)."""
    callback = _pending(ctx.session, payload)
    if callback is not None:
        ctx.adapters.mailer.send(callback_mail(callback, ctx.settings))


def remind_overdue_callback(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    """Text the agent once when a callback's SLA due time passed and it is still not done."""
    callback = _pending(ctx.session, payload)
    if callback is not None and callback.agent is not None:
        with in_language(callback.agent) as lang:
            text = gettext(
                "OVERDUE: call back %(who)s %(phone)s (severity %(severity)s, due %(due)s).",
                who=_who(callback),
                phone=callback.phone,
                severity=Severity(callback.severity).label,
                due=_local(callback.due_at, ctx.settings, lang),
            )
        send_sms(ctx.adapters.sms, callback.agent.phone, text)


def page_about_call(ctx: Context, payload: dict[str, Any], message: Callable[[str, str, str, str], str]) -> None:
    """Text the paged agent about a call: ``message(who, caller, called_at, due_at)`` words it.

    Shared by every page that names a call (press 1 after hours, press 2 with no senior free): the
    agent and the call are reloaded, and nothing is sent when either is gone.
    """
    session, cfg = ctx.session, ctx.settings
    agent = session.get(Agent, int(payload["agent_id"]))
    call = session.scalar(select(Call).where(Call.call_sid == payload["call_sid"]))
    if agent is None or call is None:
        return
    customer = session.get(Customer, call.customer_id) if call.customer_id else None
    due = datetime.fromisoformat(payload["due_at"])
    with in_language(agent) as lang:  # ``message`` words it with gettext: in the agent's language
        who = customer.name if customer else gettext("a customer")
        text = message(who, call.from_number, _local(call.received_at, cfg, lang), _local(due, cfg, lang))
    send_sms(ctx.adapters.sms, agent.phone, text)


def page_on_call(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    """Page the on-call senior the moment a customer reports an outage after hours (press 1)."""
    page_about_call(
        ctx,
        payload,
        lambda who, caller, called, due: gettext(
            "CRITICAL: %(who)s %(caller)s reports its service is down (called %(called)s). "
            "Call back by %(due)s. Voicemail follows.",
            who=who,
            caller=caller,
            called=called,
            due=due,
        ),
    )
