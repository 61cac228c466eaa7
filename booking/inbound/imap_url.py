"""``BOOKING_IMAP_URL``: which mailbox the worker polls, parsed once at start-up (pure, no network).

``imaps://user:pass@host:993/INBOX`` (TLS from the first byte), ``imap+starttls://...:143/INBOX``
(plain connection upgraded before login) or ``imap://`` (no TLS at all: refused unless the host is
the loopback, so a typo cannot send a mailbox password in clear over a network). User and password
are URL-decoded (``%40`` for ``@``, ``%2F`` for ``/``); the path is the folder, ``INBOX`` when empty.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

__all__ = ["DEFAULT_PORTS", "ImapTarget", "parse_imap_url"]

DEFAULT_PORTS = {"imaps": 993, "imap+starttls": 143, "imap": 143}
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


@dataclass(frozen=True)
class ImapTarget:
    """A parsed ``BOOKING_IMAP_URL``; ``key`` names the mailbox in the database (no password)."""

    scheme: str
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    folder: str = "INBOX"

    @property
    def tls(self) -> str:
        """``"ssl"`` (imaps), ``"starttls"`` or ``"none"``."""
        return {"imaps": "ssl", "imap+starttls": "starttls"}.get(self.scheme, "none")

    @property
    def key(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"[:300]


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_imap_url(url: str) -> ImapTarget:
    """Parse and check the URL; ``ValueError`` says what is wrong (never echoing the password)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError("must start with imaps://, imap+starttls:// or imap:// (loopback only)")
    if not parts.hostname:
        raise ValueError("has no host")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise ValueError("has an invalid port") from exc
    if not parts.username or parts.password is None:
        raise ValueError("must name the user and password (imaps://user:password@host/INBOX)")
    if parts.scheme == "imap" and not _loopback(parts.hostname):
        raise ValueError("imap:// sends the password in clear: use imaps:// or imap+starttls:// for a remote host")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or fragment")
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    if any(c in folder for c in '\r\n"\\'):
        raise ValueError("has a folder name with a quote, backslash or line break")
    return ImapTarget(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        user=unquote(parts.username),
        password=unquote(parts.password),
        folder=folder,
    )
