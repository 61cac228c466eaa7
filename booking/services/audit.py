"""The admin console's audit log: one row per admin action, from the pages and the admin API.

Written right after the change committed (the change's own service owns its transaction), by the
one function :func:`record`; secrets (a calendar password) never reach the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.db_guards import write_transaction
from booking.models_audit import AuditEntry

#: Keys whose values are replaced by ``"***"`` before a detail is stored.
SECRET_KEYS = frozenset({"password", "token", "booking_token", "manage_token", "feed_key", "csrf_token"})
MAX_VALUE = 500


def _clean(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): "***" if str(k) in SECRET_KEYS else _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value[:50]]
    if isinstance(value, str):
        return value[:MAX_VALUE]
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)[:MAX_VALUE]


def record(
    session: Session, actor: str, action: str, target: str, details: Mapping[str, Any] | None, now: datetime
) -> AuditEntry:
    """Append one entry: ``actor`` (``agent:<slug>`` or ``api``), ``action``, ``target`` (``customer:12``)."""
    with write_transaction(session):
        entry = AuditEntry(
            at=now, actor=actor[:200], action=action[:64], target=target[:200], details=_clean(details or {})
        )
        session.add(entry)
    return entry


def recent(session: Session, limit: int = 200, target: str | None = None) -> list[AuditEntry]:
    """The latest entries first (optionally for one target)."""
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if target is not None:
        stmt = stmt.where(AuditEntry.target == target)
    return list(session.scalars(stmt))
