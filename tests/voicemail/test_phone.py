"""E.164 normalisation: customers' numbers and Twilio's ``From`` must compare equal."""

from __future__ import annotations

import pytest

from booking.voicemail.phone import normalize_e164


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("06.12.34.56.78", "+33612345678"),
        ("0033 6 12 34 56 78", "+33612345678"),
        ("+33 (0)6 12 34 56 78", "+33612345678"),
        ("+33612345678", "+33612345678"),
        ("01 23 45 67 89", "+33123456789"),
        ("+1 415 555 0100", "+14155550100"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_valid_numbers_become_e164(raw: str, expected: str) -> None:
    assert normalize_e164(raw) == expected


def test_default_region_reads_national_numbers() -> None:
    assert normalize_e164("(415) 555-0100", default_region="US") == "+14155550100"
    # The same digits read as French are not a valid French number.
    assert normalize_e164("(415) 555-0100") is None


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        None,
        "garbage",
        "anonymous",
        "client:alice",
        "123",
        "+33 1",
        "+33 6 12 34 56 78 99",  # one digit pair too many
        "+266696687",  # Twilio's placeholder for a withheld caller ID
    ],
)
def test_garbage_is_none(raw: str | None) -> None:
    assert normalize_e164(raw) is None
