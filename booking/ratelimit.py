"""Rate limits (Flask-Limiter): per booking token on booking, per client address on sign-in and forms.

A leaked booking link must not book a whole calendar in a minute nor make the service mail anyone
with attacker text; sign-in must not answer as fast as it is asked. The limits are fixed windows
(predictable for a customer, exact in tests) counted in Redis when ``BOOKING_REDIS_URL`` is set (so
every host of one installation shares the counters), in process memory otherwise.

Which route gets which limit is listed here, in :data:`LIMITS`, rather than spread over the route
modules: the whole policy reads in one place. Keys never contain a token in clear (a Redis dump must
not hand out booking links): a booking token is reduced to a SHA-256 prefix first.

Behind a reverse proxy every client has the proxy's address, and would share one budget: set
``BOOKING_PROXY_HOPS`` to the number of proxies whose ``X-Forwarded-For`` is to be trusted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request
from flask_limiter import Limiter, RequestLimit

from booking.config import Settings

EXTENSION = "booking.limiter"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def client_address() -> str:
    return request.remote_addr or "unknown"


def booking_token_key() -> str:
    """The booking token of this request (the page's URL, or the JSON body's ``token``), hashed.

    A request without a readable token is counted against its address instead, so garbage bodies are
    limited too.
    """
    token = (request.view_args or {}).get("token")
    if token is None and request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict) and isinstance(body.get("token"), str):
            token = body["token"]
    if not isinstance(token, str) or not token:
        return f"addr:{client_address()}"
    return f"token:{_digest(token)}"


def chat_token_key() -> str:
    """The chat token of this request's path, hashed (issue 17)."""
    token = (request.view_args or {}).get("chat_token")
    return f"chat:{_digest(token)}" if isinstance(token, str) and token else f"addr:{client_address()}"


def address_key() -> str:
    return f"addr:{client_address()}"


@dataclass(frozen=True)
class RouteLimit:
    endpoint: str
    setting: str  # attribute of SecuritySettings holding the limit string
    key: Callable[[], str]
    methods: tuple[str, ...] = ("POST",)


LIMITS: tuple[RouteLimit, ...] = (
    # Booking: per booking link, on the JSON API and on the page's form (the form also counts per address).
    RouteLimit("api.create_booking", "rate_limit_booking", booking_token_key),
    RouteLimit("pages.book", "rate_limit_booking", booking_token_key),
    # Sign-in: asking for a link and using one, per address.
    RouteLimit("agent.sign_in", "rate_limit_sign_in", address_key),
    RouteLimit("agent.sign_in_link", "rate_limit_sign_in", address_key),
    # Every other form post of the HTML pages, per address.
    RouteLimit("pages.book", "rate_limit_forms", address_key),
    RouteLimit("pages.manage", "rate_limit_forms", address_key),
    RouteLimit("agent.sign_out", "rate_limit_forms", address_key),
    RouteLimit("agent.callback_done", "rate_limit_forms", address_key),
    RouteLimit("agent.callback_move", "rate_limit_forms", address_key),
    # Chat (issue 17): messages and transcript mails per chat token; the agent's answers per address.
    RouteLimit("chat_api.post_message", "rate_limit_chat", chat_token_key),
    RouteLimit("chat_api.transcript", "rate_limit_chat", chat_token_key),
    RouteLimit("agent_chat.post_message", "rate_limit_forms", address_key),
)


def _breached(limit: RequestLimit) -> Response:
    """429 in the house style: the JSON error envelope on the API, a friendly page on the site."""
    from booking.routes.common import json_error
    from booking.routes.errors import _html, wants_json

    if wants_json():
        result: Any = json_error(
            429, "rate_limited", f"too many requests ({limit.limit}); please wait and try again later"
        )
    else:
        result = _html(429)
    body, status = result
    response = body if isinstance(body, Response) else Response(body)
    response.status_code = status
    return response


def _storage_uri(settings: Settings) -> str:
    return settings.security.redis_url or "memory://"


def init_app(app: Flask, settings: Settings) -> Limiter:
    """Create the app's limiter and attach the limits of :data:`LIMITS` to their routes.

    Called once the blueprints are registered (the view functions must exist). The key prefix is
    derived from the secret key: every host of one installation shares it, two installations (or two
    test apps) sharing one Redis do not share counters.
    """
    sec = settings.security
    limiter = Limiter(
        address_key,
        app=app,
        storage_uri=_storage_uri(settings),
        strategy="fixed-window",
        headers_enabled=True,
        key_prefix=f"booking:{_digest(settings.secret_key)[:12]}",
        on_breach=_breached,
        # Redis down: count in this process's memory meanwhile (limits still hold, per host), log it,
        # and never turn a customer's booking into a 500.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
    for rule in LIMITS:
        value = getattr(sec, rule.setting)
        view = app.view_functions.get(rule.endpoint)
        if not value or view is None:
            continue
        limited: Any = limiter.limit(value, key_func=rule.key, methods=list(rule.methods), scope=rule.setting)(view)
        app.view_functions[rule.endpoint] = limited
    app.extensions[EXTENSION] = limiter
    return limiter
