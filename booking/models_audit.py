"""The admin console's audit log (issue 14, item 3): who did what to which agent, customer or booking.

Append-only: every admin action, from the admin pages and from the admin API's writes, adds one row
(``booking.services.audit.record``) in the same transaction as the change it describes, so a change
is never recorded without happening or the reverse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from booking.extensions import db
from booking.models import UTCDateTime, utcnow


class AuditEntry(db.Model):  # type: ignore[name-defined]
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: ``agent:<slug>`` for a signed-in admin, ``api`` for the bearer token, ``cli`` for the command line
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    #: ``agent:<slug>``, ``customer:<id>``, ``booking:<id>``
    target: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (Index("ix_audit_log_at", "at"),)
