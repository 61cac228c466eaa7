"""Pydantic models of the JSON API: they validate requests and responses and generate the OpenAPI doc.

Names and shapes follow ``shared/interface.md``; anything added beyond it is documented here in the
field descriptions (which end up in ``/api/openapi.json``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StringConstraints,
)

from booking.services.availability import MAX_DURATION, MIN_DURATION
from booking.text import UNSAFE_CLASS
from booking.vocabulary import BookingKind, BookingStatus, CallbackStatus, CallMethod, Language, Plan, Tier, Topic


def _customer_address(value: str) -> str:
    from booking.services.errors import InvalidInput
    from booking.services.validation import customer_email

    try:
        return customer_email(value)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


#: a customer's e-mail address, or ``@domain`` for everyone there (inbound mail, issue 15)
CustomerAddress = Annotated[str, StringConstraints(max_length=320), AfterValidator(_customer_address)]

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
E164 = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")]
# Phones as admins type them: checked and normalised to E.164 by booking.services.validation (400 bad_phone).
PhoneIn = Annotated[
    str,
    StringConstraints(min_length=1, max_length=40, pattern=r"^[+0-9 ().\-/]+$"),
    Field(description="a phone number in any common spelling; stored in E.164 (national: BOOKING_PHONE_REGION)"),
]
AgentPhone = Annotated[
    str,
    StringConstraints(min_length=2, max_length=40, pattern=r"^\+[0-9 ().\-/]+$"),
    Field(description="international format (leading +, spaces allowed); stored in E.164"),
]
# No control characters nor Unicode line/paragraph separators (booking.text): a name ends up in
# e-mail headers and calendar properties, where any line break makes the message unsendable.
ONE_LINE = f"^[^{UNSAFE_CLASS}]*$"
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=f"^[^{UNSAFE_CLASS}]+$")
]
# Instants we send back: ISO-8601 with offset, documented as such.
DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


def DURATION_SCHEMA(schema: dict[str, Any]) -> None:
    """Document the call lengths the server accepts (``validate_duration``: 15-240, steps of 5) exactly.

    The pydantic bounds stay wider so that 1-14 or 17 get the service's clearer ``bad_duration``.
    """
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "integer":
            branch.update(minimum=MIN_DURATION, maximum=MAX_DURATION, multipleOf=5)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


ERROR_CODES = (
    "400: invalid_request (schema), bad_window (end not after start, span over 62 days, years outside "
    "1970-2999), bad_duration (not 15-240 minutes in steps of 5), bad_timezone, bad_working_hours, "
    "bad_interval, bad_due_at, bad_text, bad_slug, bad_name, bad_email, bad_phone, bad_plan, bad_tier, "
    "agent_required, unknown_agent; "
    "401: unauthorized; 403: not_eligible, bad_token, forbidden; "
    "404: not_found, unknown_token, unknown_booking, unknown_agent, unknown_customer, unknown_callback, "
    "unknown_time_off; "
    "409: slot_unavailable (taken, outside the offered slots, in the past or too soon), too_late (already "
    "started), cancelled, idempotency_key_reused, too_many_open_bookings, agent_exists, phone_taken, "
    "not_pending; 405: method_not_allowed (with Allow); 413: payload_too_large; 429: rate_limited "
    "(with Retry-After)"
)


class ErrorBody(BaseModel):
    code: str = Field(description=f"stable machine-readable reason. {ERROR_CODES}")
    message: str = Field(description="human-readable explanation")
    details: list[dict[str, object]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


#: the shape flask-openapi3 expects for ``responses=`` (status -> model, raw schema or nothing)
Responses = dict[str | int, type[BaseModel] | dict[Any, Any] | None]


# --- admin: agents ---------------------------------------------------------------------------------


class AgentCreate(Strict):
    slug: Slug
    name: Name
    email: EmailStr
    phone: AgentPhone
    timezone: str | None = Field(None, description="IANA zone; defaults to BOOKING_TIMEZONE")
    tier: Tier = Tier.DEDICATED
    working_hours: dict[str, list[str]] | None = Field(
        None,
        description='weekly hours in the agent\'s zone, e.g. {"mon": ["09:00-12:00", "13:00-17:00"]}; '
        "null = the business hours",
    )
    on_call: StrictBool = Field(False, description="senior agent paged by SMS for after-hours critical calls")
    admin: StrictBool = Field(False, description="may use the admin pages, every queue and the SLA report")
    language: Language = Field(Language.EN, description="language of the agent's e-mails and SMS")
    buffer_minutes: int | None = Field(
        None, ge=0, le=240, description="free minutes kept before and after each call; null = BOOKING_BUFFER_MINUTES"
    )
    max_calls_per_day: int | None = Field(
        None,
        ge=0,
        le=100,
        description="calls per day in the agent's zone, 0 = no cap; null = BOOKING_MAX_CALLS_PER_DAY",
    )


class BookingBrief(BaseModel):
    """A booked call or callback reservation still to come, listed when its agent or customer is deactivated."""

    id: int
    kind: BookingKind
    agent: str
    customer_id: int
    start: DateTime
    end: DateTime


class AgentOut(BaseModel):
    slug: str
    name: str
    email: str
    phone: str
    timezone: str
    tier: Tier
    working_hours: dict[str, list[str]] | None
    on_call: bool
    admin: bool = Field(False, description="may use the admin pages, every queue and the SLA report")
    language: Language = Language.EN
    buffer_minutes: int | None = Field(None, description="null: BOOKING_BUFFER_MINUTES applies")
    max_calls_per_day: int | None = Field(None, description="null: BOOKING_MAX_CALLS_PER_DAY applies; 0 = no cap")
    feed_url: str = Field(description="private iCalendar feed of the agent's bookings and callbacks")
    calendar: dict[str, object] | None = Field(
        None, description="CalDAV connection and last sync (url, username, last_sync_at, status, error)"
    )
    active: bool = Field(True, description="false: deactivated (no sign-in, no feed, no new bookings)")
    future_bookings: list[BookingBrief] | None = Field(
        None, description="when this request deactivated the agent: bookings still to come (kept, not cancelled)"
    )


class AgentPath(BaseModel):
    slug: str


class AgentPatch(Strict):
    """Only the fields sent change; ``working_hours: null`` means the business hours again."""

    name: Name | None = None
    email: EmailStr | None = None
    phone: AgentPhone | None = None
    timezone: str | None = Field(None, description="IANA zone")
    tier: Tier | None = None
    working_hours: dict[str, list[str]] | None = Field(
        None, description='e.g. {"mon": ["09:00-12:00", "13:00-17:00"]}; null = the business hours'
    )
    on_call: StrictBool | None = None
    admin: StrictBool | None = None
    active: StrictBool | None = Field(None, description="false deactivates (as POST .../deactivate); true reactivates")
    language: Language | None = None
    buffer_minutes: int | None = Field(None, ge=0, le=240, description="null: BOOKING_BUFFER_MINUTES again")
    max_calls_per_day: int | None = Field(None, ge=0, le=100, description="null: BOOKING_MAX_CALLS_PER_DAY again")


class AgentList(BaseModel):
    agents: list[AgentOut]


# --- admin: customers ------------------------------------------------------------------------------


class CustomerCreate(Strict):
    name: Name
    plan: Plan = Field(description="only all-inclusive can carry the dedicated-support add-on")
    dedicated_support: StrictBool = False
    agent: Slug | None = None
    backup_agent: Slug | None = Field(None, description="covers while the dedicated agent is away")
    phones: list[PhoneIn] = Field(default_factory=list, max_length=20)
    emails: list[CustomerAddress] = Field(default_factory=list, max_length=20)  # address or @domain


class CustomerPath(BaseModel):
    customer_id: int = Field(ge=1, le=2**31 - 1)


class CustomerOut(BaseModel):
    id: int
    name: str
    plan: str
    dedicated_support: bool
    eligible: bool = Field(description="All-inclusive plan with the dedicated-support add-on and an agent")
    agent: str | None
    backup_agent: str | None = Field(None, description="covers while the dedicated agent is away")
    phones: list[str]
    emails: list[str]
    booking_token: str
    booking_url: str | None = Field(description="the customer's private booking page; null when not eligible")
    active: bool = Field(True, description="false: deactivated (no booking page; history kept)")
    chat_token: str | None = Field(None, description="the chat widget's token (separate from the booking token)")
    chat_snippet: str | None = Field(None, description="the <script> tag that embeds the chat button")
    chat_origins: list[str] = Field(default_factory=list, description="origins allowed to embed the chat")
    future_bookings: list[BookingBrief] | None = Field(
        None, description="when this request deactivated the customer: bookings still to come (kept, not cancelled)"
    )


class CustomerPatch(Strict):
    """Only the fields sent change; ``phones`` and ``emails`` replace the lists; ``agent: null`` unassigns."""

    name: Name | None = None
    plan: Plan | None = None
    dedicated_support: StrictBool | None = None
    agent: Slug | None = None
    backup_agent: Slug | None = Field(None, description="covers while the dedicated agent is away; null = none")
    phones: list[PhoneIn] | None = Field(None, max_length=20)
    emails: list[CustomerAddress] | None = Field(None, max_length=20)
    active: StrictBool | None = Field(None, description="false deactivates (as POST .../deactivate); true reactivates")
    chat_origins: list[str] | None = Field(
        None, max_length=20, description="origins (https://intranet.example.com) that may embed the chat button"
    )


class CustomerList(BaseModel):
    customers: list[CustomerOut]


class CustomerQuery(BaseModel):
    agent: Slug | None = Field(None, description="only the customers of this dedicated agent")


# --- admin: bookings -------------------------------------------------------------------------------


class AdminBookingQuery(BaseModel):
    agent: Slug | None = Field(None, description="only this agent's bookings")
    customer: int | None = Field(None, ge=1, le=2**31 - 1, description="only this customer's bookings")
    status: BookingStatus | None = None
    kind: BookingKind | None = Field(None, description="call (booked by a customer) or callback (reserved)")
    from_: date | None = Field(None, alias="from", description="first day (business zone), inclusive")
    to: date | None = Field(None, description="last day (business zone), exclusive")
    limit: int = Field(500, ge=1, le=5000, description="at most this many, earliest first")


class AdminBookingOut(BaseModel):
    id: int
    uid: str
    kind: BookingKind
    agent: str
    customer: dict[str, object] = Field(description='{"id", "name"}')
    start: DateTime
    end: DateTime
    duration: int
    topic: str
    status: BookingStatus
    name: str = Field(description="the contact who booked")
    email: str
    created_at: DateTime
    cancelled_at: DateTime | None


class AdminBookingList(BaseModel):
    bookings: list[AdminBookingOut]


# --- customer API: availability --------------------------------------------------------------------


class AvailabilityQuery(BaseModel):
    start: date
    end: date
    tz: str | None = Field(None, description="IANA zone for the window and the slot times")
    duration: int | None = Field(
        None, ge=1, le=24 * 60, description="minutes; defaults to the slot step", json_schema_extra=DURATION_SCHEMA
    )


class SlotOut(BaseModel):
    start: DateTime
    end: DateTime


class AvailabilityOut(BaseModel):
    agent: str
    timezone: str
    duration: int
    slots: list[SlotOut]


# --- customer API: bookings ------------------------------------------------------------------------


class BookingCreate(Strict):
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    start: AwareDatetime
    duration: int | None = Field(
        None, ge=1, le=24 * 60, description="minutes (15-240, steps of 5)", json_schema_extra=DURATION_SCHEMA
    )
    topic: Topic
    name: Name
    email: EmailStr
    notes: Annotated[str, StringConstraints(max_length=4000)] | None = None
    locale: Literal["fr", "en"] | None = Field(None, description="former name of `language` (still accepted)")
    language: Literal["fr", "en"] | None = Field(
        None,
        description="the contact's language: e-mails, reminders and the .ics; default from Accept-Language, else en",
    )
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        None,
        description="the contact's IANA zone (e.g. America/New_York): e-mails, reminders and pages give times "
        "in it and name it; default: the business zone",
    )
    phone: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = Field(
        None,
        description="where the agent calls the contact (normalised to E.164); default: the customer's first number",
    )
    call_method: CallMethod | None = Field(
        None,
        description="phone (the agent calls `phone`) or video (a link from BOOKING_VIDEO_URL_TEMPLATE, only when "
        "set); default phone",
    )


class IdempotencyHeader(BaseModel):
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        None, alias="Idempotency-Key"
    )


class BookingPath(BaseModel):
    booking_id: int = Field(ge=1, le=2**31 - 1)


class ManageToken(Strict):
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class BookingReschedule(Strict):
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    start: AwareDatetime
    duration: int | None = Field(
        None, ge=1, le=24 * 60, description="minutes; default: keep the length", json_schema_extra=DURATION_SCHEMA
    )
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        None, description="a new zone for the contact (IANA); default: keep it"
    )


class IcsQuery(BaseModel):
    token: str = ""


class BookingOut(BaseModel):
    id: int
    uid: str
    agent: str
    agent_name: str
    start: DateTime
    end: DateTime
    duration: int
    topic: str
    status: BookingStatus
    sequence: int
    name: str
    email: str
    notes: str | None
    timezone: str = Field(description="the contact's zone")
    language: str = Field(description="the contact's language (fr | en)")
    phone: str | None = Field(description="where the agent calls the contact (E.164)")
    call_method: CallMethod
    video_url: str | None = Field(description="the call's video link when call_method is video")
    ics_url: str
    manage_url: str
    manage_token: str


# --- admin: callbacks (phone line) -----------------------------------------------------------------


class CallbackQuery(BaseModel):
    status: CallbackStatus | None = Field(None, description="only callbacks with this status (default: all)")
    agent: Slug | None = Field(None, description="only callbacks assigned to this agent")


class CallbackPath(BaseModel):
    callback_id: int = Field(ge=1, le=2**31 - 1)


class CallbackMove(Strict):
    due_at: AwareDatetime = Field(description="new due time; the reservation moves to the first free time after it")


class VoicemailOut(BaseModel):
    recording_url: str
    duration: int = Field(description="seconds")
    recording_sid: str
    call_sid: str
    received_at: DateTime = Field(description="when the call came in (the SLA clock starts here)")


class ReservationOut(BaseModel):
    booking_id: int
    uid: str = Field(description="UID of the VEVENT in the agent's calendar")
    start: DateTime
    end: DateTime
    status: BookingStatus


class CallbackOut(BaseModel):
    id: int
    customer: str | None = Field(description="customer name; null for an unknown caller")
    customer_id: int | None
    agent: str | None = Field(description="slug of the assigned agent; null when unassigned")
    agent_name: str | None
    phone: str = Field(description="number to call back (E.164 when the caller's number was shown)")
    due_at: DateTime = Field(description="SLA due time, ISO-8601 in the business time zone")
    status: CallbackStatus
    severity: int = Field(ge=1, le=5)
    severity_label: str
    created_at: DateTime
    done_at: DateTime | None
    voicemail: VoicemailOut
    reserved: ReservationOut | None = Field(description="the 15 minutes reserved in the agent's schedule")


class CallbackList(BaseModel):
    callbacks: list[CallbackOut]


# --- admin: time off -------------------------------------------------------------------------------


class TimeOffCreate(Strict):
    start: AwareDatetime
    end: AwareDatetime
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=ONE_LINE)] | None = None


class TimeOffOut(BaseModel):
    id: int
    start: DateTime
    end: DateTime
    reason: str | None
    overlapping_bookings: list[int] | None = Field(
        None, description="on creation: confirmed calls/callbacks inside it (they are not cancelled)"
    )


class TimeOffList(BaseModel):
    time_off: list[TimeOffOut]


class TimeOffPath(BaseModel):
    slug: str
    time_off_id: int = Field(ge=1, le=2**31 - 1)
