"""Link tokens at rest (issue 12): booking tokens, manage tokens and feed keys are never stored in clear.

Each token is a 192-bit random string (``new_token``). The database keeps two things per token:

- ``<name>_hash``: its SHA-256 (hex). Lookups (``/book/<token>``) and checks (manage links, feed keys)
  compare hashes. The tokens are random and long, so a fast unkeyed hash is enough (there is nothing
  to brute-force), and links keep working whatever happens to the secret key.
- ``<name>_sealed``: the token encrypted (Fernet) under a key derived from ``BOOKING_SECRET_KEY`` with
  HKDF, like the CalDAV passwords, because the service must hand the link out again later: in the
  confirmation and reminder e-mails, the admin API, ``booking demo``, the agent's dashboard.

So a database dump alone yields no working link; it takes the dump *and* the secret key. Deriving the
tokens by HMAC from the secret key and a stored nonce would give the same property, but could not
keep the links that existed before this change: sealing can (migration 0004 hashes and seals them).

Rotating ``BOOKING_SECRET_KEY`` leaves every link working (the hashes do not depend on it) but makes
the sealed copies unreadable, as it does for CalDAV passwords; see docs/security.md.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Never change these: migration 0004 seals existing tokens with the same derivation.
_SALT = b"booking.tokens"
_INFO = b"link-token-v1"


class TokenUnreadable(Exception):
    """A sealed token was encrypted under another BOOKING_SECRET_KEY."""


def new_token(nbytes: int = 24) -> str:
    """An unguessable URL-safe token (booking links, manage links, feed keys)."""
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """What the database stores and compares: SHA-256 hex of the token (as sent, any text at all)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret_key: str, token: str) -> str:
    return _fernet(secret_key).encrypt(token.encode()).decode("ascii")


def unseal(secret_key: str, sealed: str) -> str:
    try:
        return _fernet(secret_key).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise TokenUnreadable("a stored link token cannot be decrypted (BOOKING_SECRET_KEY changed?)") from exc


def app_secret_key() -> str:
    from flask import current_app

    return str(current_app.config["SECRET_KEY"])


def sealed_token(name: str) -> Any:
    """A model attribute ``name`` backed by the ``<name>_hash`` and ``<name>_sealed`` columns.

    Reading it unseals the clear token (for links we hand out); assigning it stores hash and sealed
    copy; in a query, ``Model.<name> == token`` compares the hash column with the token's hash.
    """
    from sqlalchemy.ext.hybrid import Comparator, hybrid_property

    hash_attr, sealed_attr = f"{name}_hash", f"{name}_sealed"

    class HashComparator(Comparator[str]):
        def __eq__(self, other: object) -> Any:
            return self.expression == token_hash(str(other))

    def fget(self: Any) -> str:
        return unseal(app_secret_key(), getattr(self, sealed_attr))

    def fset(self: Any, value: str) -> None:
        setattr(self, hash_attr, token_hash(value))
        setattr(self, sealed_attr, seal(app_secret_key(), value))

    prop: Any = hybrid_property(fget)
    prop = prop.setter(fset)
    return prop.comparator(lambda cls: HashComparator(getattr(cls, hash_attr)))
