"""Error handling: JSON on ``/api/*`` (and the Twilio hooks), a friendly page elsewhere, never a 500 page.

Errors carry a stable ``code``; validation errors from pydantic become 400 ``invalid_request`` with
the offending fields listed, as interface.md promises for malformed input.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, current_app, make_response, render_template, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from booking.routes.common import json_error
from booking.services.errors import ServiceError


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/api"


def _html(status: int, title: str, message: str) -> Any:
    try:
        return render_template("error.html", status=status, title=title, message=message), status
    except Exception:
        return Response(f"<!doctype html><title>{status}</title><h1>{title}</h1>", status=status)


def validation_error_response(e: ValidationError) -> Response:
    """flask-openapi3 callback: a pydantic error → 400 with our error envelope."""
    details = [
        {"loc": [str(p) for p in err.get("loc", ())], "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in json.loads(e.json())
    ]
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(first["loc"]) or "request"
    body = {"error": {"code": "invalid_request", "message": f"{where}: {first['msg']}", "details": details}}
    response = make_response(json.dumps(body), 400)
    response.headers["Content-Type"] = "application/json"
    return response


def register(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError) -> Any:
        if wants_json():
            return json_error(exc.status, exc.code, exc.message, exc.details)
        return _html(exc.status, exc.code.replace("_", " ").capitalize(), exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if exc.response is not None:  # e.g. the validation callback's ready-made 400
            return exc.response
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "_")
        if wants_json():
            return json_error(status, code, exc.description or exc.name)
        return _html(status, exc.name, exc.description or "")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return json_error(500, "internal_error", "something went wrong on our side; nothing was lost")
        return _html(500, "Something went wrong", "Please try again in a moment.")
