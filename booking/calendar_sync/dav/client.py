"""The CalDAV client the service uses: one object per calendar collection, built from the layers.

:class:`CalDAVClient` is the :class:`~booking.calendar_sync.dav.model.CalendarClient` of the sync
pass, the push handler and calendar connect. It holds no protocol logic of its own: it wires one
:class:`~booking.calendar_sync.dav.transport.Transport` and one collection to
:mod:`~booking.calendar_sync.dav.discovery` (check), :mod:`~booking.calendar_sync.dav.sync`
(reading) and :mod:`~booking.calendar_sync.dav.write` (PUT/DELETE), so each concern can be read
and changed alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Self

import requests

from booking.calendar_sync.dav import discovery, write
from booking.calendar_sync.dav.model import RemoteObject, SyncMode, SyncResult
from booking.calendar_sync.dav.sync import Reader
from booking.calendar_sync.dav.transport import Collection, Limits, Transport

__all__ = ["CalDAVClient"]


class CalDAVClient:
    """A :class:`CalendarClient` for one CalDAV calendar collection.

    ``limits`` bounds every request (connect, read, total deadline, body size; defaults in
    :mod:`.transport`); ``timeout`` overrides its connect and read timeouts (one number for both,
    or a pair). ``sync_mode``: ``"auto"`` tries RFC 6578 sync-collection and falls back to
    ETag comparison (remembered for this client) when the server does not
    support it; ``"sync-collection"`` / ``"etag"`` force one strategy.

    Every request is counted in :attr:`stats` so tests and benchmarks can
    prove that an incremental sync transfers only the change.
    Not thread-safe: use one client per thread / per sync pass.
    """

    def __init__(
        self,
        collection_url: str,
        username: str | None = None,
        password: str | None = None,
        *,
        timeout: float | tuple[float, float] | None = None,
        limits: Limits | None = None,
        sync_mode: SyncMode = "auto",
        multiget_batch: int = 200,
        session: requests.Session | None = None,
        user_agent: str = "booking-calendar-sync/1",
    ) -> None:
        if not collection_url.startswith(("http://", "https://")):
            raise ValueError(f"collection URL must be http(s): {collection_url!r}")
        limits = limits or Limits()
        if timeout is not None:
            connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
            limits = replace(limits, connect_timeout=connect, read_timeout=read)
        self._http = Transport(username, password, limits=limits, session=session, user_agent=user_agent)
        self._col = Collection(self._http, collection_url)
        supported = {"auto": None, "sync-collection": True, "etag": False}[sync_mode]
        self._reader = Reader(self._col, multiget_batch, supported)
        self.collection_url = self._col.url
        self.stats = self._http.stats

    # -- lifecycle ---------------------------------------------------------- #

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the CalendarClient protocol ------------------------------------------ #

    def check(self) -> None:
        """Verify URL, credentials and that the URL is a calendar collection.

        Also learns from ``supported-report-set`` whether RFC 6578 sync is
        available, which saves a failed REPORT later.
        """
        advertised = discovery.check(self._col)
        if advertised is not None and self._reader.supported is None:
            self._reader.supported = advertised

    def fetch_range(self, start: datetime, end: datetime) -> list[RemoteObject]:
        """Objects with an occurrence in ``[start, end)``, unexpanded (see :meth:`Reader.fetch_range`)."""
        return self._reader.fetch_range(start, end)

    def sync(
        self, token: str | None, known_etags: Mapping[str, str] | None = None, echoes: Iterable[str] | None = None
    ) -> SyncResult:
        """Changes since ``token`` or ``known_etags``; ``echoes``: hrefs of our own writes (see :meth:`Reader.sync`)."""
        return self._reader.sync(token, known_etags, echoes)

    def get(self, uid: str) -> RemoteObject | None:
        """The object stored for ``uid``, or None (e.g. to re-read after a conflict)."""
        return self._reader.get(self.href_for(uid))

    def href_for(self, uid: str) -> str:
        """Server path of the object for ``uid`` (same form as sync hrefs)."""
        return write.href_for(self._col, uid)

    def put(self, uid: str, ics: bytes, etag: str | None = None) -> str:
        """Create or update the object for ``uid``; return its new ETag (see :func:`write.put`)."""
        return write.put(self._col, uid, ics, etag)

    def move(self, source: str, uid: str) -> None:
        """MOVE the object at ``source`` (same account) to ``uid``'s href here (see :func:`write.move`)."""
        write.move(self._col, source, uid)

    def delete(self, uid: str, etag: str | None = None) -> None:
        """Delete the object for ``uid``; already gone counts as done (see :func:`write.delete`)."""
        write.delete(self._col, uid, etag)
