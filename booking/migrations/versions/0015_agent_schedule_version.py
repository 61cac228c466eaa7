"""agents.schedule_version: bumped by every change to an agent's busy time, keys the busy-time cache

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 14:00:00

Issue 19: availability answers and the booking check reuse the agent's parsed busy time from an
in-process cache instead of re-reading and re-parsing thousands of rows per request. The cache is
keyed by this counter, which ``schedule.lock_agent`` increments in the same statement that locks the
agent row, inside every transaction that changes bookings, callbacks' reservations, time off or
synced busy blocks; a rolled-back transaction rolls its increment back too.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule_version", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    # Plain DROP COLUMN (as 0002/0008): batch mode would rebuild ``agents``, which others reference.
    op.drop_column("agents", "schedule_version")
