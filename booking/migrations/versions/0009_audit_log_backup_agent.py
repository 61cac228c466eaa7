"""audit_log and customers.backup_agent_id: the admin console's record and the covering agent

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 13:40:00

Issue 14, items 3-4. Every admin action (pages and admin API writes) is written to ``audit_log``
(who, when, what, on what, details). A customer may name a ``backup_agent``: when the dedicated
agent is away (time off covering the slot, or deactivated), the booking page offers the backup's
slots instead of an empty page. Existing customers have no backup.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("backup_agent_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_customers_backup_agent_id_agents", "agents", ["backup_agent_id"], ["id"])


def downgrade():
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint("fk_customers_backup_agent_id_agents", type_="foreignkey")
        batch_op.drop_column("backup_agent_id")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
