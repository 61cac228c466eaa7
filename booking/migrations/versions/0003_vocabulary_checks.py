"""vocabulary checks: the database refuses a topic, call state, sync status or busy source it does not know

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:45:00

Bookings' status and kind, agents' tier, outbox and callback statuses were constrained by 0001; this
adds the remaining columns of ``booking.vocabulary``. The value lists are written out here, not
imported: a migration is a snapshot, and widening a set later takes a new migration.

Before 0003 a ``<Dial>`` outcome Twilio does not document was stored as sent; such rows become
``failed`` (what the code always did with them: the caller went to voicemail). Downgrading keeps them so.

SQLite cannot add a CHECK to a table, so batch mode rebuilds the four tables: ``env.py`` runs SQLite
migrations with foreign keys off (else dropping the old ``bookings`` would delete through the
callbacks that point at it), so this migration checks them before it commits; the overlap-guard triggers go with the old
``bookings`` and are created again here.
"""

import sqlalchemy as sa
from alembic import op

from booking import db_guards

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

CALL_STATUSES = (
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

# (table, constraint name, column, allowed values)
CHECKS = [
    ("bookings", "ck_bookings_topic", "topic", ("help", "training", "setup-changes", "callback")),
    ("calls", "ck_calls_status", "status", CALL_STATUSES),
    ("calendar_connections", "ck_calendar_connections_last_sync_status", "last_sync_status", ("ok", "error")),
    ("busy_blocks", "ck_busy_blocks_source", "source", ("caldav",)),
]


def _in(column, values):
    listed = ", ".join("'" + value + "'" for value in values)
    return f"{column} IN ({listed})"


def _sqlite():
    return op.get_bind().dialect.name == "sqlite"


def _restore_guards(table):
    if table == "bookings" and _sqlite():
        for statement in db_guards.SQLITE_DOWN + db_guards.SQLITE_UP:
            op.execute(statement)


def _refuse_dangling_references():
    """Foreign keys are off during the rebuild: verify them before this migration commits."""
    if _sqlite():
        dangling = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if dangling:
            raise RuntimeError(f"the rebuild left rows pointing at missing rows: {dangling[:5]}")


def upgrade():
    op.execute(
        sa.text(f"UPDATE calls SET status = 'failed' WHERE NOT ({_in('status', CALL_STATUSES)})"),
    )
    for table, name, column, values in CHECKS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(op.f(name), _in(column, values))
        _restore_guards(table)
    _refuse_dangling_references()


def downgrade():
    for table, name, _column, _values in reversed(CHECKS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(name), type_="check")
        _restore_guards(table)
    _refuse_dangling_references()
