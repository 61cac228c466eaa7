"""agent sign-in: one-time link nonce, last sign-in time, session generation

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 11:45:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sign_in_nonce", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    # Plain DROP COLUMN (SQLite >= 3.35 has it): batch mode would rebuild ``agents``, and dropping the
    # old table fails while customers, bookings and callbacks reference it with foreign keys on.
    for column in ("session_generation", "last_sign_in_at", "sign_in_nonce"):
        op.drop_column("agents", column)
