"""Issue 18 item 5: callback SMS and e-mails follow the agent's ``language`` (French agent, English agent).

Real Twilio SDK to the local fake REST server, real SMTP to the sink; the clock moved, never slept on.
"""

from __future__ import annotations

from email.header import decode_header, make_header

import pytest

from tests.voicemail.conftest import AGENT_PHONE, CALLER, paris
from tests.voicemail.test_callbacks import leave_voicemail


@pytest.fixture
def line_in(make_agent, make_customer):
    def make(language: str):
        agent = make_agent(
            slug="camille", name="Camille Martin", phone=AGENT_PHONE, email="camille@example.com", language=language
        )
        make_customer(agent["slug"], name="Acme SA", phones=[CALLER])

    return make


def test_a_french_agent_gets_the_callback_sms_and_mail_in_french(hook, line_in, frozen, fake_twilio, smtp_sink):
    line_in("fr")
    leave_voicemail(hook, frozen, paris(2026, 12, 24, 19, 0))  # Thursday evening: due Monday 09:00

    (sms,) = fake_twilio.messages
    assert sms.to == AGENT_PHONE
    assert sms.body.startswith(f"Message vocal de Acme SA {CALLER} (42 s, sévérité ")
    assert "Rappeler avant lun. 28 déc. 09:00 (Europe/Paris)." in sms.body
    assert "Voicemail" not in sms.body and "Call back" not in sms.body

    (mail,) = smtp_sink.messages
    subject = str(make_header(decode_header(mail["Subject"])))
    assert "Rappeler Acme SA avant lun. 28 déc. 09:00" in subject
    text = mail.get_payload(decode=True).decode()
    assert "Acme SA a laissé un message vocal et attend votre appel." in text
    assert f"Téléphone : {CALLER}" in text
    assert "Réservé dans votre agenda : lun. 28 déc. 09:00 (Europe/Paris) - 09:15" in text
    assert "left a voicemail" not in text


def test_an_english_agent_keeps_english(hook, line_in, frozen, fake_twilio, smtp_sink):
    line_in("en")
    leave_voicemail(hook, frozen, paris(2026, 12, 24, 19, 0))
    (sms,) = fake_twilio.messages
    assert sms.body.startswith(f"Voicemail from Acme SA {CALLER} (42 s, severity ")
    assert "Call back by Mon 28 Dec 09:00 (Europe/Paris)." in sms.body
    text = smtp_sink.messages[0].get_payload(decode=True).decode()
    assert "Acme SA left a voicemail and is waiting for your call." in text


def test_the_agent_language_is_validated_and_changeable(client, admin, make_agent):
    made = make_agent(slug="zoe")
    assert made["language"] == "en"  # the documented default
    response = client.patch("/api/agents/zoe", json={"language": "fr"}, headers=admin)
    assert response.status_code == 200 and response.get_json()["language"] == "fr"
    response = client.patch("/api/agents/zoe", json={"language": "de"}, headers=admin)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] in {"invalid_request", "bad_language"}


def test_booking_agent_add_takes_a_language(app):
    from sqlalchemy import select

    from booking.extensions import db
    from booking.models import Agent

    runner = app.test_cli_runner()
    base = ["agent", "add", "--name", "Noa", "--email", "noa@example.com"]
    made = runner.invoke(args=[*base, "--slug", "noa", "--phone", "+33140000042", "--language", "fr"])
    assert made.exit_code == 0, made.output
    assert db.session.scalar(select(Agent.language).where(Agent.slug == "noa")) == "fr"
    refused = runner.invoke(args=[*base, "--slug", "noe", "--phone", "+33140000043", "--language", "de"])
    assert refused.exit_code == 2
    assert "language must be 'en' or 'fr'" in refused.output


@pytest.mark.parametrize(
    ("language", "sms_start", "mail_line"),
    [
        ("fr", "SLA DÉPASSÉ : demande n° 7 (email, sévérité ", "Première réponse attendue : mar. 1 déc. 10:00"),
        ("en", "SLA BREACHED: request #7 (email, severity ", "First response due: Tue 01 Dec 10:00"),
    ],
)
def test_sla_alerts_follow_the_owner_language(app, language, sms_start, mail_line):
    from datetime import UTC, datetime

    from booking.config import Settings
    from booking.models import Agent
    from booking.models_requests import SupportRequest
    from booking.request_alerts import alert_mail, alert_text
    from booking.services.requests import EVENT_BREACHED

    cfg: Settings = app.extensions["booking.settings"]
    owner = Agent(slug="camille", name="Camille", email="c@example.com", phone="+33140000001", language=language)
    due = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    request = SupportRequest(
        id=7,
        channel="email",
        team="dedicated",
        severity=3,
        subject="SSO down",
        received_at=due,
        first_response_due_at=due,
        follow_up_due_at=due,
    )
    assert alert_text(request, EVENT_BREACHED, cfg, owner).startswith(sms_start)
    assert mail_line in alert_mail(request, owner, EVENT_BREACHED, cfg).text
