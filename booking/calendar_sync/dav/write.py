"""Writing calendar objects: PUT with preconditions, DELETE, and the ETag re-read after a PUT.

Preconditions make concurrent edits safe: we never overwrite a change the agent made in their own
client since we last read it (``If-Match``), and never create a duplicate (``If-None-Match: *``).
A 412 becomes :class:`CalendarConflict`; re-reading the object and retrying on its fresh ETag is
the caller's move (see :mod:`booking.calendar_sync.push`).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from booking.calendar_sync.dav.errors import (
    CalendarConflict,
    CalendarConnectionError,
    CalendarRequestError,
    CalendarUidConflict,
)
from booking.calendar_sync.dav.model import norm_href, resource_name
from booking.calendar_sync.dav.multistatus import NS, parse_multistatus
from booking.calendar_sync.dav.transport import Collection, status_text

__all__ = ["delete", "href_for", "move", "put"]

_ICS_CT = "text/calendar; charset=utf-8"
_UID_TAKEN = (b"unique-scheduling-object-resource", b"no-uid-conflict")
#: RFC 4791 5.3.2.1 preconditions a PUT fails on because of the object itself (or this collection's
#: rules for objects): the same bytes will be refused again, so these are request errors.
_OBJECT_REFUSED = re.compile(
    rb"(valid-calendar-data|valid-calendar-object-resource|supported-calendar-data|supported-calendar-component"
    rb"|max-resource-size|min-date-time|max-date-time|max-instances|max-attendees-per-instance)"
)
_HREF = re.compile(rb"<(?:[A-Za-z0-9_-]+:)?href>\s*([^<]+?)\s*</(?:[A-Za-z0-9_-]+:)?href>")


def href_for(col: Collection, uid: str) -> str:
    """Server path of the object for ``uid`` (same form as sync hrefs)."""
    return norm_href(col.path + quote(resource_name(uid)))


def put(col: Collection, uid: str, ics: bytes, etag: str | None = None) -> str:
    """Create (``If-None-Match: *``) or update (``If-Match: etag``); return the new ETag.

    412 → :class:`CalendarConflict`; 403 because another collection holds the UID →
    :class:`CalendarUidConflict` (before the generic 403 "access denied", which it is not).
    """
    href = href_for(col, uid)
    headers = {"Content-Type": _ICS_CT}
    if etag:
        headers["If-Match"] = etag
    else:
        headers["If-None-Match"] = "*"
    resp = col.http.request("PUT", col.url_for(href), body=ics, headers=headers)
    status = resp.status_code
    if status == 412:
        raise CalendarConflict(href, "changed on the server" if etag else "already exists")
    if status == 403 and any(tag in resp.content for tag in _UID_TAKEN):
        found = _HREF.search(resp.content)
        raise CalendarUidConflict(href, norm_href(found.group(1).decode("utf-8", "replace")) if found else None)
    refused = _OBJECT_REFUSED.search(resp.content) if status in (400, 403, 409, 413, 415) else None
    if refused is not None:
        # A VTODO-only task list, a size or date limit: name the rule (ours to word, not the body).
        raise CalendarRequestError(
            f"PUT {href} refused with {status_text(status)}: the calendar does not accept this event "
            f"({refused.group(1).decode()})",
            status=status,
        )
    if status in (403, 404, 409, 410) and b"valid-calendar" not in resp.content:
        # 409 on PUT = the parent collection is missing (RFC 4918 9.7.1)
        if status == 409:
            raise CalendarConnectionError(f"not found: collection {col.url} is missing (409 on PUT)", status=409)
        raise col.error(resp, "PUT")
    if status not in (200, 201, 204):
        raise CalendarRequestError(f"PUT {href} refused with {status_text(status)}", status=status)
    new_etag = resp.headers.get("ETag")
    if new_etag:
        return new_etag
    # RFC 4791 5.3.4: no ETag when the server altered the data; ask for it.
    fetched = _etag(col, href)
    if fetched is None:
        raise CalendarRequestError(f"server returned no ETag for {href}")
    return fetched


def _etag(col: Collection, href: str) -> str | None:
    body = f"<D:propfind {NS}><D:prop><D:getetag/></D:prop></D:propfind>"
    resp = col.http.xml("PROPFIND", col.url_for(href), body, "0")
    if resp.status_code != 207:
        return None
    responses, _ = parse_multistatus(resp.content)
    return next((r.etag for r in responses if r.etag), None)


def delete(col: Collection, uid: str, etag: str | None = None) -> None:
    """Delete the object for ``uid``; already gone (404/410) counts as done.

    Idempotent because the outbox may retry a delete whose response was
    lost. With ``etag``, a 412 raises :class:`CalendarConflict`.
    """
    href = href_for(col, uid)
    headers = {"If-Match": etag} if etag else {}
    resp = col.http.request("DELETE", col.url_for(href), headers=headers)
    status = resp.status_code
    if status in (200, 202, 204, 404, 410):
        return
    if status == 412:
        raise CalendarConflict(href, "changed on the server")
    raise col.error(resp, "DELETE")


def move(col: Collection, source: str, uid: str) -> None:
    """MOVE the object at ``source`` (another collection of the same account) to ``uid``'s href here.

    ``Overwrite: F``: never replaces an object already at the destination (412 →
    :class:`CalendarConflict`). Any other refusal is a :class:`CalendarRequestError`.
    """
    target = href_for(col, uid)
    headers = {"Destination": col.url_for(target), "Overwrite": "F"}
    resp = col.http.request("MOVE", col.url_for(source), headers=headers)
    status = resp.status_code
    if status in (201, 204):
        return
    if status == 412:
        raise CalendarConflict(target, "already exists")
    raise CalendarRequestError(f"MOVE {source} -> {target} refused with {status_text(status)}", status=status)
