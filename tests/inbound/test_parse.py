"""booking.inbound.parse, pure: what a helpdesk reads from a raw message."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from booking.inbound.parse import DEFAULT_SEVERITY, html_to_text, parse, strip_quoted


def raw(subject: str = "Hello", text: str = "Body\n", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Alice Martin <Alice@Acme.Example>"
    msg["To"] = "support@help.example"
    msg["Subject"] = subject
    msg["Message-ID"] = "<m1@acme.example>"
    msg.set_content(text)
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    return msg.as_bytes()


@pytest.mark.parametrize(
    ("subject", "severity"),
    [("[S1] Down!", 1), ("Re: [s5] question", 5), ("[ S2 ] slow", 2), ("[S6] no", DEFAULT_SEVERITY), ("S1", 3)],
)
def test_severity_tag(subject, severity):
    assert parse(raw(subject)).severity == severity


def test_sender_threading_and_request_tag():
    parsed = parse(
        raw("Re: Export [#R42]", In_Reply_To="<a@x>", References="<r1@x> <r2@x>", Reply_To="Desk <desk@acme.example>")
    )
    assert (parsed.sender, parsed.sender_name, parsed.reply_to) == (
        "alice@acme.example",
        "Alice Martin",
        "desk@acme.example",
    )
    assert parsed.thread_ids == ("<a@x>", "<r2@x>", "<r1@x>")
    assert parsed.request_tag == 42 and parsed.automatic is None


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto_Submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
        ({"Auto_Submitted": "no"}, None),
        ({"Precedence": "Bulk"}, "Precedence: bulk"),
        ({"Precedence": "first-class"}, None),
        ({"List_Id": "<l.x>"}, "List-Id"),
        ({"X_Autoreply": "yes"}, "X-Autoreply"),
        ({"X_Auto_Response_Suppress": "OOF"}, "X-Auto-Response-Suppress"),
        ({"Return_Path": "<>"}, "empty Return-Path"),
        ({"Return_Path": "<alice@acme.example>"}, None),
    ],
)
def test_automatic_mail(headers, reason):
    assert parse(raw(**headers)).automatic == reason


def test_mailer_daemon_is_automatic():
    msg = raw().replace(b"Alice Martin <Alice@Acme.Example>", b"MAILER-DAEMON@mx.example")
    assert parse(msg).automatic == "sender mailer-daemon@mx.example"


def test_quoted_history_is_stripped_for_display_only():
    text = "Still broken.\nThanks\n\nOn Mon, 30 Nov 2026 at 10:00, Support <s@x> wrote:\n> Please retry\n"
    parsed = parse(raw(text=text))
    assert parsed.display_text == "Still broken.\nThanks"
    assert "Please retry" in parsed.text
    assert strip_quoted("Oui\nLe lun. 30 nov. 2026 à 10:00, Support a écrit :\n> ok") == "Oui"
    assert strip_quoted("Done\n-----Original Message-----\nFrom: x") == "Done"
    assert strip_quoted("> only a quote") == "> only a quote"  # nothing new: keep it all


def test_text_part_preferred_html_converted_otherwise():
    msg = EmailMessage()
    msg["From"] = "a@b.example"
    msg.set_content("plain words")
    msg.add_alternative("<p>html <i>words</i></p>", subtype="html")
    both = parse(msg.as_bytes())
    assert both.text == "plain words" and both.html is not None and "<i>words</i>" in both.html
    assert (
        html_to_text("<div>a</div><div>b&amp;c</div><style>p{}</style><blockquote>q</blockquote>") == "a\n\nb&c\n\n> q"
    )


def test_language_and_a_message_without_id():
    parsed = parse(raw(Content_Language="en-GB").replace(b"Message-ID: <m1@acme.example>\n", b""))
    assert parsed.language == "en" and parsed.message_id is None


def test_malformed_mail_does_not_raise():
    parsed = parse(
        b"From: nobody\r\nSubject: =?bogus?q?x?=\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\n\xff\xfe"
    )
    assert parsed.sender == "" and parsed.automatic == "sender (none)"
