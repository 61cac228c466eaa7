"""The SMTP mailer against a real SMTP server."""

from __future__ import annotations

from booking.mail import Attachment, LoggingMailer, Mail, SmtpMailer, mailer_for


def test_smtp_mailer_sends_text_html_and_calendar(smtp_sink):
    mailer = SmtpMailer(smtp_sink.url, "booking@example.com")
    mail = Mail(
        to=["alice@example.com"],
        cc=["agent@example.com"],
        subject="Votre appel",
        text="Bonjour",
        html="<p>Bonjour</p>",
        attachments=[Attachment("invite.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", params={"method": "REQUEST"})],
        from_name="Camille Martin",
    )
    message_id = mailer.send(mail)
    assert len(smtp_sink.messages) == 1
    received = smtp_sink.messages[0]
    assert received["Message-ID"] == message_id
    assert received["Subject"] == "Votre appel"
    assert "Camille Martin" in received["From"]
    parts = {part.get_content_type(): part for part in received.walk()}
    assert "text/plain" in parts and "text/html" in parts
    assert parts["text/calendar"].get_param("method") == "REQUEST"
    assert parts["text/calendar"].get_payload(decode=True).startswith(b"BEGIN:VCALENDAR")


def test_without_smtp_url_messages_are_logged_not_sent(caplog):
    mailer = mailer_for(None, "booking@example.com")
    assert isinstance(mailer, LoggingMailer)
    with caplog.at_level("INFO", logger="booking.mail"):
        mailer.send(Mail(to=["a@example.com"], subject="Sign in", text="Open http://x/agent/sign-in/abc"))
    assert mailer.sent[0]["To"] == "a@example.com"
    assert "http://x/agent/sign-in/abc" in caplog.text  # development: the link is readable in the log
