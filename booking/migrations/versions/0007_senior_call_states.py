"""calls.status: the press-2 states (ringing the seniors on duty, a severity-2 voicemail for them)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:10:00

Issue 16: in business hours a caller may press 2 to reach a senior technical agent. The call then
rings every senior on duty (``seniors``), and when nobody is on duty or nobody answers the caller
leaves a message for the senior team (``senior-voicemail``). The value list is written out, not
imported: a migration is a snapshot.

SQLite cannot alter a CHECK, so batch mode rebuilds ``calls`` (no other table points at it and it
has no triggers). Downgrading turns the new states into the nearest old ones: a call ringing the
seniors into ``dialing``, a senior voicemail into ``voicemail``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OLD = (
    "ringing",
    "dialing",
    "forwarded",
    "after-hours",
    "critical",
    "voicemail",
    "answered",
    "busy",
    "no-answer",
    "failed",
    "canceled",
)
NEW = (*OLD, "seniors", "senior-voicemail")
NAME = "ck_calls_status"


def _in(values):
    return "status IN (" + ", ".join("'" + value + "'" for value in values) + ")"


def _replace(values):
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(NAME), type_="check")
        batch_op.create_check_constraint(op.f(NAME), _in(values))


def upgrade():
    _replace(NEW)


def downgrade():
    op.execute(sa.text("UPDATE calls SET status = 'dialing' WHERE status = 'seniors'"))
    op.execute(sa.text("UPDATE calls SET status = 'voicemail' WHERE status = 'senior-voicemail'"))
    _replace(OLD)
