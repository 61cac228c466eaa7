"""The checks every way in applies to agents and customers: the admin API, the CLI, imports.

Issue 14: ``booking agent add`` and ``booking customer add`` skipped every check the API made (slugs
with spaces, empty names, bad e-mails, ``0612``), a plan typo silently made a customer ineligible,
and a phone typed ``06 12 34 56 99`` was stored as typed, so the caller (Twilio says ``+33612345699``)
was never recognised. Each value is therefore checked and normalised *here*, once, and the API, the
CLI and the importers call these functions; each raises :class:`InvalidInput` with a stable code and
a one-line message (the CLI prints it as is).

Pure: no Flask, no database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from booking.core.business_time import iana_zone, validate_weekly_hours
from booking.services.errors import InvalidInput
from booking.text import has_unsafe_chars
from booking.vocabulary import Language, Plan, Tier
from booking.voicemail.phone import normalize_e164

__all__ = [
    "DEFAULT_PHONE_REGION",
    "agent_phone",
    "customer_phones",
    "email",
    "emails",
    "language",
    "minutes_or_default",
    "name",
    "phone",
    "plan",
    "slug",
    "tier",
    "timezone",
    "working_hours",
]

#: Region national numbers are read in when the configuration names none (BOOKING_PHONE_REGION).
DEFAULT_PHONE_REGION = "FR"
_SEPARATORS = re.compile(r"[ .()/-]")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
MAX_NAME = 200


def slug(value: str) -> str:
    """Slugs appear in URLs and feed paths: lower-case letters, digits and dashes, 1-64 characters."""
    if not SLUG.fullmatch(value):
        raise InvalidInput(
            f"slug {value!r} must be 1-64 lower-case letters, digits or dashes, starting with a letter or digit",
            code="bad_slug",
        )
    return value


def name(value: str, field: str = "name") -> str:
    """Names end up in e-mail headers and calendar properties: one line, not empty, trimmed."""
    if has_unsafe_chars(value):
        raise InvalidInput(f"{field} must be one line of text without control characters", code="bad_text")
    value = value.strip()
    if not value:
        raise InvalidInput(f"{field} must not be empty", code="bad_name")
    if len(value) > MAX_NAME:
        raise InvalidInput(f"{field} must be at most {MAX_NAME} characters", code="bad_name")
    return value


def email(value: str) -> str:
    """A deliverable-looking address (syntax only: no DNS lookup), normalised as email-validator does."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidInput(f"{value!r} is not an e-mail address: {exc}", code="bad_email") from exc


def customer_email(value: str) -> str:
    """A customer's address, or ``@domain`` for everyone at that domain (inbound mail, issue 15)."""
    value = value.strip()
    if value.startswith("@"):
        return "@" + email(f"x{value}").split("@", 1)[1].lower()
    return email(value)


def emails(values: Iterable[str]) -> list[str]:
    """Each address (or ``@domain``) checked; duplicates dropped, first spelling kept."""
    return list(dict.fromkeys(customer_email(v) for v in values))


def phone(value: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """Any common spelling of a number (``06 12 34 56 99``, ``+33 6 12...``) → E.164 (``+33612345699``).

    National numbers are read in ``region``. Twilio gives callers' numbers in E.164, so a customer is
    recognised on the phone only if their numbers are stored that way.
    """
    if has_unsafe_chars(value):
        raise InvalidInput(f"{value!r} is not a valid phone number", code="bad_phone")
    normalized = normalize_e164(value, region)
    if normalized is not None:
        return normalized
    # Written in full international form, a number of a possible length is taken as given: numbering
    # plans gain ranges before the phonenumbers data does, and the API always took any E.164 number.
    compact = _SEPARATORS.sub("", value)
    if _E164.fullmatch(compact):
        try:
            if phonenumbers.is_possible_number(phonenumbers.parse(compact, None)):
                return compact
        except phonenumbers.NumberParseException:
            pass
    raise InvalidInput(f"{value!r} is not a valid phone number", code="bad_phone")


def agent_phone(value: str) -> str:
    """An agent's number must be written internationally (``+33 1 40 ...``); stored as E.164.

    Agents work from several countries (each has their own time zone), so a national spelling such as
    ``0612345678`` is ambiguous for them, and a wrong guess makes Twilio ring a stranger.
    """
    if not value.strip().startswith("+"):
        raise InvalidInput(
            f"agent phone {value!r} must be in international format, e.g. +33140000000", code="bad_phone"
        )
    return phone(value)


def customer_phones(values: Iterable[str], region: str = DEFAULT_PHONE_REGION) -> list[str]:
    """Each number normalised to E.164; two spellings of one number count once."""
    return list(dict.fromkeys(phone(v, region) for v in values))


def plan(value: str) -> Plan:
    """Only the plans the service knows: a typo (``all-inclusve``) used to make a customer ineligible."""
    try:
        return Plan(value.strip())
    except ValueError as exc:
        known = ", ".join(p.value for p in Plan)
        raise InvalidInput(f"unknown plan {value!r} (known plans: {known})", code="bad_plan") from exc


def tier(value: str) -> Tier:
    try:
        return Tier(value)
    except ValueError as exc:
        raise InvalidInput("tier must be 'dedicated' or 'senior'", code="bad_tier") from exc


def timezone(value: str) -> str:
    try:
        iana_zone(value)
    except ValueError as exc:
        raise InvalidInput(f"unknown time zone {value!r}", code="bad_timezone") from exc
    return value


def working_hours(value: Mapping[str, Sequence[str]] | None) -> dict[str, list[str]] | None:
    """Weekly hours normalised (``validate_weekly_hours``); ``None`` means the business hours."""
    if value is None:
        return None
    try:
        return validate_weekly_hours(value)
    except ValueError as exc:
        raise InvalidInput(f"working_hours: {exc}", code="bad_working_hours") from exc


def language(value: str) -> Language:
    """``en`` or ``fr``: the language of an agent's mails and SMS."""
    try:
        return Language(value.strip().lower())
    except ValueError as exc:
        raise InvalidInput(f"language must be 'en' or 'fr', not {value!r}", code="bad_language") from exc


def minutes_or_default(value: int | None, field: str, maximum: int) -> int | None:
    """An agent's own buffer / daily cap: ``0..maximum``, or None for the deployment's default."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise InvalidInput(f"{field} must be a whole number from 0 to {maximum}, or null", code=f"bad_{field}")
    return value
