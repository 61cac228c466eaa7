"""Recover voicemails whose recording webhook never got stored (database down, network, a 5xx).

Twilio keeps every recording. While the database is away ``/twilio/voicemail`` answers 503 and
``/twilio/voice`` too (Twilio then runs the number's Fallback URL, which should take a message with
``<Record>``: docs/deploy.md). Either way the recording is on Twilio's side and missing here. The
periodic job :func:`reconcile_recordings` lists the account's recent recordings through the REST API
and stores every completed voicemail (``source=RecordVerb``) the service does not have, through the
same :func:`~booking.services.callbacks.store_voicemail` as the webhook: exactly once per
``RecordingSid`` (unique column, re-checked under the write lock), so the job, a late webhook retry
and a second worker can all run without a duplicate callback.

When the incoming-call hook was lost too (no ``calls`` row), the call is fetched from Twilio and
recorded with its real start time first, so the SLA clock starts when the customer called, not when
the job ran. Assumes the Twilio account (or subaccount) serves this service only: every voicemail
recording on it is one of ours.

Run it every :data:`INTERVAL_MINUTES` minutes; each run reads :data:`LOOKBACK` of history.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from booking.config import Settings
from booking.models import Call, Voicemail
from booking.services.callbacks import RecordingIn, store_voicemail
from booking.services.calls import ensure_call

log = logging.getLogger(__name__)

#: How often the job should run, and how far back each run looks (an outage longer than this needs
#: a manual run with a longer ``lookback``).
INTERVAL_MINUTES = 5
LOOKBACK = timedelta(days=2)
#: Recordings made by ``<Record>`` (our voicemail TwiML and the fallback's); not call recordings.
VOICEMAIL_SOURCES = frozenset({"RecordVerb"})
_PAGE_SIZE = 100
_TIMEOUT = 10.0  # seconds per REST request


@dataclass(frozen=True)
class ReconcileResult:
    listed: int  # voicemail recordings Twilio listed in the window
    stored: list[str] = field(default_factory=list)  # RecordingSids stored by this run
    failed: list[str] = field(default_factory=list)  # RecordingSids that could not be read from Twilio
    outbox_ids: list[int] = field(default_factory=list)  # the stored callbacks' notifications, committed


def twilio_rest_client(settings: Settings) -> Client | None:
    """The SDK client for ``TWILIO_ACCOUNT_SID``/``TWILIO_AUTH_TOKEN`` (``BOOKING_TWILIO_API_BASE``
    replaces api.twilio.com, as for SMS), or None when Twilio is not configured."""
    if not settings.twilio_account_sid or not settings.twilio_auth_token:
        return None
    from booking.voicemail.sms import RedirectingHttpClient

    api_base = settings.twilio_api_base
    http = RedirectingHttpClient(api_base, timeout=_TIMEOUT) if api_base else TwilioHttpClient(timeout=_TIMEOUT)
    return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http)


def _media_url(recording: Any) -> str:
    """What the webhook calls ``RecordingUrl``: the resource URL without ``.json``."""
    if recording.media_url:
        return str(recording.media_url)
    return "https://api.twilio.com" + str(recording.uri or "").removesuffix(".json")


def _duration(raw: str | None) -> int:
    try:
        return min(max(0, int(raw or 0)), 86_400)
    except ValueError:
        return 0


def reconcile_recordings(
    session: Session, settings: Settings, twilio_client: Client | None, now: datetime, *, lookback: timedelta = LOOKBACK
) -> ReconcileResult:
    """Store every completed voicemail recording of the last ``lookback`` that is missing here."""
    if twilio_client is None:
        return ReconcileResult(listed=0)
    since = (now - lookback).astimezone(UTC)
    recordings = [
        r
        for r in twilio_client.recordings.list(date_created_after=since, page_size=_PAGE_SIZE)
        if r.status == "completed" and r.source in VOICEMAIL_SOURCES and r.sid and r.call_sid
    ]
    sids = [str(r.sid) for r in recordings]
    known = (
        set(session.scalars(select(Voicemail.recording_sid).where(Voicemail.recording_sid.in_(sids))))
        if sids
        else set()
    )
    session.commit()  # end the read transaction; each store below owns its own
    result = ReconcileResult(listed=len(recordings))
    for recording in recordings:
        if recording.sid in known:
            continue
        sid, call_sid = str(recording.sid), str(recording.call_sid)
        from_raw: str | None = None
        call = session.scalar(select(Call).where(Call.call_sid == call_sid))
        if call is not None:
            from_raw = call.from_number
        else:
            try:
                remote = twilio_client.calls(call_sid).fetch()
            except TwilioException as exc:  # the recording is still stored, with what it tells us
                log.warning("reconcile: call %s of recording %s not readable: %s", call_sid, sid, exc)
                result.failed.append(sid)
                remote = None
            if remote is not None:
                from_raw = remote._from
                started = remote.start_time or recording.start_time or now
                ensure_call(session, settings, call_sid, from_raw, remote.to, started.astimezone(UTC))
        stored = store_voicemail(
            session,
            settings,
            RecordingIn(
                recording_sid=sid[:64],
                recording_url=_media_url(recording)[:2000],
                duration=_duration(recording.duration),
                call_sid=call_sid[:64],
                from_raw=from_raw,
            ),
            now,
        )
        if stored.created:
            log.warning(
                "reconcile: voicemail %s (CallSid=%s) was missing; stored, callback %s",
                sid,
                call_sid,
                stored.callback.id,
            )
            result.stored.append(sid)
            result.outbox_ids.extend(stored.outbox_ids)
    return result
