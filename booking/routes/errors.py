"""Error handling: JSON on ``/api/*`` (and the Twilio hooks), a friendly page elsewhere, never a 500 page.

Errors carry a stable ``code``; validation errors from pydantic become 400 ``invalid_request`` with
the offending fields listed, as interface.md promises for malformed input.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, abort, current_app, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from booking.routes.common import json_error
from booking.services.errors import ServiceError


def wants_json() -> bool:
    """Machine endpoints (the JSON API, Twilio's webhooks) get JSON errors; people get pages."""
    return request.path.startswith(("/api/", "/twilio/")) or request.path == "/api"


# What a visitor reads on an error page, by machine code first and by status otherwise. The service
# messages are written for API clients (English, technical); a customer gets these, in their language.
ERROR_COPY: dict[str | int, tuple[Any, Any]] = {
    "unknown_token": (
        _l("This booking link is not valid"),
        _l(
            "Please check that you opened the whole link from your e-mail. If it still does not work, "
            "ask your dedicated agent for a new link."
        ),
    ),
    "unknown_booking": (
        _l("We could not find this booking"),
        _l("Please open the link from your confirmation e-mail again; it may have been cut."),
    ),
    "bad_token": (
        _l("This link does not match this booking"),
        _l("Please open the “change or cancel” link from your confirmation e-mail."),
    ),
    "not_eligible": (
        _l("Calls with a dedicated agent are not part of your plan"),
        _l(
            "Booking calls with a named, dedicated support agent comes with the All-inclusive plan and its "
            "Dedicated support add-on. Your account manager can add it for you."
        ),
    ),
    "too_many_open_bookings": (
        _l("You already have many calls booked"),
        _l("Please cancel one of your upcoming calls, or wait until one has taken place, then book again."),
    ),
    "csrf": (
        _l("This form has expired"),
        _l("For your security, forms expire. Please go back, reload the page and send it again."),
    ),
    400: (
        _l("Something in this request was not right"),
        _l("Please go back, check the form and try again."),
    ),
    403: (_l("You cannot open this page"), _l("Please check the link you used.")),
    404: (
        _l("Page not found"),
        _l("The address may be mistyped or the link incomplete. Please check the link from your e-mail."),
    ),
    405: (_l("This action is not available here"), _l("Please go back and use the buttons on the page.")),
    409: (_l("This could not be done"), _l("Please reload the page and try again.")),
    413: (
        _l("This is more than we can accept"),
        _l("Please go back and shorten what you typed, then send it again."),
    ),
    429: (
        _l("Too many attempts"),
        _l("For your security, this is limited. Please wait a little and try again."),
    ),
    500: (
        _l("Something went wrong on our side"),
        _l("Nothing was lost. Please try again in a moment."),
    ),
}


def _html(status: int, code: str | None = None) -> Any:
    """A friendly page in the site's style and the visitor's language (never a stack trace)."""
    title, message = ERROR_COPY.get(code or "") or ERROR_COPY.get(status) or ERROR_COPY[500 if status >= 500 else 400]
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


def too_large_response() -> Any:
    """413 for a body above the limit (``booking.security``): JSON for machines, a page for people."""
    limit = request.max_content_length
    if wants_json():
        return json_error(413, "payload_too_large", f"the request body is larger than the limit of {limit} bytes")
    return _html(413)


def has_nul_byte() -> bool:
    """Whether the path, query or form carries a NUL, which can be neither a token nor text we store."""
    values = [request.path, *request.args.values()]
    if request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        values += request.form.values()
    return any("\x00" in value for value in values)


def register(app: Flask) -> None:
    @app.before_request
    def refuse_nul_bytes() -> None:
        """A NUL in the path, query or form can be neither a token nor text we store (PostgreSQL
        refuses it): answer 400 here instead of a driver error deep inside a query.

        Not on ``/twilio/*``: there the signature is checked first (a forged request gets 403 whatever
        it carries), then the same guard (``booking.voicemail.routes.verify_signature``).
        """
        if request.path.startswith("/twilio/"):
            return
        if has_nul_byte():
            abort(400)

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError) -> Any:
        if wants_json():
            return json_error(exc.status, exc.code, exc.message, exc.details)
        return _html(exc.status, exc.code)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if exc.response is not None:  # e.g. the validation callback's ready-made 400
            return exc.response
        if isinstance(exc, RequestEntityTooLarge):  # a body without Content-Length, cut at the limit
            return too_large_response()
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "_")
        if wants_json():
            response = make_response(json_error(status, code, exc.description or exc.name))
        else:
            response = make_response(_html(status, "csrf" if isinstance(exc, CSRFError) else None))
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:  # RFC 9110: a 405 lists what is allowed
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        # The route's pattern, not the path: paths carry booking, manage and sign-in tokens.
        where = request.url_rule.rule if request.url_rule is not None else "(no route)"
        current_app.logger.exception("unhandled error on %s %s", request.method, where)
        if wants_json():
            return json_error(500, "internal_error", "something went wrong on our side; nothing was lost")
        return _html(500)
