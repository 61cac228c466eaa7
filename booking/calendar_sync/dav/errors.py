"""The exceptions of the CalDAV client: one class per thing a caller does about a failure.

Kept apart from the transport because every layer (discovery, sync, write) raises them and the
callers outside the package (sync pass, push handler, connect) branch on them:

* :class:`CalendarTransportError` - network failure, timeout, 5xx, 408/429: transient, retry with
  back-off (the durable outbox does).
* :class:`CalendarConnectionError` - bad credentials, missing or non-calendar collection,
  redirect: needs an admin; ``reason`` is shown to them.
* :class:`CalendarConflict` - 412 precondition failed: re-read and retry.
* :class:`CalendarRequestError` - the server refused this request/object (other 4xx): retrying the
  same bytes will not help; :class:`CalendarResponseTooLarge` when the answer exceeded the size cap;
  :class:`CalendarUidConflict` when another collection of the account already holds the UID (move
  it, see :mod:`booking.calendar_sync.push`).
"""

from __future__ import annotations

__all__ = [
    "CalendarConflict",
    "CalendarConnectionError",
    "CalendarError",
    "CalendarRequestError",
    "CalendarResponseTooLarge",
    "CalendarTransportError",
    "CalendarUidConflict",
]


class CalendarError(Exception):
    """Base class of every error this package raises."""


class CalendarTransportError(CalendarError):
    """Network failure, timeout or server-side (5xx/408/429) error: transient.

    The booking is already committed; the outbox retries with back-off.
    """

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        self.status = status
        #: seconds the server asked us to wait (``Retry-After`` on 429/503), if any
        self.retry_after = retry_after
        super().__init__(message)


class CalendarConnectionError(CalendarError):
    """The calendar cannot be used as configured; ``reason`` says why.

    Raised by :meth:`CalDAVClient.check` for every failure (including an
    unreachable server, so the admin API can answer with the reason), and by
    the other methods for 401/403/404 on the collection.
    """

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        self.reason = reason
        self.status = status
        super().__init__(reason)


class CalendarConflict(CalendarError):
    """412 Precondition Failed: the object exists (create) or changed (update).

    The caller re-reads the object (:meth:`CalDAVClient.get`) and retries
    with the fresh ETag.
    """

    def __init__(self, href: str, message: str) -> None:
        self.href = href
        super().__init__(f"{message}: {href}")


class CalendarRequestError(CalendarError):
    """The server refused the request (4xx other than the ones above)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class CalendarUidConflict(CalendarRequestError):
    """403 ``unique-scheduling-object-resource`` / ``no-uid-conflict`` on a PUT: the UID is taken.

    Cyrus keeps a scheduling object's UID unique across the whole account (RFC 6638 3.2.4.1): after
    an agent switches to another calendar of the same account, writing an already pushed booking
    there is refused. ``existing`` is the href the server names as holding the UID (None if it
    named none); MOVEing that object here is what resolves it.
    """

    def __init__(self, href: str, existing: str | None) -> None:
        self.href = href
        self.existing = existing
        where = f" by {existing}" if existing else " by another calendar of the account"
        super().__init__(f"PUT {href} refused (403): its UID is already used{where}", status=403)


class CalendarResponseTooLarge(CalendarRequestError):
    """The server's answer exceeded the per-response size cap; the rest of it was not read.

    A request error, not a transient one: the same request will get the same endless or oversized
    answer (the outbox still retries it, with back-off, like any failure).
    """
