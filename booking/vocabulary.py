"""The service's vocabulary: every status and kind a row or a decision can take, defined once.

These strings are stored in the database, returned by the JSON API and compared all over the code;
spelling one of them twice is how ``"cancelled"`` and ``"canceled"`` end up in the same table. So
each set is a ``StrEnum`` here, and the database refuses any other value (``Plan`` excepted, see
there): the models build their CHECK constraints from these classes with :func:`one_of`, migrations
0001 and 0003 install the same SQL, and ``tests/test_vocabulary.py`` holds the two together.
A ``StrEnum`` member *is* its string (``BookingStatus.CONFIRMED == "confirmed"``, JSON and Jinja
print ``confirmed``), so code still holding a literal keeps working while it is swept.

Adding a member therefore needs a migration that widens the constraint: the values are data.

Pure Python: no Flask, no SQLAlchemy, so ``booking.core`` may import it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Final

__all__ = [
    "CALLBACK_TOPIC",
    "STORED_TOPICS",
    "BookingKind",
    "BookingStatus",
    "BusySource",
    "CallMethod",
    "CallStatus",
    "CallbackStatus",
    "Language",
    "OutboxStatus",
    "Plan",
    "RouteKind",
    "SyncStatus",
    "Tier",
    "Topic",
    "one_of",
]


class BookingStatus(StrEnum):
    """``bookings.status``: only confirmed rows take the agent's time (the overlap guard says so too)."""

    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class BookingKind(StrEnum):
    """``bookings.kind``: a customer's call, or the 15 minutes reserved for a callback."""

    CALL = "call"
    CALLBACK = "callback"


class Topic(StrEnum):
    """What a customer's call is about (the product brief's three purposes), in the order pages offer them."""

    HELP = "help"
    TRAINING = "training"
    SETUP_CHANGES = "setup-changes"


#: The ``topic`` of a ``BookingKind.CALLBACK`` reservation: the system's own, never offered to a customer
#: (so not a :class:`Topic`, which the API and the booking page accept).
CALLBACK_TOPIC: Final = "callback"

#: What ``bookings.topic`` may hold.
STORED_TOPICS: tuple[str, ...] = (*Topic, CALLBACK_TOPIC)


class Tier(StrEnum):
    """``agents.tier``: a customer's dedicated agent, or a second-level (senior) technical agent."""

    DEDICATED = "dedicated"
    SENIOR = "senior"


class CallMethod(StrEnum):
    """``bookings.call_method``: how a booked call happens (issue 18 item 3).

    ``phone``: the agent calls the contact's number; ``video``: both join the link built from
    ``BOOKING_VIDEO_URL_TEMPLATE`` (offered only when it is set).
    """

    PHONE = "phone"
    VIDEO = "video"


class Language(StrEnum):
    """``agents.language`` and a booking's language: what the mails, SMS and .ics are written in."""

    EN = "en"
    FR = "fr"


class Plan(StrEnum):
    """The customer plans the service itself knows of (``customers.plan``).

    Only ``all-inclusive`` changes behaviour (it can carry the dedicated-support add-on). Every way in
    (API, CLI, import: ``booking.services.validation.plan``) refuses any other name, because a typo
    (``"all-inclusve"``) silently made a customer ineligible (issue 14). The column itself is not
    constrained, so rows written before that check still load.
    """

    ALL_INCLUSIVE = "all-inclusive"
    STANDARD = "standard"


class CallStatus(StrEnum):
    """``calls.status``: where an incoming call is; moves are declared in ``booking.core.call_states``.

    The dial outcomes are Twilio's ``DialCallStatus`` values, spelled as Twilio spells them
    (``canceled``); ``completed`` and ``answered`` both become ``answered``.
    """

    RINGING = "ringing"  # the row exists, no routing decided yet
    DIALING = "dialing"  # the dedicated agent's phone rings
    FORWARDED = "forwarded"  # sent to the general support line
    AFTER_HOURS = "after-hours"  # hearing the after-hours menu
    CRITICAL = "critical"  # pressed 1 in the menu: service down, the on-call senior is paged
    SENIORS = "seniors"  # pressed 2 in business hours: every senior agent on duty rings at once
    SENIOR_VOICEMAIL = "senior-voicemail"  # pressed 2, no senior on duty or none answered: severity-2 message
    VOICEMAIL = "voicemail"  # sent to (or has left) a voicemail
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"


class OutboxStatus(StrEnum):
    """``outbox.status``: waiting (or being retried), performed, or given up after the last attempt."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class CallbackStatus(StrEnum):
    """``callbacks.status``: a queued return call, made, or dropped."""

    PENDING = "pending"
    DONE = "done"
    CANCELLED = "cancelled"


class AttemptStatus(StrEnum):
    """``call_attempts.status``: a "Call now" press, from queued to how the customer leg ended."""

    QUEUED = "queued"  # the row exists; the outbox handler has not asked Twilio yet
    CALLING = "calling"  # Twilio accepted the call: the agent's phone rings, then the customer's
    CONNECTED = "connected"  # the customer answered: the request's first response
    FAILED = "failed"  # busy, no answer, failed or refused: logged on the request, reservation kept


class SyncStatus(StrEnum):
    """``calendar_connections.last_sync_status`` (NULL until the first sync)."""

    OK = "ok"
    ERROR = "error"


class BusySource(StrEnum):
    """``busy_blocks.source``: where a block of the agent's busy time was read from."""

    CALDAV = "caldav"


class RouteKind(StrEnum):
    """Where an incoming call goes (``booking.services.calls.Routing.kind``); decided, not stored."""

    DIAL = "dial"
    SUPPORT = "support"
    AFTER_HOURS_MENU = "after_hours_menu"
    AFTER_HOURS_VOICEMAIL = "after_hours_voicemail"
    VOICEMAIL = "voicemail"
    CRITICAL = "critical"  # after hours, pressed 1: the on-call senior is paged, then a voicemail
    SENIORS = "seniors"  # in hours, pressed 2: every senior on duty rings at once
    SENIOR_VOICEMAIL = "senior_voicemail"  # pressed 2 and no senior could take it: a severity-2 voicemail


def one_of(column: str, values: Iterable[str]) -> str:
    """The SQL of a CHECK constraint that ``column`` holds one of ``values`` (an enum class or a list).

    The same text on SQLite and PostgreSQL. NULL passes (``NULL IN (...)`` is not false), so nullable
    columns stay nullable.
    """
    listed = ", ".join("'" + str(value).replace("'", "''") + "'" for value in values)
    return f"{column} IN ({listed})"
