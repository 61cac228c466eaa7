"""HTTP for CalDAV: one session with auth, every request counted, every failure mapped to an error.

The only module of the package that imports ``requests``. Everything above it (discovery, sync,
write) sends a method, URL, body and headers and gets back a :class:`Reply` with the body already
read, or one of the :mod:`~booking.calendar_sync.dav.errors` it can act on:

* network failures, 5xx, 408/425/429 → :class:`CalendarTransportError` (retry later);
* 401 and redirects → :class:`CalendarConnectionError` (an admin must fix the settings);
* a body larger than the cap → :class:`CalendarResponseTooLarge`.

Every request is bounded (:class:`Limits`): a connect timeout, a read timeout per socket
operation, a total deadline on the whole exchange (:mod:`.deadline`: a server dripping bytes
cannot hold a request longer), and a size cap on the body, which is streamed, so an endless 207
fails after the cap instead of filling memory. Error messages carry the status and its standard
reason phrase, never the server's body or reason text: they reach the admin API and the logs, and
what a server puts there is not ours to repeat.

:class:`Collection` adds what every layer needs about the one calendar collection it talks to: its
URL, how to resolve an href against it, and how a refused request on it is reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urljoin

import requests

from booking.calendar_sync.dav.deadline import DeadlineAdapter, deadline
from booking.calendar_sync.dav.errors import (
    CalendarConnectionError,
    CalendarError,
    CalendarRequestError,
    CalendarResponseTooLarge,
    CalendarTransportError,
)
from booking.calendar_sync.dav.model import TransferStats, norm_href
from booking.calendar_sync.dav.multistatus import XML_CT, XML_HEAD, D, DavResponse

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_READ_TIMEOUT",
    "Collection",
    "Limits",
    "Reply",
    "Transport",
    "status_text",
]

#: seconds to establish the TCP (and TLS) connection
DEFAULT_CONNECT_TIMEOUT = 10.0
#: seconds of silence tolerated between two reads (Radicale starts a 10,000-event REPORT within ~1 s)
DEFAULT_READ_TIMEOUT = 10.0
#: seconds for the whole exchange, connect to last body byte, whatever the server sends meanwhile
DEFAULT_DEADLINE = 60.0
#: bytes of (decoded) body per response: a full sync of 10,000 events is 5.2 MB (bench/sync.py), so ~100,000
DEFAULT_MAX_RESPONSE_BYTES = 50 * 1024 * 1024
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """How long and how much one request may take (see the module docstring)."""

    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    deadline: float = DEFAULT_DEADLINE
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def __post_init__(self) -> None:
        if min(self.connect_timeout, self.read_timeout, self.deadline) <= 0 or self.max_response_bytes <= 0:
            raise ValueError(f"limits must be positive: {self!r}")


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


def status_text(status: int) -> str:
    """``404 Not Found``: the status with its standard phrase (the server's own text is not repeated)."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _size(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"


class Transport:
    """One HTTP session (auth, user agent, limits) and the counters of what went over it.

    A caller's ``session`` gets the deadline adapter mounted too: the deadline is not optional.
    Not thread-safe: use one per thread / per sync pass.
    """

    def __init__(
        self,
        username: str | None = None,
        password: str | None = None,
        *,
        limits: Limits | None = None,
        session: requests.Session | None = None,
        user_agent: str = "booking-calendar-sync/1",
    ) -> None:
        self.limits = limits or Limits()
        self._owns_session = session is None
        self._session = session or requests.Session()
        adapter = DeadlineAdapter()
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
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
        """Send one request within the limits; map transport-level failures; count it.

        Redirects are not followed: requests would turn a redirected PROPFIND
        into a GET; a moved calendar is a configuration error to report.
        """
        self.stats.requests += 1
        self.stats.by_method[method] += 1
        self.stats.bytes_sent += len(body or b"")
        limits = self.limits
        with deadline(limits.deadline) as watch:
            try:
                resp = self._session.request(
                    method,
                    url,
                    data=body,
                    headers=dict(headers or {}),
                    timeout=(limits.connect_timeout, limits.read_timeout),
                    allow_redirects=False,
                    stream=True,
                )
                try:
                    content = self._read_body(resp, method, url)  # inside the try: a reset mid-body is transport
                finally:
                    resp.close()  # back to the pool when read to the end, else the connection is dropped
            except requests.RequestException as exc:
                if watch.expired:
                    raise self._too_slow(method, url) from exc
                # requests wraps urllib3's MaxRetryError; its .reason is the useful part
                inner = getattr(exc.args[0], "reason", None) if exc.args else None
                detail = f"{type(exc).__name__}: {inner or exc}"
                raise CalendarTransportError(f"{method} {url}: {detail}") from exc
            if watch.expired:  # a close-delimited body cut by the deadline looks complete: it is not
                raise self._too_slow(method, url)
        reply = Reply(resp.status_code, resp.headers, content)
        status = reply.status_code
        if status >= 500 or status in (408, 425, 429):
            raise CalendarTransportError(
                f"{method} {url}: server answered {status_text(status)}",
                status=status,
                retry_after=_retry_after(reply.headers.get("Retry-After")),
            )
        if status == 401:
            raise CalendarConnectionError(f"bad credentials: {method} {url} answered 401 Unauthorized", status=401)
        if 300 <= status < 400 and status != 304:
            raise CalendarConnectionError(
                f"{url} redirects ({status}) to {reply.headers.get('Location', '')[:300]!r}: configure that URL",
                status=status,
            )
        return reply

    def _read_body(self, resp: requests.Response, method: str, url: str) -> bytes:
        """The whole (decoded) body, refused as soon as it exceeds the cap; counted as read."""
        cap = self.limits.max_response_bytes
        declared = resp.headers.get("Content-Length", "").strip()
        if declared.isascii() and declared.isdigit() and int(declared) > cap:
            raise self._too_large(method, url, resp.status_code, cap)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in resp.iter_content(_CHUNK):
                size += len(chunk)
                if size > cap:
                    raise self._too_large(method, url, resp.status_code, cap)
                chunks.append(chunk)
        finally:
            self.stats.bytes_received += size
            wire = getattr(resp.raw, "tell", None)
            self.stats.wire_bytes_received += int(wire()) if callable(wire) else size
        return b"".join(chunks)

    @staticmethod
    def _too_large(method: str, url: str, status: int, cap: int) -> CalendarResponseTooLarge:
        return CalendarResponseTooLarge(
            f"{method} {url}: the server's answer ({status_text(status)}) is larger than {_size(cap)}", status=status
        )

    def _too_slow(self, method: str, url: str) -> CalendarTransportError:
        return CalendarTransportError(
            f"{method} {url}: no complete answer within {self.limits.deadline:g} s (deadline)"
        )

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
        return CalendarRequestError(f"{what} answered {status_text(status)}", status=status)
