"""customers.active: deactivating a customer keeps its history instead of deleting it

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:10:00

Issue 14: an admin deactivates a customer who left; the row, its bookings, calls and requests stay
(history and the SLA report need them), the booking link stops working and calls are no longer
routed to the dedicated agent. Every existing customer is active.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    # Plain DROP COLUMN (as 0002): batch mode would rebuild ``customers``, which bookings reference.
    op.drop_column("customers", "active")
