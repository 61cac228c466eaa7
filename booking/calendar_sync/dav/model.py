"""What the CalDAV client hands back, and the interface the sync pass and the push program against.

Plain data (objects, sync results, transfer counters) and the :class:`CalendarClient` protocol, so
the callers and their tests can depend on these without the HTTP machinery; plus the two naming
rules every layer shares: where an object for a UID is stored, and how hrefs are compared.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Protocol
from urllib.parse import quote, unquote, urlsplit

__all__ = [
    "CalendarClient",
    "RemoteObject",
    "SyncMode",
    "SyncResult",
    "TransferStats",
    "norm_href",
    "resource_name",
]

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9@._+=-]{0,180}")

SyncMode = Literal["auto", "sync-collection", "etag"]


@dataclass(frozen=True, slots=True)
class RemoteObject:
    """One calendar object resource as stored on the server.

    ``href`` is the server-relative path in a canonical quoting (see
    :func:`norm_href`), the key the caller stores next to the ETag.
    """

    href: str
    etag: str | None
    data: bytes


@dataclass(frozen=True)
class SyncResult:
    """What changed on the server since the caller's last sync.

    The caller's new state is always ``(known − deleted) ∪ changed``:

    * ``changed`` - objects that are new or whose ETag differs from the
      ``known_etags`` the caller passed (with their data);
    * ``deleted`` - hrefs gone from the server;
    * ``token`` - store it and pass it next time (``None`` when the server
      has no RFC 6578 support: then pass ``known_etags``);
    * ``full`` - the delta came from a full listing, not from the token (no
      token, expired token, or ETag fallback). A caller that passed no
      ``known_etags`` must then drop everything not in ``changed``.
    """

    changed: list[RemoteObject]
    deleted: list[str]
    token: str | None
    full: bool


@dataclass
class TransferStats:
    """Requests and body bytes exchanged, for tests and benchmarks.

    ``bytes_received`` counts response bodies after content decoding (what
    the server had to serialise); ``wire_bytes_received`` as read from the
    socket (gzip-compressed when the server compresses). Headers excluded.
    """

    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    wire_bytes_received: int = 0
    by_method: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.requests = self.bytes_sent = self.bytes_received = self.wire_bytes_received = 0
        self.by_method.clear()

    def snapshot(self) -> TransferStats:
        return replace(self, by_method=Counter(self.by_method))


class CalendarClient(Protocol):
    """What the sync service needs from a calendar; one collection each."""

    stats: TransferStats

    def check(self) -> None: ...

    def fetch_range(self, start: datetime, end: datetime) -> list[RemoteObject]: ...

    def sync(
        self, token: str | None, known_etags: Mapping[str, str] | None = None, echoes: Iterable[str] | None = None
    ) -> SyncResult: ...

    def get(self, uid: str) -> RemoteObject | None: ...

    def put(self, uid: str, ics: bytes, etag: str | None = None) -> str: ...

    def delete(self, uid: str, etag: str | None = None) -> None: ...

    def move(self, source: str, uid: str) -> None: ...

    def href_for(self, uid: str) -> str: ...


def resource_name(uid: str) -> str:
    """File name under which the object with ``uid`` is stored.

    ``<uid>.ics`` when the UID is a safe path segment (RFC 4791 suggests it,
    and clients then show sensible URLs); otherwise a hash, so a UID with
    ``/``, spaces or non-ASCII cannot escape the collection or be re-quoted
    differently by a server.
    """
    if _SAFE_NAME.fullmatch(uid):
        return f"{uid}.ics"
    return f"uid-{hashlib.sha256(uid.encode()).hexdigest()[:40]}.ics"


def norm_href(href: str) -> str:
    """Canonical, quoted absolute path: servers differ in what they escape."""
    path = urlsplit(href.strip()).path
    return quote(unquote(path), safe="/@:+=,;!$&'()*~")
