"""agents.admin: agents who may see every queue, the triage queue and the SLA report in the browser

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("admin", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    # Plain DROP COLUMN (see 0002): a batch rebuild of ``agents`` fails while other tables reference it.
    op.drop_column("agents", "admin")
