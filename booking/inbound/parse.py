"""Read one inbound e-mail the way a helpdesk does (pure: stdlib ``email`` with ``policy.default``).

What the rest of the channel needs from a raw message, decided here once and testable without a
server: who sent it, whether it is automatic mail (RFC 3834 and the de-facto headers that Chatwoot
and Zammad learnt about the hard way), its severity tag (``[S1]``..``[S5]``, else
:data:`DEFAULT_SEVERITY`), the request it answers (``In-Reply-To`` / ``References``, then a
``[#R123]`` tag in the subject), the text (the text part preferred, HTML converted with
``html.parser``), the text for display with the quoted history stripped, and the attachments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

#: severity when the subject carries no ``[S1]``..``[S5]`` tag: 3, "standard" (booking.core.sla)
DEFAULT_SEVERITY = 3

SEVERITY_TAG = re.compile(r"\[\s*S([1-5])\s*\]", re.IGNORECASE)
REQUEST_TAG = re.compile(r"\[#R(\d{1,12})\]", re.IGNORECASE)
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_AUTOMATIC_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_DAEMONS = ("mailer-daemon", "postmaster")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True)
class ParsedMail:
    """Everything the ingestion needs, already decoded; ``automatic`` names why no reply may go out."""

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    sender: str  # the From address, lower-cased ("" when unreadable)
    sender_name: str
    reply_to: str | None
    automatic: str | None  # the reason this is automatic mail, or None for a person's mail
    severity: int
    request_tag: int | None
    text: str
    html: str | None
    display_text: str
    language: str | None  # Content-Language / Accept-Language, first tag ("fr", "en"), if any
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Message-IDs this one answers, nearest first (In-Reply-To, then References newest first)."""
        return tuple(dict.fromkeys([*self.in_reply_to, *reversed(self.references)]))


def message_ids(value: str | None) -> tuple[str, ...]:
    return tuple(MESSAGE_ID.findall(value or ""))


def automatic_reason(msg: EmailMessage, sender: str) -> str | None:
    """Why this message must never be answered automatically, or None (RFC 3834 section 2 and practice)."""
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto}"
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if precedence in _AUTOMATIC_PRECEDENCE:
        return f"Precedence: {precedence}"
    for header in ("List-Id", "List-Unsubscribe", "X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if msg.get(header) is not None:
            return header
    if "Return-Path" in msg:
        path = str(msg.get("Return-Path", "")).strip()
        if path in ("", "<>"):
            return "empty Return-Path"
    local = sender.split("@", 1)[0]
    if not sender or local in _DAEMONS:
        return f"sender {sender or '(none)'}"
    if msg.get_content_type() == "multipart/report":  # a delivery status notification, whoever sends it
        return "multipart/report"
    return None


class _TextFromHtml(HTMLParser):
    """HTML to readable text: block elements become line breaks, scripts and styles are dropped."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "blockquote":
            self.parts.append("> ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextFromHtml()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_QUOTE_HEADERS = (
    re.compile(r"^On .{1,200} wrote:\s*$"),  # Gmail, Thunderbird, Apple Mail (en)
    re.compile(r"^Le .{1,200} a écrit\s*:\s*$"),  # the same in French
    re.compile(r"^-{2,}\s*(Original Message|Message d'origine|Message original)\s*-{2,}", re.IGNORECASE),
    re.compile(r"^(From|De)\s*:\s.+$"),  # Outlook's header block
)


def strip_quoted(text: str) -> str:
    """The new part of a reply: stops at the quoted history ("On ... wrote:", "> " lines, Outlook's block)."""
    kept: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(">") or any(p.match(stripped) for p in _QUOTE_HEADERS):
            break
        kept.append(line.rstrip())
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept) or text.strip()


def _body(msg: EmailMessage) -> tuple[str, str | None]:
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    html = _content(html_part) if html_part is not None else None
    if text_part is not None:
        return _content(text_part), html
    return (html_to_text(html) if html else ""), html


def _content(part: MIMEPart) -> str:
    try:
        return str(part.get_content())
    except (LookupError, ValueError):  # an unknown charset: decode leniently rather than refuse the mail
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload or "")


def _attachments(msg: EmailMessage) -> tuple[Attachment, ...]:
    found = []
    for part in msg.iter_attachments():
        if part.get_content_maintype() == "multipart":
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        found.append(Attachment(part.get_filename() or "attachment", part.get_content_type(), content))
    return tuple(found)


def _language(msg: EmailMessage) -> str | None:
    for header in ("Content-Language", "Accept-Language"):
        value = str(msg.get(header, "")).strip()
        if value:
            return value.split(",")[0].split(";")[0].split("-")[0].strip().lower() or None
    return None


def parse(raw: bytes) -> ParsedMail:
    """Parse a raw RFC 5322 message; never raises on malformed headers (the defects are tolerated)."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    name, address = parseaddr(str(msg.get("From", "")))
    sender = address.strip().lower() if "@" in address else ""
    reply_to = [a for _, a in getaddresses([str(msg.get("Reply-To", ""))]) if "@" in a]
    subject = " ".join(str(msg.get("Subject", "")).split())
    severity = SEVERITY_TAG.search(subject)
    tag = REQUEST_TAG.search(subject)
    ids = message_ids(str(msg.get("Message-ID", "")))
    text, html = _body(msg)
    return ParsedMail(
        message_id=ids[0] if ids else None,
        in_reply_to=message_ids(str(msg.get("In-Reply-To", ""))),
        references=message_ids(str(msg.get("References", ""))),
        subject=subject,
        sender=sender,
        sender_name=name.strip(),
        reply_to=reply_to[0].lower() if reply_to else None,
        automatic=automatic_reason(msg, sender),
        severity=int(severity.group(1)) if severity else DEFAULT_SEVERITY,
        request_tag=int(tag.group(1)) if tag else None,
        text=text.strip(),
        html=html,
        display_text=strip_quoted(text),
        language=_language(msg),
        attachments=_attachments(msg),
    )
