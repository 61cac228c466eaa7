"""CalDAV client: the only code that talks HTTP to an agent's calendar server.

Why plain ``requests`` WebDAV and not the ``caldav`` library (3.6): measured
against Radicale 3.9 with 200 events, ``caldav``'s
``get_objects_by_sync_token(load_objects=True)`` sends **202 requests** for a
full sync (a sync-collection listing, then one GET per object), and its
fallback for servers without sync support re-downloads the whole calendar on
every pass. It also folds status codes into its own exception types, so an
expired token (403 ``DAV:valid-sync-token``), a 412 on ``If-Match`` and a 401
are hard to tell apart, and byte counting needs patching its session. The
protocol subset we need is five request shapes (PROPFIND, REPORT
sync-collection / calendar-query / calendar-multiget, PUT, DELETE); written
directly they cost **one** request for a full sync (when the server caps a
REPORT's size - Radicale refuses more than 10,000 VEVENTs - an ETag listing
plus batched multiget instead), one for an incremental sync, and
``1 + ceil(changed / batch)`` for the ETag fallback, with every status code
mapped to an exception the caller can act on (:mod:`.errors`).

The package, along its seams:

* :mod:`.transport` - the HTTP session, auth, limits, request counting, status → error mapping;
* :mod:`.deadline` - the total deadline on one exchange (socket timeouts alone do not bound it);
* :mod:`.discovery` - the checks calendar connect runs on a URL;
* :mod:`.sync` - sync-collection, ETag listing, multiget, time-range queries;
* :mod:`.write` - PUT with preconditions, DELETE;
* :mod:`.client` - :class:`CalDAVClient`, which wires them to one collection;
* :mod:`.model`, :mod:`.multistatus`, :mod:`.errors` - the data, XML and exceptions they share.

Import from here; the submodules are the implementation.
"""

from booking.calendar_sync.dav.client import CalDAVClient
from booking.calendar_sync.dav.errors import (
    CalendarConflict,
    CalendarConnectionError,
    CalendarError,
    CalendarRequestError,
    CalendarResponseTooLarge,
    CalendarTransportError,
    CalendarUidConflict,
)
from booking.calendar_sync.dav.model import (
    CalendarClient,
    RemoteObject,
    SyncMode,
    SyncResult,
    TransferStats,
    resource_name,
)
from booking.calendar_sync.dav.transport import Limits

__all__ = [
    "CalDAVClient",
    "CalendarClient",
    "CalendarConflict",
    "CalendarConnectionError",
    "CalendarError",
    "CalendarRequestError",
    "CalendarResponseTooLarge",
    "CalendarTransportError",
    "CalendarUidConflict",
    "Limits",
    "RemoteObject",
    "SyncMode",
    "SyncResult",
    "TransferStats",
    "resource_name",
]
