"""CalDAV passwords at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from BOOKING_SECRET_KEY.

Why derive instead of using the secret directly: the secret key also signs sessions and manage links;
HKDF with a purpose-specific ``info`` gives this use its own independent key, so a weakness in one use
cannot be replayed against another, and no second secret has to be configured and backed up.
Rotating BOOKING_SECRET_KEY makes stored passwords unreadable: the sync then reports
``password cannot be decrypted`` and the admin re-enters it with ``PUT /api/agents/<slug>/calendar``.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["PasswordUndecryptable", "decrypt_password", "encrypt_password"]

_SALT = b"booking.calendar_sync"
_INFO = b"caldav-password-v1"


class PasswordUndecryptable(Exception):
    """The stored password was encrypted under another BOOKING_SECRET_KEY (or was tampered with)."""


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_password(secret_key: str, password: str) -> str:
    """Ciphertext (URL-safe text) to store in ``calendar_connections.password_encrypted``."""
    return _fernet(secret_key).encrypt(password.encode()).decode("ascii")


def decrypt_password(secret_key: str, token: str) -> str:
    try:
        return _fernet(secret_key).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise PasswordUndecryptable(
            "the stored CalDAV password cannot be decrypted (BOOKING_SECRET_KEY changed?); "
            "set the calendar again with PUT /api/agents/<slug>/calendar"
        ) from exc
