"""Helpers shared by the blueprints: settings access, external URLs, JSON errors."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask.typing import ResponseReturnValue

from booking import text
from booking.config import Settings


def register_api(app: Any, blueprint: Any) -> None:
    """``app.register_api`` that keeps every blueprint's operations on a shared path.

    flask-openapi3 replaces a path's whole PathItem when a second blueprint documents the same
    path, so ``GET /api/bookings`` (admin) would erase ``POST /api/bookings`` (customer) from the
    OpenAPI document. The operations of both are merged instead.
    """
    before = dict(app.paths)
    app.register_api(blueprint)
    for uri, item in before.items():
        added = app.paths.get(uri)
        if added is None or added is item:
            continue
        operations = {name: getattr(added, name) for name in type(added).model_fields if getattr(added, name)}
        app.paths[uri] = item.model_copy(update=operations)


def settings() -> Settings:
    settings: Settings = current_app.extensions["booking.settings"]
    return settings


def external_url(path: str) -> str:
    """An absolute URL for links we hand out: BOOKING_PUBLIC_URL when set, else the request's root."""
    base = settings().public_url or request.url_root.rstrip("/")
    return f"{base}{path}"


def json_error(status: int, code: str, message: str, details: Any = None) -> ResponseReturnValue:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return jsonify({"error": body}), status


def clean_text(value: str, *, multiline: bool = False) -> str:
    """Form text as it may be stored and mailed: control characters dropped, one line unless asked.

    PostgreSQL refuses NUL in text, and any line break (CR/LF, but also U+0085, U+2028, U+2029, see
    ``booking.text``) in a name would break an e-mail header, so none may reach a service from a
    hand-crafted form post: single-line fields are normalised to one line, notes to plain ``\n``.
    """
    return text.multiline(value) if multiline else text.one_line(" ".join(value.split()))


def _unstorable(value: Any) -> bool:
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unstorable(v) for v in value)
    return False


class StrictJSONProvider(DefaultJSONProvider):
    """JSON bodies with lone surrogates (``"\\ud800"``) or NUL characters are malformed input.

    Python's json module accepts them, but no database driver can store them (and no mail header
    can carry them), so they would surface as a 500 deep inside a service. Refusing them at parse
    time turns them into the ordinary 400 for malformed JSON.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        data = super().loads(s, **kwargs)
        if _unstorable(data):
            raise ValueError("JSON text contains a NUL character or a lone surrogate escape")
        return data
