"""Verify that a webhook really comes from Twilio.

Twilio signs every webhook with HMAC-SHA1 over *the URL it was configured to call* plus the POSTed
form fields, keyed by the account's auth token. The service usually runs behind a TLS-terminating
reverse proxy, so the URL the application sees (``http://10.0.0.5:8000/twilio/voice``) is not the URL
Twilio signed (``https://book.example.com/twilio/voice``): checking against the wrong one rejects
every genuine call. ``BOOKING_PUBLIC_URL`` names the external base URL; :func:`expected_url`
rebuilds the signed URL from it, and :func:`is_valid_twilio_request` checks the signature.

This module knows nothing about Flask: a route passes ``request.url``, ``request.path``,
``request.query_string`` and ``request.form`` in, which keeps it testable without an app.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from twilio.request_validator import SIGNATURE_HEADER, RequestValidator

__all__ = ["SIGNATURE_HEADER", "expected_url", "is_valid_twilio_request"]

# RFC 3986 "pchar" plus "/": what may stay literal in a path. Werkzeug hands routes the *decoded*
# path, so anything outside this set is re-encoded to get back the bytes Twilio put in the URL.
_PATH_SAFE = "/:@!$&'()*+,;="


def expected_url(public_url: str | None, request_url: str, path: str, query_string: str | bytes) -> str:
    """Return the URL Twilio signed for this request.

    ``public_url`` is ``BOOKING_PUBLIC_URL`` (``https://book.example.com``, possibly with a path
    prefix such as ``https://example.com/booking``). When it is set, the signed URL is
    ``public_url + path`` (+ ``?query_string`` when there is one): the scheme, host and port the
    application sees behind a proxy are irrelevant, only the public ones count. ``path`` is the
    path *inside* the application (Flask's ``request.path``, without any script root, decoded),
    ``query_string`` the raw query string as received (Flask gives bytes; both are accepted).

    Without ``public_url`` the request URL is taken as it is, which is right when Twilio reaches the
    application directly.
    """
    if not public_url:
        return request_url
    if isinstance(query_string, bytes):
        # The raw query string is percent-encoded ASCII on the wire; latin-1 round-trips any byte.
        query_string = query_string.decode("latin-1")
    if not path.startswith("/"):
        path = "/" + path
    url = public_url.rstrip("/") + quote(path, safe=_PATH_SAFE)
    if query_string:
        url += "?" + query_string
    return url


def is_valid_twilio_request(
    auth_token: str | None,
    url: str,
    form: Mapping[str, str],
    signature: str | None,
) -> bool:
    """Tell whether ``signature`` (the ``X-Twilio-Signature`` header) matches ``url`` and ``form``.

    Fails closed: with no auth token configured, or no signature sent, nothing is valid, so a
    deployment that forgot ``TWILIO_AUTH_TOKEN`` refuses webhooks instead of trusting anyone who
    can reach it. ``form`` may be a Werkzeug ``MultiDict``; repeated fields are then all signed, as
    Twilio does. The comparison itself is the SDK's (constant time, with and without the default
    port, since Twilio is inconsistent about including it).
    """
    if not auth_token or not signature:
        return False
    try:
        return bool(RequestValidator(auth_token).validate(url, form, signature))
    except (TypeError, ValueError, UnicodeError):
        # A hostile header or form value must yield "invalid", never a 500.
        return False
