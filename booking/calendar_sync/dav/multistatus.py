"""WebDAV XML: the namespaces, request framing and the parser for 207 Multi-Status answers.

Every REPORT and PROPFIND answer goes through :func:`parse_multistatus`, so the rules for what a
response element means (per-response status, per-propstat status, canonical hrefs) live once.
"""

from __future__ import annotations

import codecs
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime

from booking.calendar_sync.dav.errors import CalendarTransportError
from booking.calendar_sync.dav.model import norm_href

log = logging.getLogger(__name__)

__all__ = ["C", "D", "NS", "XML_CT", "XML_HEAD", "DavResponse", "parse_multistatus", "status_code", "utc_stamp"]

D = "{DAV:}"
C = "{urn:ietf:params:xml:ns:caldav}"
XML_CT = 'application/xml; charset="utf-8"'
XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>'
NS = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"'


@dataclass
class DavResponse:
    """One ``DAV:response`` of a multistatus: its href, status and the properties found (2xx only)."""

    href: str
    status: int | None
    etag: str | None
    data: bytes | None
    props: dict[str, ET.Element]


def status_code(text: str | None) -> int | None:
    """``HTTP/1.1 404 Not Found`` → 404."""
    if not text:
        return None
    parts = text.split()
    if len(parts) >= 2 and parts[1].isascii() and parts[1].isdigit():
        return int(parts[1])
    return None


def utc_stamp(value: datetime) -> str:
    """An aware datetime as the UTC form CalDAV time-range filters take (``20261020T080000Z``)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"timezone-aware datetime required, got {value!r}")
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


_INVALID_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _repaired(content: bytes) -> bytes:
    """The body with bytes that are not UTF-8 read as Latin-1, and XML-forbidden controls dropped.

    Cyrus stores an event's bytes as they were PUT and serves them verbatim inside its UTF-8
    multistatus: one ``\\xe9`` written by an old client makes the whole answer ill-formed, and
    every pass failed on it. Latin-1 is what such a byte almost always is (``Caf\\xe9``), and
    decoding it so keeps the event readable instead of losing the calendar.
    """
    text = content.decode("utf-8", errors="booking-latin1-fallback")
    return _INVALID_XML_CHARS.sub("", text).encode("utf-8")


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error("booking-latin1-fallback", _latin1_fallback)


def parse_multistatus(content: bytes) -> tuple[list[DavResponse], str | None]:
    """Parse a 207 body into responses and the optional DAV:sync-token.

    Standard-library ElementTree: it never fetches external entities, and
    the bundled expat (>= 2.4) caps entity expansion. A body that is not
    well-formed is parsed once more leniently (:func:`_repaired`) before it
    counts as a server failure.
    """
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        try:
            root = ET.fromstring(_repaired(content))
        except ET.ParseError:
            raise CalendarTransportError(f"invalid XML in multistatus: {exc}") from exc
        log.warning("multistatus was not well-formed (%s); parsed with non-UTF-8 bytes read as Latin-1", exc)
    if root.tag != f"{D}multistatus":
        raise CalendarTransportError(f"expected DAV:multistatus, got {root.tag[:100]}")
    out: list[DavResponse] = []
    for resp in root.findall(f"{D}response"):
        href_el = resp.find(f"{D}href")
        if href_el is None or not href_el.text:
            continue
        status = status_code(resp.findtext(f"{D}status"))
        props: dict[str, ET.Element] = {}
        for propstat in resp.findall(f"{D}propstat"):
            ps_status = status_code(propstat.findtext(f"{D}status"))
            if ps_status is not None and not 200 <= ps_status < 300:
                continue
            prop = propstat.find(f"{D}prop")
            if prop is not None:
                for child in prop:
                    props[child.tag] = child
        etag_el = props.get(f"{D}getetag")
        data_el = props.get(f"{C}calendar-data")
        etag = etag_el.text.strip() if etag_el is not None and etag_el.text else None
        data = data_el.text.encode() if data_el is not None and data_el.text else None
        out.append(DavResponse(norm_href(href_el.text), status, etag, data, props))
    token = root.findtext(f"{D}sync-token")
    return out, (token.strip() if token else None)
