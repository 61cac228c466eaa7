"""Request hardening (issue 12): body size limit, security headers, safe media URLs.

Everything a stranger can send is bounded before a route reads it, and every response tells the
browser what it may do with it. ``init_app`` installs it all; rate limits live in
``booking.ratelimit`` and token storage in ``booking.tokens``.

- **Body limit**: ``BOOKING_MAX_REQUEST_BYTES`` (1 MiB by default) is Flask's ``MAX_CONTENT_LENGTH``,
  so Werkzeug stops reading a body at the limit; a declared ``Content-Length`` above it is refused
  before anything is read (413, JSON on ``/api/*`` and ``/twilio/*``, a page elsewhere). A route that
  needs more declares it with :func:`body_limit`.
- **Headers**: a strict CSP (scripts and styles from our own origin only, no inline code), no
  framing (``frame-ancestors 'none'`` + ``X-Frame-Options: DENY``) unless a route opts in with
  :func:`embeddable` (the chat widget), ``nosniff`` and a referrer policy that never sends a path
  (paths carry booking and manage tokens) to another site.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

F = TypeVar("F", bound=Callable[..., Any])

# Pages: our own scripts, styles and images only; nothing inline, no plugins, forms post to us.
HTML_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'"
)
# The API documentation index rendered by flask-openapi3 (static, no user data) uses inline code.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'"
)
# JSON, XML, iCalendar: nothing in them is ever to be run or rendered as a page.
DATA_CSP = "default-src 'none'; sandbox"
REFERRER_POLICY = "strict-origin-when-cross-origin"

_BODY_LIMIT_ATTR = "_booking_body_limit"
_FRAME_ATTR = "_booking_frame_ancestors"


def body_limit(max_bytes: int) -> Callable[[F], F]:
    """Let one view accept a larger body than ``BOOKING_MAX_REQUEST_BYTES`` (e.g. an upload)."""

    def mark(view: F) -> F:
        setattr(view, _BODY_LIMIT_ATTR, max_bytes)
        return view

    return mark


def embeddable(*ancestors: str) -> Callable[[F], F]:
    """Allow a view to be framed by these origins (``frame-ancestors``), e.g. the chat widget's hosts.

    Every other response refuses to be framed (clickjacking on the booking and manage forms).
    """

    def mark(view: F) -> F:
        setattr(view, _FRAME_ATTR, " ".join(ancestors))
        return view

    return mark


def _view_attr(app: Flask, name: str) -> Any:
    view = app.view_functions.get(request.endpoint or "")
    return getattr(view, name, None)


def allowed_media_url(url: str, hosts: Iterable[str]) -> bool:
    """Whether a recording URL may be stored and shown as a link: https on an allowed host only.

    ``hosts`` holds exact names (``api.twilio.com``), ``*.domain`` wildcards (any subdomain, not the
    bare domain), ``host:port``, or ``http://host:port``: the one way to allow plain http, meant for
    a local Twilio stand-in. ``javascript:``, ``data:``, http elsewhere, credentials in the URL and
    look-alike hosts (``api.twilio.com.evil.example``) are refused.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("https", "http") or not host or parts.username is not None or parts.password is not None:
        return False
    for allowed in hosts:
        allowed = allowed.lower()
        scheme = "http" if allowed.startswith("http://") else "https"
        name, _, want_port = allowed.removeprefix("http://").removeprefix("https://").partition(":")
        default_port = 443 if scheme == "https" else 80
        if parts.scheme != scheme or (port or default_port) != (
            int(want_port) if want_port.isdigit() else default_port
        ):
            continue
        if name.startswith("*."):
            if host.endswith(name[1:]) and host != name[2:]:
                return True
        elif host == name:
            return True
    return False


def server_body_limit(app: Flask) -> int:
    """The body size the WSGI server itself must refuse (waitress's ``max_request_body_size``).

    Waitress reads a whole body before calling the app, so the app's own check comes too late for a
    200 MB upload: the server refuses any declared length at or above this (413 at once, nothing
    read). It is the largest limit any route accepts, plus one (waitress refuses ``>=``); bodies in
    between reach the app, which answers its JSON 413 or the page.
    """
    limits = [app.config.get("MAX_CONTENT_LENGTH") or 0]
    limits += [getattr(view, _BODY_LIMIT_ATTR, 0) for view in app.view_functions.values()]
    return max(limits) + 1


def init_app(app: Flask) -> None:
    """Install the body limit, the headers and the rate limiter on ``app``."""
    from booking import ratelimit
    from booking.config import Settings
    from booking.routes.errors import too_large_response

    settings: Settings = app.extensions["booking.settings"]
    if settings.security.proxy_hops:
        # Only the client address (rate limits, logs): the links we build keep using BOOKING_PUBLIC_URL.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.security.proxy_hops)  # type: ignore[method-assign]
    limit = settings.security.max_request_bytes
    app.config["MAX_CONTENT_LENGTH"] = limit

    def refuse_large_bodies() -> Any:
        """413 on the declared length alone: a 200 MB upload is refused before one byte is read.

        First of all hooks (``insert(0, ...)`` below): CSRF and the NUL guard read the form, and the
        body stream is bounded by whatever limit holds when it is first read.
        """
        route_limit = _view_attr(app, _BODY_LIMIT_ATTR)
        if route_limit is not None:
            request.max_content_length = route_limit
        allowed = request.max_content_length
        if allowed is not None and request.content_length is not None and request.content_length > allowed:
            return too_large_response()
        return None

    app.before_request_funcs.setdefault(None, []).insert(0, refuse_large_bodies)

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", REFERRER_POLICY)
        ancestors = _view_attr(app, _FRAME_ATTR)
        frame = "frame-ancestors " + (ancestors or "'none'")
        if "Content-Security-Policy" not in headers:
            if response.mimetype != "text/html":
                base = DATA_CSP
            elif (request.endpoint or "").startswith("openapi."):
                base = DOCS_CSP
            else:
                base = HTML_CSP
            headers["Content-Security-Policy"] = f"{base}; {frame}"
        if not ancestors:
            headers.setdefault("X-Frame-Options", "DENY")
        return response

    ratelimit.init_app(app, settings)
    from booking.rekey import reseal_command

    app.cli.add_command(reseal_command)
