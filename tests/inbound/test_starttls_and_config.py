"""The gateway offers STARTTLS when a certificate is configured; the e-mail settings are validated."""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from booking.config import ConfigError, load_settings
from booking.models_requests import SupportRequest
from tests.inbound.conftest import SUPPORT, fresh, mail


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "gateway.crt", folder / "gateway.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def env_overrides(tmp_path, smtp_sink):
    cert, key = _self_signed(tmp_path)
    return {
        "BOOKING_SUPPORT_EMAIL": SUPPORT,
        "BOOKING_SMTP_URL": smtp_sink.url,
        "BOOKING_MAIL_GATEWAY_CERT": str(cert),
        "BOOKING_MAIL_GATEWAY_KEY": str(key),
    }


def test_starttls_is_offered_and_mail_goes_through_it(people, gateway, tmp_path):
    context = ssl.create_default_context(cafile=str(tmp_path / "gateway.crt"))
    context.check_hostname = False
    with smtplib.SMTP(*gateway, timeout=10) as client:
        client.ehlo("localhost")
        assert client.has_extn("starttls")
        client.starttls(context=context)
        client.ehlo("localhost")
        assert client.sock is not None and client.sock.version() is not None  # type: ignore[attr-defined]
        client.send_message(mail())
    assert fresh().scalars(select(SupportRequest)).one().channel == "email"


def test_mail_settings_defaults_and_errors(tmp_path):
    s = load_settings({}, instance_path=tmp_path)
    assert (s.support_email, s.mail_ack_per_day, s.mail_max_bytes) == (None, 3, 10 * 1024 * 1024)
    assert (s.mail_gateway_cert, s.mail_gateway_key, s.mail_attachment_max_bytes) == (None, None, 5 * 1024 * 1024)
    s = load_settings(
        {"BOOKING_SUPPORT_EMAIL": " Support@Help.Example ", "BOOKING_MAIL_ACK_PER_DAY": "1"}, instance_path=tmp_path
    )
    assert (s.support_email, s.mail_ack_per_day) == ("support@help.example", 1)
    bad = [
        ({"BOOKING_SUPPORT_EMAIL": "a@b, c@d"}, "BOOKING_SUPPORT_EMAIL"),
        ({"BOOKING_MAIL_GATEWAY_CERT": str(tmp_path / "x.crt")}, "must be set together"),
        ({"BOOKING_MAIL_GATEWAY_CERT": "/nope.crt", "BOOKING_MAIL_GATEWAY_KEY": "/nope.key"}, "not a readable file"),
        ({"BOOKING_MAIL_MAX_BYTES": "10"}, "BOOKING_MAIL_MAX_BYTES"),
        ({"BOOKING_MAIL_ACK_PER_DAY": "many"}, "BOOKING_MAIL_ACK_PER_DAY"),
    ]
    for env, message in bad:
        with pytest.raises(ConfigError, match=message):
            load_settings(env, instance_path=tmp_path)


def test_a_customer_may_list_a_domain_and_bad_ones_are_refused(client, admin, make_agent):
    make_agent(slug="camille")
    body = {"name": "Gamma", "plan": "all-inclusive", "dedicated_support": True, "agent": "camille", "phones": []}
    made = client.post("/api/customers", json={**body, "emails": ["@Gamma.Example", "it@gamma.example"]}, headers=admin)
    assert made.status_code == 201 and made.get_json()["emails"] == ["@gamma.example", "it@gamma.example"]
    for wrong in ("@", "@not a domain", "@localhost"):
        refused = client.post("/api/customers", json={**body, "emails": [wrong]}, headers=admin)
        assert refused.status_code == 400, wrong
        assert refused.get_json()["error"]["code"] in ("bad_email", "invalid_request"), wrong
