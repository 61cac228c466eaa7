"""``booking reseal``: move everything sealed under an old BOOKING_SECRET_KEY to the current one.

Rotating the secret key signs every agent out and voids sign-in links and open forms (wanted), but
also leaves the sealed copies of link tokens and the CalDAV passwords unreadable. Run this once with
the new key configured and the old one in ``BOOKING_OLD_SECRET_KEY``: every sealed value is opened
with the old key and sealed again with the new one, in one transaction. Customers' links keep working
throughout (they are checked by hash, which does not depend on the key). Values already under the new
key are left as they are, so running it twice is harmless.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.calendar_sync.secrets import PasswordUndecryptable, decrypt_password, encrypt_password
from booking.models import Agent, Booking, CalendarConnection, Customer
from booking.tokens import TokenUnreadable, seal, unseal

# (model, column holding a sealed token)
_SEALED = (
    (Customer, "booking_token_sealed"),
    (Customer, "chat_token_sealed"),  # issue 17
    (Booking, "manage_token_sealed"),
    (Agent, "feed_key_sealed"),
)


@dataclass(frozen=True)
class Resealed:
    tokens: int
    passwords: int


def reseal(session: Session, old_key: str, new_key: str) -> Resealed:
    """Re-encrypt every sealed token and CalDAV password from ``old_key`` to ``new_key``."""
    tokens = passwords = 0
    for model, column in _SEALED:
        for row in session.scalars(select(model)):
            value = getattr(row, column)
            try:
                unseal(new_key, value)
                continue  # already under the new key
            except TokenUnreadable:
                setattr(row, column, seal(new_key, unseal(old_key, value)))
                tokens += 1
    for conn in session.scalars(select(CalendarConnection)):
        try:
            decrypt_password(new_key, conn.password_encrypted)
            continue
        except PasswordUndecryptable:
            conn.password_encrypted = encrypt_password(new_key, decrypt_password(old_key, conn.password_encrypted))
            passwords += 1
    session.commit()
    return Resealed(tokens, passwords)


@click.command("reseal")
@with_appcontext
def reseal_command() -> None:
    """After changing BOOKING_SECRET_KEY: re-encrypt link tokens and CalDAV passwords (old key in
    BOOKING_OLD_SECRET_KEY)."""
    from booking.extensions import db

    old_key = os.environ.get("BOOKING_OLD_SECRET_KEY")
    if not old_key:
        raise click.ClickException("set BOOKING_OLD_SECRET_KEY to the previous secret key")
    try:
        done = reseal(db.session, old_key, current_app.config["SECRET_KEY"])
    except (TokenUnreadable, PasswordUndecryptable) as exc:
        db.session.rollback()
        raise click.ClickException(f"nothing changed: a value opens with neither key ({exc})") from exc
    click.echo(f"resealed {done.tokens} link tokens and {done.passwords} CalDAV passwords under the current key")
