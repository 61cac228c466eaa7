"""Flask extensions, created here unbound and ``init_app``'d in ``create_app``.

Keeping them module-level (the Flask tutorial's pattern) lets services import ``db`` without importing
the app, and lets every test build a fresh app with its own database.
"""

from __future__ import annotations

from typing import cast

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session

# Deterministic constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class _SQLAlchemy(SQLAlchemy):
    """Flask-SQLAlchemy, with ``db.session`` typed as the ``Session`` it stands for.

    ``db.session`` is a ``scoped_session`` that proxies every ``Session`` method to the session of
    the current app context; services are typed against ``Session`` (they also run with plain
    sessions in tests and benchmarks), so this one annotation says the proxy may be passed as one.
    """

    session: Session  # type: ignore[assignment]


db = _SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()


def remove_session() -> None:
    """End the current app context's session for good (what Flask-SQLAlchemy does at teardown).

    For work run in an app context of its own (a scheduler tick, the after-response drain).
    """
    cast("scoped_session[Session]", db.session).remove()
