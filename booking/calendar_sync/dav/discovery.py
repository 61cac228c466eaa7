"""Is this URL a calendar we can use? The checks an admin's ``PUT .../calendar`` runs before storing it.

:func:`check` turns every way a configured URL can be wrong (unreachable, bad credentials, not
WebDAV, not a calendar collection, moved) into one :class:`CalendarConnectionError` whose
``reason`` the admin API shows, and reports whether the server advertises RFC 6578 sync so the
first sync does not have to find out with a failed REPORT.
"""

from __future__ import annotations

from booking.calendar_sync.dav.errors import CalendarConnectionError, CalendarTransportError
from booking.calendar_sync.dav.multistatus import NS, C, D, parse_multistatus
from booking.calendar_sync.dav.transport import Collection

__all__ = ["check"]


def check(col: Collection) -> bool | None:
    """Verify URL, credentials and that the URL is a calendar collection.

    Returns whether ``supported-report-set`` lists sync-collection (None when the server does not
    say); raises :class:`CalendarConnectionError` for every failure.
    """
    body = f"<D:propfind {NS}><D:prop><D:resourcetype/><D:supported-report-set/></D:prop></D:propfind>"
    try:
        resp = col.http.xml("PROPFIND", col.url, body, "0")
    except CalendarTransportError as exc:
        if exc.status is None:
            raise CalendarConnectionError(f"unreachable: {exc}") from exc
        raise CalendarConnectionError(f"server error: {exc}", status=exc.status) from exc
    if resp.status_code != 207:
        err = col.error(resp, "PROPFIND")
        if isinstance(err, CalendarConnectionError):
            raise err
        raise CalendarConnectionError(
            f"not a WebDAV/CalDAV server: PROPFIND {col.url} answered {resp.status_code}",
            status=resp.status_code,
        )
    try:
        responses, _ = parse_multistatus(resp.content)
    except CalendarTransportError as exc:
        raise CalendarConnectionError(f"not a CalDAV server: {exc}") from exc
    mine = next((r for r in responses if col.is_self(r.href)), None)
    if mine is None:
        mine = responses[0] if responses else None
    rtype = mine.props.get(f"{D}resourcetype") if mine else None
    if rtype is None or rtype.find(f"{C}calendar") is None:
        raise CalendarConnectionError(f"not a calendar collection: {col.url} exists but is not a CalDAV calendar")
    reports = mine.props.get(f"{D}supported-report-set") if mine else None
    if reports is None:
        return None
    return reports.find(f".//{D}sync-collection") is not None
