"""The transcript by e-mail (issue 17): an outbox handler, so a slow SMTP server never holds the widget."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from booking.chat.models import ChatConversation, ChatMessage
from booking.mail import Mail
from booking.notifications import message_id

if TYPE_CHECKING:
    from booking.effects import Context

_TEXTS = {
    "en": ("Your chat with {agent}", "Here is the transcript of your chat with {agent} ({customer}).", "System"),
    "fr": (
        "Votre discussion avec {agent}",
        "Voici la transcription de votre discussion avec {agent} ({customer}).",
        "Système",
    ),
}


def transcript_mail(conversation: ChatConversation, messages: list[ChatMessage], to: str, tz: Any) -> Mail:
    locale = conversation.locale if conversation.locale in _TEXTS else "en"
    subject, intro, system = _TEXTS[locale]
    agent = conversation.agent.name if conversation.agent else "support"
    names = {"visitor": conversation.visitor_name, "agent": agent, "system": system}
    lines = [intro.format(agent=agent, customer=conversation.customer.name), ""]
    for message in messages:
        stamp = message.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        lines.append(f"[{stamp}] {names.get(message.author, message.author)}:")
        lines.extend(f"  {line}" for line in message.text.splitlines() or [""])
        lines.append("")
    return Mail(to=[to], subject=subject.format(agent=agent), text="\n".join(lines))


def mail_transcript(ctx: Context, payload: dict[str, Any], now: datetime) -> None:
    """Send the conversation as it stood when the visitor asked (messages up to ``requested_at``)."""
    session = ctx.session
    conversation = session.get(ChatConversation, int(payload["conversation_id"]))
    if conversation is None:
        return
    until = datetime.fromisoformat(payload["requested_at"])
    messages = list(
        session.scalars(
            select(ChatMessage)
            .where(ChatMessage.conversation_id == conversation.id, ChatMessage.created_at <= until)
            .order_by(ChatMessage.id)
        )
    )
    mail = transcript_mail(conversation, messages, str(payload["email"]), ctx.settings.timezone)
    ctx.adapters.mailer.send(replace(mail, message_id=message_id(ctx)))
