"""Phone numbers in one canonical form (E.164).

Callers are recognised by comparing Twilio's ``From`` (always E.164, e.g. ``+33612345678``) with
the numbers stored for each customer, which admins type in any local style ("06 12 34 56 78").
Comparing strings only works if both sides are normalised the same way, hence this one function.
"""

from __future__ import annotations

import phonenumbers

__all__ = ["normalize_e164"]


def normalize_e164(raw: str | None, default_region: str = "FR") -> str | None:
    """Return ``raw`` as an E.164 string (``+33612345678``), or ``None`` when it is not a number.

    National numbers are read in ``default_region`` (France by default, where the service's
    customers are). ``None`` rather than an exception for garbage, because the inputs include
    Twilio's placeholders for hidden callers (``anonymous``, ``+266696687``) and a webhook must
    treat those as "unknown caller", not crash. Numbers that parse but cannot exist in their
    numbering plan are rejected too: a wrong number would silently never match any customer.
    """
    if raw is None or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
