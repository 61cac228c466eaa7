"""link tokens at rest: booking tokens, manage tokens and feed keys stored hashed and sealed

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-01 11:00:00

Every existing token is kept (links already mailed keep working): its SHA-256 replaces the clear
value in the same column, renamed ``<name>_hash`` (the unique constraint stays), and a copy sealed
under BOOKING_SECRET_KEY goes into the new ``<name>_sealed`` column (see ``booking.tokens``). The
columns are renamed and filled in place, never dropped: on SQLite a dropped UNIQUE column would need
a table rebuild, which fails while other tables reference these ones.

The derivation is spelled out here, not imported, so this revision keeps doing what it did when the
application code moves on; it must stay identical to ``booking.tokens``.

Downgrade unseals the copies back into the clear columns (it needs the same secret key).
"""

import base64
import hashlib

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# (table, clear column) for each kind of link token.
TOKENS = (("customers", "booking_token"), ("bookings", "manage_token"), ("agents", "feed_key"))


def _fernet() -> Fernet:
    secret_key = current_app.config["SECRET_KEY"]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"booking.tokens", info=b"link-token-v1").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _rename(table: str, old: str, new: str) -> None:
    # Plain RENAME COLUMN (SQLite >= 3.25, PostgreSQL): no table rebuild, constraints and indexes kept.
    op.execute(sa.text(f'ALTER TABLE "{table}" RENAME COLUMN "{old}" TO "{new}"'))


def upgrade():
    fernet = _fernet()
    conn = op.get_bind()
    for table, column in TOKENS:
        op.add_column(table, sa.Column(f"{column}_sealed", sa.Text(), nullable=True))
        rows = conn.execute(sa.text(f'SELECT id, "{column}" FROM "{table}"')).all()
        for row_id, token in rows:
            conn.execute(
                sa.text(f'UPDATE "{table}" SET "{column}" = :hash, "{column}_sealed" = :sealed WHERE id = :id'),
                {
                    "hash": hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest(),
                    "sealed": fernet.encrypt(token.encode()).decode("ascii"),
                    "id": row_id,
                },
            )
        _rename(table, column, f"{column}_hash")


def downgrade():
    fernet = _fernet()
    conn = op.get_bind()
    for table, column in TOKENS:
        _rename(table, f"{column}_hash", column)
        rows = conn.execute(sa.text(f'SELECT id, "{column}_sealed" FROM "{table}"')).all()
        for row_id, sealed in rows:
            conn.execute(
                sa.text(f'UPDATE "{table}" SET "{column}" = :token WHERE id = :id'),
                {"token": fernet.decrypt(sealed.encode("ascii")).decode(), "id": row_id},
            )
        op.drop_column(table, f"{column}_sealed")
