"""HTTP for CalDAV: one session with auth, every request counted, every failure mapped to an error.

The only module of the package that imports ``requests``. Everything above it (discovery, sync,
write) sends a method, URL, body and headers and gets back a :class:`Reply` with the body already
read, or one of the :mod:`~booking.calendar_sync.dav.errors` it can act on:

* network failures, 5xx, 408/425/429 → :class:`CalendarTransportError` (retry later);
* 401 and redirects → :class:`CalendarConnectionError` (an admin must fix the settings).

:class:`Collection` adds what every layer needs about the one calendar collection it talks to: its
URL, how to resolve an href against it, and how a refused request on it is reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

import requests

from booking.calendar_sync.dav.errors import (
    CalendarConnectionError,
    CalendarError,
    CalendarRequestError,
    CalendarTransportError,
)
from booking.calendar_sync.dav.model import TransferStats, norm_href
from booking.calendar_sync.dav.multistatus import XML_CT, XML_HEAD, D, DavResponse

__all__ = ["Collection", "Reply", "Transport", "error_body"]


@dataclass(frozen=True, slots=True)
class Reply:
    """A response whose body has been read: what the layers above look at."""

    status_code: int
    headers: Mapping[str, str]  # case-insensitive (requests' CaseInsensitiveDict)
    content: bytes


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in its delta-seconds form; the HTTP-date form is ignored."""
    if value and value.strip().isascii() and value.strip().isdigit():
        return float(value.strip())
    return None


def error_body(reply: Reply) -> str:
    """A short, single-line excerpt of an error body for messages and logs."""
    text = reply.content.decode("utf-8", "replace") if reply.content else ""
    return " ".join(text.split())[:200]


class Transport:
    """One HTTP session (auth, user agent, timeouts) and the counters of what went over it.

    Not thread-safe: use one per thread / per sync pass.
    """

    def __init__(
        self,
        username: str | None = None,
        password: str | None = None,
        *,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        session: requests.Session | None = None,
        user_agent: str = "booking-calendar-sync/1",
    ) -> None:
        self._timeout = timeout
        self._owns_session = session is None
        self._session = session or requests.Session()
        if username is not None:
            self._session.auth = (username, password or "")
        self._session.headers["User-Agent"] = user_agent
        self.stats = TransferStats()

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send one request; map transport-level failures; count it.

        Redirects are not followed: requests would turn a redirected PROPFIND
        into a GET; a moved calendar is a configuration error to report.
        """
        self.stats.requests += 1
        self.stats.by_method[method] += 1
        self.stats.bytes_sent += len(body or b"")
        try:
            resp = self._session.request(
                method,
                url,
                data=body,
                headers=dict(headers or {}),
                timeout=self._timeout,
                allow_redirects=False,
            )
            content = resp.content  # read now, inside the try: a reset mid-body is transport
        except requests.RequestException as exc:
            # requests wraps urllib3's MaxRetryError; its .reason is the useful part
            inner = getattr(exc.args[0], "reason", None) if exc.args else None
            detail = f"{type(exc).__name__}: {inner or exc}"
            raise CalendarTransportError(f"{method} {url}: {detail}") from exc
        self.stats.bytes_received += len(content)
        wire = getattr(resp.raw, "tell", None)
        self.stats.wire_bytes_received += int(wire()) if callable(wire) else len(content)
        reply = Reply(resp.status_code, resp.headers, content)
        status = reply.status_code
        if status >= 500 or status in (408, 425, 429):
            raise CalendarTransportError(
                f"{method} {url}: server answered {status} {error_body(reply)}",
                status=status,
                retry_after=_retry_after(reply.headers.get("Retry-After")),
            )
        if status == 401:
            raise CalendarConnectionError(f"bad credentials: {method} {url} answered 401 Unauthorized", status=401)
        if 300 <= status < 400 and status != 304:
            raise CalendarConnectionError(
                f"{url} redirects ({status}) to {reply.headers.get('Location')!r}: configure that URL",
                status=status,
            )
        return reply

    def xml(self, method: str, url: str, body: str, depth: str) -> Reply:
        """A WebDAV request with an XML body (PROPFIND, REPORT) and a ``Depth`` header."""
        return self.request(
            method,
            url,
            body=(XML_HEAD + body).encode(),
            headers={"Content-Type": XML_CT, "Depth": depth},
        )


class Collection:
    """The calendar collection at ``url`` as reached through ``http``."""

    def __init__(self, http: Transport, url: str) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"collection URL must be http(s): {url!r}")
        self.http = http
        self.url = url if url.endswith("/") else url + "/"
        self.path = norm_href(self.url)

    def url_for(self, href: str) -> str:
        """Absolute URL of a server-relative ``href`` (as found in a multistatus)."""
        return urljoin(self.url, href)

    def is_self(self, href: str) -> bool:
        """Whether ``href`` names the collection itself (servers differ on the trailing slash)."""
        return href.rstrip("/") == self.path.rstrip("/")

    def is_collection(self, r: DavResponse) -> bool:
        """The collection itself or a sub-collection: not a calendar object."""
        if self.is_self(r.href):
            return True
        rtype = r.props.get(f"{D}resourcetype")
        return rtype is not None and rtype.find(f"{D}collection") is not None

    def error(self, reply: Reply, what: str) -> CalendarError:
        """The error for a request on this collection that the server refused."""
        status = reply.status_code
        if status == 403:
            return CalendarConnectionError(f"access denied: {what} on {self.url} answered 403 Forbidden", status=403)
        if status in (404, 410):
            return CalendarConnectionError(f"not found: no calendar collection at {self.url} ({status})", status=status)
        return CalendarRequestError(f"{what} answered {status}: {error_body(reply)}", status=status)
