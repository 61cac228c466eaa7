"""BOOKING_IMAP_URL and its companions: parsed once at start-up, a bad value is one clear line."""

from __future__ import annotations

import pytest

from booking.config import ConfigError, load_settings
from booking.inbound.imap_url import parse_imap_url


def test_an_imaps_url_with_an_encoded_password_and_a_folder(tmp_path):
    s = load_settings(
        {"BOOKING_IMAP_URL": "imaps://support%40acme.fr:p%40ss%2Fw%3Ard@Mail.Acme.fr/Support%20Inbox"},
        instance_path=tmp_path,
    )
    assert s.imap is not None
    assert (s.imap.scheme, s.imap.host, s.imap.port, s.imap.user, s.imap.password, s.imap.folder) == (
        "imaps",
        "mail.acme.fr",
        993,
        "support@acme.fr",
        "p@ss/w:rd",
        "Support Inbox",
    )
    assert s.imap.tls == "ssl" and s.imap.key == "support@acme.fr@mail.acme.fr:993/Support Inbox"
    assert "p@ss" not in repr(s) and "p@ss" not in s.imap.key
    assert (s.imap_poll_seconds, s.imap_timeout_seconds, s.imap_cafile) == (60, 30, None)


def test_defaults_and_the_other_schemes(tmp_path):
    assert load_settings({}, instance_path=tmp_path).imap is None
    starttls = parse_imap_url("imap+starttls://u:p@mail.example")
    assert (starttls.tls, starttls.port, starttls.folder) == ("starttls", 143, "INBOX")
    plain = parse_imap_url("imap://u:p@127.0.0.1:1143/")
    assert (plain.tls, plain.port) == ("none", 1143)
    assert parse_imap_url("imap://u:p@localhost/INBOX").host == "localhost"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("pop3://u:secret@mail.example", "must start with imaps://"),
        ("imaps://mail.example/INBOX", "must name the user and password"),
        ("imaps://u@mail.example/INBOX", "must name the user and password"),
        ("imaps://u:secret@/INBOX", "has no host"),
        ("imaps://u:secret@mail.example:99999/INBOX", "has an invalid port"),
        ("imap://u:secret@mail.example/INBOX", "sends the password in clear"),
        ("imaps://u:secret@mail.example/INBOX?x=1", "must not have a query"),
        ("imaps://u:secret@mail.example/a%22b", "quote, backslash or line break"),
    ],
)
def test_a_bad_url_is_one_line_naming_the_variable_never_the_password(tmp_path, url, reason):
    with pytest.raises(ConfigError) as refused:
        load_settings({"BOOKING_IMAP_URL": url}, instance_path=tmp_path)
    message = str(refused.value)
    assert message.startswith("BOOKING_IMAP_URL ") and reason in message
    assert "secret" not in message and "\n" not in message


def test_the_interval_timeout_and_ca_file_are_checked(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    s = load_settings(
        {"BOOKING_IMAP_POLL_SECONDS": "15", "BOOKING_IMAP_TIMEOUT_SECONDS": "5", "BOOKING_IMAP_CAFILE": str(ca)},
        instance_path=tmp_path,
    )
    assert (s.imap_poll_seconds, s.imap_timeout_seconds, s.imap_cafile) == (15, 5, str(ca))
    with pytest.raises(ConfigError, match="^BOOKING_IMAP_POLL_SECONDS=1 must be between 5"):
        load_settings({"BOOKING_IMAP_POLL_SECONDS": "1"}, instance_path=tmp_path)
    with pytest.raises(ConfigError, match="^BOOKING_IMAP_CAFILE="):
        load_settings({"BOOKING_IMAP_CAFILE": str(tmp_path / "missing.pem")}, instance_path=tmp_path)
