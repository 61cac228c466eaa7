"""request_messages and request_attachments: an e-mail request's thread; request_events gains ``message``

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 13:40:00

Issue 15: mail to BOOKING_SUPPORT_EMAIL becomes a request; every message in and out of its thread is
a row (``message_id`` unique: ingestion is idempotent and threading looks it up), attachments are
rows of their own (content NULL when over the size cap). A reply that joins a request is logged as
a ``message`` event, so the request_events kind CHECK is rebuilt (batch mode on SQLite, which cannot
alter a CHECK; nothing points at request_events). The value lists are written out: a migration is a
snapshot. The lead re-chains ``down_revision`` at merge time.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OLD_KINDS = ("created", "responded", "escalated", "moved", "assigned", "taken", "warned", "resolved", "breached")
NEW_KINDS = (*OLD_KINDS, "message")
KIND_CHECK = "ck_request_events_kind"


def _kinds(values):
    return "kind IN (" + ", ".join("'" + value + "'" for value in values) + ")"


def _replace_kinds(values):
    with op.batch_alter_table("request_events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(KIND_CHECK), type_="check")
        batch_op.create_check_constraint(op.f(KIND_CHECK), _kinds(values))


def upgrade():
    op.create_table(
        "request_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=False),
        sa.Column("in_reply_to", sa.String(length=500), nullable=True),
        sa.Column("refs", sa.Text(), nullable=True),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("sender_name", sa.String(length=200), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column("reply_to", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("display_text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("automatic", sa.String(length=200), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_request_messages_direction")),
        sa.CheckConstraint("kind IN ('customer', 'ack', 'reply')", name=op.f("ck_request_messages_kind")),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name=op.f("fk_request_messages_request_id_requests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_request_messages_message_id")),
    )
    op.create_index("ix_request_messages_request", "request_messages", ["request_id", "id"])
    op.create_index("ix_request_messages_recipient", "request_messages", ["recipient", "kind", "created_at"])
    op.create_table(
        "request_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["request_messages.id"],
            name=op.f("fk_request_attachments_message_id_request_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_attachments")),
    )
    _replace_kinds(NEW_KINDS)


def downgrade():
    op.execute(sa.text("DELETE FROM request_events WHERE kind = 'message'"))
    _replace_kinds(OLD_KINDS)
    op.drop_table("request_attachments")
    op.drop_index("ix_request_messages_recipient", table_name="request_messages")
    op.drop_index("ix_request_messages_request", table_name="request_messages")
    op.drop_table("request_messages")
