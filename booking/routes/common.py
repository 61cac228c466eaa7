"""Helpers shared by the blueprints: settings access, external URLs, JSON errors."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue

from booking.config import Settings


def settings() -> Settings:
    return current_app.extensions["booking.settings"]  # type: ignore[no-any-return]


def external_url(path: str) -> str:
    """An absolute URL for links we hand out: BOOKING_PUBLIC_URL when set, else the request's root."""
    base = settings().public_url or request.url_root.rstrip("/")
    return f"{base}{path}"


def json_error(status: int, code: str, message: str, details: Any = None) -> ResponseReturnValue:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return jsonify({"error": body}), status
