"""Migration 0011 (imap_mailboxes, imap_seen) up, down and up again, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from booking import create_app
from booking.extensions import db
from booking.models_imap import ImapMailbox, ImapSeen
from tests.conftest import base_env, scratch_database

BEFORE = "0010"  # this branch chains 0011 on the e-mail branch's 0010 (assigned: on 0008)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with scratch_database(request, tmp_path, "migration_0011") as url:
        yield url


def test_0011_creates_the_poller_tables_with_their_uniqueness_and_rolls_back(scratch_url: str, tmp_path: Path):
    app = create_app({"TESTING": True}, env=base_env(scratch_url, tmp_path))
    with app.app_context():
        upgrade(revision=BEFORE)
        assert "imap_seen" not in inspect(db.engine).get_table_names()
        upgrade(revision="0011")
        box = ImapMailbox(key="support@mail.example:993/INBOX", failures=0, imported=0)
        db.session.add(box)
        db.session.flush()
        now = datetime(2026, 12, 1, tzinfo=UTC)
        db.session.add(ImapSeen(mailbox_id=box.id, uidvalidity=7, uid=1, imported_at=now))
        db.session.add(ImapSeen(mailbox_id=box.id, uidvalidity=8, uid=1, imported_at=now))  # a new UIDVALIDITY
        db.session.commit()
        db.session.add(ImapSeen(mailbox_id=box.id, uidvalidity=7, uid=1, imported_at=now))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.add(ImapSeen(mailbox_id=box.id, uidvalidity=7, uid=2, outcome="lost", imported_at=now))
        with pytest.raises(IntegrityError):
            db.session.commit()  # the outcome CHECK
        db.session.rollback()
        db.session.close()
        downgrade(revision=BEFORE)
        assert not {"imap_seen", "imap_mailboxes"} & set(inspect(db.engine).get_table_names())
        upgrade()
        assert {"imap_seen", "imap_mailboxes"} <= set(inspect(db.engine).get_table_names())
        db.engine.dispose()
