"""The contact's zone, how the call happens, languages and booking rules (issue 18)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 13:40:00

bookings: ``contact_timezone`` (NULL = the business zone, as every existing booking was shown),
``phone`` (where the agent calls the contact), ``call_method`` (``phone`` | ``video``; existing rows
are phone calls). The contact's language stays in the existing ``bookings.locale``.
agents: ``language`` (their mails and SMS; existing agents ``en``, what they received so far),
``buffer_minutes`` and ``max_calls_per_day`` (NULL = the deployment's defaults).

The CHECKs are column constraints of ``ADD COLUMN`` (SQLite accepts those without rebuilding the
table, which the overlap triggers and foreign keys make costly), named as the models name them.
"""

import sqlalchemy as sa
from alembic import op

from booking import db_guards

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# Snapshots of booking.vocabulary.CallMethod / Language (a migration never imports the live lists).
CALL_METHODS = ("phone", "video")
LANGUAGES = ("en", "fr")


def _listed(values):
    return ", ".join(f"'{v}'" for v in values)


def upgrade():
    op.add_column("bookings", sa.Column("contact_timezone", sa.String(length=64), nullable=True))
    op.add_column("bookings", sa.Column("phone", sa.String(length=32), nullable=True))
    op.execute(
        "ALTER TABLE bookings ADD COLUMN call_method VARCHAR(8) DEFAULT 'phone' NOT NULL "
        f"CONSTRAINT ck_bookings_call_method CHECK (call_method IN ({_listed(CALL_METHODS)}))"
    )
    op.execute(
        "ALTER TABLE agents ADD COLUMN language VARCHAR(8) DEFAULT 'en' NOT NULL "
        f"CONSTRAINT ck_agents_language CHECK (language IN ({_listed(LANGUAGES)}))"
    )
    op.add_column("agents", sa.Column("buffer_minutes", sa.Integer(), nullable=True))
    op.add_column("agents", sa.Column("max_calls_per_day", sa.Integer(), nullable=True))


def downgrade():
    # Plain DROP COLUMN (as 0002/0008) where possible: batch mode would rebuild referenced tables.
    for table, column in (
        ("agents", "max_calls_per_day"),
        ("agents", "buffer_minutes"),
        ("bookings", "phone"),
        ("bookings", "contact_timezone"),
    ):
        op.drop_column(table, column)
    if op.get_bind().dialect.name == "postgresql":  # the CHECK goes with its column
        op.drop_column("agents", "language")
        op.drop_column("bookings", "call_method")
        return
    # SQLite refuses to drop a column a CHECK names: rebuild, then put back the overlap triggers
    # the rebuild of ``bookings`` dropped (as 0003 does).
    for table, column in (("agents", "language"), ("bookings", "call_method")):
        with op.batch_alter_table(table, recreate="always") as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
            batch_op.drop_column(column)
    for statement in db_guards.SQLITE_DOWN + db_guards.SQLITE_UP:
        op.execute(statement)
