"""call_attempts and handoffs: "Call now" on a phone request, and a live call handed to a senior

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 13:40:00

Issue 16, items 2 and 3. ``call_attempts`` holds one row per press of "Call now" (unique per request
and attempt number, written before Twilio is asked, so a replayed press places no second call);
``handoffs`` one row per live call moved into a conference for a senior (unique CallSid). The
request log gains the kinds ``called``, ``handoff``, ``joined`` and ``left``. Value lists are written
out, not imported: a migration is a snapshot. SQLite cannot alter a CHECK, so batch mode rebuilds
``request_events`` (no table points at it). Downgrading drops the new rows' events first.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OLD_KINDS = (
    "created",
    "responded",
    "escalated",
    "moved",
    "assigned",
    "taken",
    "warned",
    "resolved",
    "breached",
    "message",
)
NEW_KINDS = (*OLD_KINDS, "called", "handoff", "joined", "left")
KIND_CHECK = "ck_request_events_kind"


def _kinds(values):
    return "kind IN (" + ", ".join("'" + value + "'" for value in values) + ")"


def _replace_kinds(values):
    with op.batch_alter_table("request_events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(KIND_CHECK), type_="check")
        batch_op.create_check_constraint(op.f(KIND_CHECK), _kinds(values))


def upgrade():
    op.create_table(
        "call_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("agent_phone", sa.String(length=32), nullable=False),
        sa.Column("customer_phone", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("call_sid", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'calling', 'connected', 'failed')", name=op.f("ck_call_attempts_status")
        ),
        sa.CheckConstraint("attempt >= 1", name=op.f("ck_call_attempts_attempt")),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name=op.f("fk_call_attempts_request_id_requests")),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_call_attempts_agent_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_attempts")),
        sa.UniqueConstraint("request_id", "attempt", name=op.f("uq_call_attempts_request_id")),
        sa.UniqueConstraint("call_sid", name=op.f("uq_call_attempts_call_sid")),
    )
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("conference", sa.String(length=100), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("senior_id", sa.Integer(), nullable=False),
        sa.Column("agent_leg_sid", sa.String(length=64), nullable=True),
        sa.Column("senior_leg_sid", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name=op.f("fk_handoffs_request_id_requests")),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_handoffs_agent_id_agents")),
        sa.ForeignKeyConstraint(["senior_id"], ["agents.id"], name=op.f("fk_handoffs_senior_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handoffs")),
        sa.UniqueConstraint("call_sid", name=op.f("uq_handoffs_call_sid")),
        sa.UniqueConstraint("conference", name=op.f("uq_handoffs_conference")),
    )
    _replace_kinds(NEW_KINDS)


def downgrade():
    listed = ", ".join("'" + kind + "'" for kind in NEW_KINDS[len(OLD_KINDS) :])
    op.execute(sa.text(f"DELETE FROM request_events WHERE kind IN ({listed})"))
    _replace_kinds(OLD_KINDS)
    op.drop_table("handoffs")
    op.drop_table("call_attempts")
