"""How a thread message is shown: the API's JSON (the request page renders the same rows)."""

from __future__ import annotations

from typing import Any

from booking.core.intervals import to_utc
from booking.inbound.models import RequestMessage


def serialize_message(row: RequestMessage) -> dict[str, Any]:
    return {
        "id": row.id,
        "direction": row.direction,
        "kind": row.kind,
        "message_id": row.message_id,
        "sender": row.sender,
        "recipient": row.recipient,
        "subject": row.subject,
        "text": row.display_text,
        "at": to_utc(row.received_at).isoformat(),
        "sent_at": to_utc(row.sent_at).isoformat() if row.sent_at else None,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size, "stored": a.content is not None}
            for a in row.attachments
        ],
    }
