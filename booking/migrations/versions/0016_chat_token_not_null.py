"""customers.chat_token_hash / chat_token_sealed NOT NULL, as the model says

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 17:15:00

0013 added both columns nullable and gave every customer a token, but left them nullable: a customer
inserted behind the ORM's back (a script, a restore from before 0013 replayed later) could have no
chat token, and ``customer_for_token`` / the widget snippet would meet a NULL the model says cannot
be there. This revision first gives any such row a fresh token exactly as 0013 did (a new random
token, stored as its SHA-256 and sealed under BOOKING_SECRET_KEY; a row with only one half set gets a
new pair, since the token cannot be recovered from its hash), so the upgrade never fails on existing
data, then makes both columns NOT NULL. The derivation is spelled out, not imported, as in 0013.

SQLite cannot change a column's nullability in place: batch mode rebuilds ``customers`` (env.py runs
SQLite migrations with foreign keys off for that), and the foreign keys are checked before commit.
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

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _fernet() -> Fernet:
    secret_key = current_app.config["SECRET_KEY"]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"booking.tokens", info=b"link-token-v1").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _backfill() -> None:
    conn = op.get_bind()
    missing = conn.execute(
        sa.text("SELECT id FROM customers WHERE chat_token_hash IS NULL OR chat_token_sealed IS NULL")
    ).all()
    if not missing:
        return
    fernet = _fernet()
    for (customer_id,) in missing:
        token = secrets.token_urlsafe(24)
        conn.execute(
            sa.text("UPDATE customers SET chat_token_hash = :hash, chat_token_sealed = :sealed WHERE id = :id"),
            {
                "hash": hashlib.sha256(token.encode()).hexdigest(),
                "sealed": fernet.encrypt(token.encode()).decode("ascii"),
                "id": customer_id,
            },
        )


def _nullable(nullable: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("customers", recreate="auto") as batch_op:
        batch_op.alter_column("chat_token_hash", existing_type=sa.String(64), nullable=nullable)
        batch_op.alter_column("chat_token_sealed", existing_type=sa.Text(), nullable=nullable)
    if sqlite:
        broken = op.get_bind().execute(sa.text("PRAGMA foreign_key_check")).all()
        if broken:
            raise RuntimeError(f"foreign keys broken by rebuilding customers: {broken[:5]}")


def upgrade():
    _backfill()
    _nullable(False)


def downgrade():
    _nullable(True)
