"""requests and request_events: one SLA queue for every channel; every callback becomes a phone request

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-01 10:45:00

The lead re-chains ``down_revision`` onto the head of main when merging (0003/0004 are other
branches' migrations). Existing callbacks become phone requests, each with a ``created`` event (and
``responded`` / ``resolved`` when the callback was already done / cancelled), so the queue and the
SLA report start from the whole history. The downgrade drops both tables; callbacks are untouched
by the upgrade, so nothing is lost either way.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_EVENT_KINDS = "('created', 'responded', 'escalated', 'moved', 'assigned', 'taken', 'warned', 'resolved', 'breached')"


def _calendar():
    """The business calendar the app runs with (follow-up due times of migrated callbacks)."""
    from flask import current_app

    return current_app.extensions["booking.settings"].calendar


def upgrade():
    op.create_table(
        "requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("team", sa.String(length=16), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("follow_up_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("callback_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('phone', 'email', 'chat')", name=op.f("ck_requests_channel")),
        sa.CheckConstraint("team IN ('dedicated', 'senior', 'triage')", name=op.f("ck_requests_team")),
        sa.CheckConstraint("status IN ('open', 'responded', 'resolved')", name=op.f("ck_requests_status")),
        sa.CheckConstraint("severity BETWEEN 1 AND 5", name=op.f("ck_requests_severity")),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_requests_agent_id_agents")),
        sa.ForeignKeyConstraint(["callback_id"], ["callbacks.id"], name=op.f("fk_requests_callback_id_callbacks")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_requests_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requests")),
        sa.UniqueConstraint("callback_id", name=op.f("uq_requests_callback_id")),
    )
    op.create_index("ix_requests_status_due", "requests", ["status", "first_response_due_at"])
    op.create_index("ix_requests_received", "requests", ["received_at"])
    op.create_table(
        "request_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.CheckConstraint(f"kind IN {_EVENT_KINDS}", name=op.f("ck_request_events_kind")),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name=op.f("fk_request_events_request_id_requests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_events")),
        sa.UniqueConstraint("key", name=op.f("uq_request_events_key")),
    )
    op.create_index("ix_request_events_request", "request_events", ["request_id", "id"])
    _callbacks_to_requests()


def _aware(value):
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands back text when a type is not declared
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _callbacks_to_requests():
    """One phone request per existing callback, with the events that tell its story so far.

    The follow-up due time comes from today's ``core.sla`` (the SLA table itself, not a schema
    detail), on the business calendar the app is configured with.
    """
    from booking.core.sla import followup_due

    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"

    def stored(value):
        if value is None:
            return None
        return value.replace(tzinfo=None) if sqlite else value

    rows = bind.execute(
        sa.text(
            "SELECT c.id, c.customer_id, c.agent_id, c.phone, c.severity, c.due_at, c.status, c.created_at, "
            "c.done_at, v.received_at, a.tier FROM callbacks c JOIN voicemails v ON v.id = c.voicemail_id "
            "LEFT JOIN agents a ON a.id = c.agent_id ORDER BY c.id"
        ).columns(
            # By name (keywords), not by position: typed so both drivers hand back datetimes.
            due_at=sa.DateTime(timezone=True),
            created_at=sa.DateTime(timezone=True),
            done_at=sa.DateTime(timezone=True),
            received_at=sa.DateTime(timezone=True),
        )
    ).all()
    if not rows:
        return
    calendar = _calendar()
    requests = sa.table(
        "requests",
        *(
            sa.column(name, sa.DateTime(timezone=True))
            for name in ("received_at", "first_response_due_at", "first_response_at", "follow_up_due_at")
        ),
        *(sa.column(name, sa.DateTime(timezone=True)) for name in ("resolved_at", "created_at", "updated_at")),
        sa.column("id", sa.Integer()),
        sa.column("channel", sa.String()),
        sa.column("customer_id", sa.Integer()),
        sa.column("team", sa.String()),
        sa.column("agent_id", sa.Integer()),
        sa.column("severity", sa.Integer()),
        sa.column("subject", sa.String()),
        sa.column("status", sa.String()),
        sa.column("callback_id", sa.Integer()),
    )
    events = sa.table(
        "request_events",
        sa.column("request_id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("actor", sa.String()),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("details", sa.JSON()),
    )
    for cb in rows:
        received, created = _aware(cb.received_at), _aware(cb.created_at)
        done = _aware(cb.done_at)
        if cb.customer_id is None or cb.agent_id is None:
            team = "triage"
        elif cb.tier == "senior":
            team = "senior"
        else:
            team = "dedicated"
        status = {"pending": "open", "done": "responded"}.get(cb.status, "resolved")
        responded_at = done if cb.status == "done" else None
        resolved_at = (done or created) if status == "resolved" else None
        request_id = bind.execute(
            requests.insert()
            .values(
                channel="phone",
                customer_id=cb.customer_id,
                team=team,
                agent_id=cb.agent_id,
                severity=cb.severity,
                subject=f"Voicemail from {cb.phone}"[:300],
                received_at=stored(received),
                first_response_due_at=stored(_aware(cb.due_at)),
                first_response_at=stored(responded_at),
                follow_up_due_at=stored(followup_due(cb.severity, received, calendar)),
                status=status,
                resolved_at=stored(resolved_at),
                callback_id=cb.id,
                created_at=stored(created),
                updated_at=stored(done or created),
            )
            .returning(requests.c.id)
        ).scalar_one()
        story = [("created", created, {"callback_id": cb.id, "migrated": True, "severity": cb.severity})]
        if responded_at is not None:
            story.append(("responded", responded_at, {"callback_id": cb.id, "migrated": True}))
        if resolved_at is not None:
            story.append(("resolved", resolved_at, {"callback_id": cb.id, "migrated": True}))
        bind.execute(
            events.insert(),
            [
                {"request_id": request_id, "kind": kind, "actor": "migration", "at": stored(at), "details": details}
                for kind, at, details in story
            ],
        )


def downgrade():
    op.drop_index("ix_request_events_request", table_name="request_events")
    op.drop_table("request_events")
    op.drop_index("ix_requests_received", table_name="requests")
    op.drop_index("ix_requests_status_due", table_name="requests")
    op.drop_table("requests")
