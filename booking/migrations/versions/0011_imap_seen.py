"""imap_mailboxes and imap_seen: the IMAP poller's back-off state and the UIDs it imported

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 13:50:00

Issue 15: the worker polls ``BOOKING_IMAP_URL``; a message is never imported twice, by UID (this
table, per UIDVALIDITY) and by Message-ID (the ingest). New tables only: nothing to migrate, and
the downgrade drops them (the mailbox keeps its messages and their \\Seen flags). Assigned
``down_revision = "0008"``; this branch merges the e-mail branch, so it follows that branch's 0010
here (one head); the lead re-chains it at merge time.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "imap_mailboxes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("last_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imap_mailboxes")),
        sa.UniqueConstraint("key", name=op.f("uq_imap_mailboxes_key")),
    )
    op.create_table(
        "imap_seen",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["imap_mailboxes.id"],
            name=op.f("fk_imap_seen_mailbox_id_imap_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("outcome IN ('ingested', 'too_large')", name=op.f("ck_imap_seen_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imap_seen")),
        sa.UniqueConstraint("mailbox_id", "uidvalidity", "uid", name="uq_imap_seen_uid"),
    )


def downgrade():
    op.drop_table("imap_seen")
    op.drop_table("imap_mailboxes")
