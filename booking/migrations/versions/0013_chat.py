"""chat: conversations and messages, a chat token and allowed origins per customer, agents' last activity

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 13:30:00

Issue 17. The chat token is a link token like the booking token (``booking.tokens``): stored as its
SHA-256 plus a copy sealed under BOOKING_SECRET_KEY, never in clear. Every existing customer gets a
fresh one here, so every customer row has a chat token from this revision on. The derivation is
spelled out (not imported) for the same reason as in 0004: this revision must keep doing what it did.
"""

import base64
import hashlib
import secrets

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _fernet() -> Fernet:
    secret_key = current_app.config["SECRET_KEY"]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"booking.tokens", info=b"link-token-v1").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def upgrade():
    op.add_column("agents", sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("customers", sa.Column("chat_token_hash", sa.String(64), nullable=True))
    op.add_column("customers", sa.Column("chat_token_sealed", sa.Text(), nullable=True))
    op.add_column("customers", sa.Column("chat_origins", sa.JSON(), nullable=True))
    fernet = _fernet()
    conn = op.get_bind()
    for (customer_id,) in conn.execute(sa.text("SELECT id FROM customers")).all():
        token = secrets.token_urlsafe(24)
        conn.execute(
            sa.text("UPDATE customers SET chat_token_hash = :hash, chat_token_sealed = :sealed WHERE id = :id"),
            {
                "hash": hashlib.sha256(token.encode()).hexdigest(),
                "sealed": fernet.encrypt(token.encode()).decode("ascii"),
                "id": customer_id,
            },
        )
    op.create_index("ix_customers_chat_token_hash", "customers", ["chat_token_hash"], unique=True)
    op.create_table(
        "chat_conversations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("visitor_key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("visitor_name", sa.String(200), nullable=False),
        sa.Column("visitor_email", sa.String(320), nullable=True),
        sa.Column("locale", sa.String(8), nullable=False, server_default="en"),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("requests.id"), nullable=True),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_chat_conversations_customer", "chat_conversations", ["customer_id", "updated_at"])
    op.create_index("ix_chat_conversations_waiting", "chat_conversations", ["waiting_since"])
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.Integer(),
            sa.ForeignKey("chat_conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("author IN ('visitor', 'agent', 'system')", name=op.f("ck_chat_messages_author")),
    )
    op.create_index("ix_chat_messages_conversation", "chat_messages", ["conversation_id", "id"])


def downgrade():
    op.drop_index("ix_chat_messages_conversation", table_name="chat_messages")
    op.drop_table("chat_messages")
    op.drop_index("ix_chat_conversations_waiting", table_name="chat_conversations")
    op.drop_index("ix_chat_conversations_customer", table_name="chat_conversations")
    op.drop_table("chat_conversations")
    op.drop_index("ix_customers_chat_token_hash", table_name="customers")
    # Plain DROP COLUMN (as 0002/0008): batch mode would rebuild tables that others reference.
    op.drop_column("customers", "chat_origins")
    op.drop_column("customers", "chat_token_sealed")
    op.drop_column("customers", "chat_token_hash")
    op.drop_column("agents", "last_seen_at")
