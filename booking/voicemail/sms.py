"""Sending SMS (agent notifications, callback confirmations) through Twilio.

The rest of the service depends on the small :class:`SmsSender` protocol, never on the Twilio SDK,
so configuration picks the implementation: :class:`TwilioSmsSender` in production,
:class:`LoggingSmsSender` in development. Sends happen from an outbox that retries, so every failure
comes out as one exception type, :class:`SmsError`, that says whether retrying can help.

``api_base`` points the *real* SDK client at another server (a local fake in tests, a sandbox in
development) by rewriting Twilio's hosts in :class:`RedirectingHttpClient`: the SDK's request
building, auth and error parsing all stay in the loop, which a mock object would hide.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import (
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from booking.config import Settings

__all__ = [
    "LoggingSmsSender",
    "RedirectingHttpClient",
    "SentSms",
    "SmsError",
    "SmsSender",
    "TwilioSmsSender",
]

logger = logging.getLogger(__name__)

#: Seconds to wait for Twilio. The SDK's default is no timeout at all, which would let one stuck
#: connection hold an outbox worker forever.
DEFAULT_TIMEOUT = 10.0


@runtime_checkable
class SmsSender(Protocol):
    """Something that sends a text message and returns its provider id (Twilio's ``SM...`` SID)."""

    def send(self, to: str, body: str) -> str:
        """Send ``body`` to ``to`` (E.164); raise :class:`SmsError` on failure."""
        ...


class SmsError(Exception):
    """Sending failed. Carries what Twilio said, so the outbox can log it and decide to retry.

    ``code`` is Twilio's error code (e.g. 21211, invalid ``To`` number) when Twilio sent one,
    ``status`` the HTTP status (``None`` when no response came back at all).
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.retryable = _is_retryable(code, status) if retryable is None else retryable

    def __str__(self) -> str:
        details = ", ".join(
            part
            for part in (
                f"code {self.code}" if self.code is not None else "",
                f"HTTP {self.status}" if self.status is not None else "",
            )
            if part
        )
        return f"{self.message} ({details})" if details else self.message


# Twilio's own "too many requests" / "queue overflow" codes: worth trying again later.
_RETRYABLE_CODES = frozenset({20429, 30001})


# 401: our credentials are wrong or rotated; once an operator fixes them the message is still worth
# sending, so the outbox should keep it rather than drop every notification of the outage.
_RETRYABLE_STATUSES = frozenset({401, 408, 429})


def _is_retryable(code: int | None, status: int | None) -> bool:
    """Whether sending the same message again later can succeed.

    Yes for network failures (no status), throttling, server errors and bad credentials; no for a
    request Twilio rejected on its merits (an invalid ``To`` number will stay invalid). A retry
    after a 5xx may send the message twice (Twilio may have created it): SMS is at-least-once.
    """
    if code in _RETRYABLE_CODES or status is None:
        return True
    return status in _RETRYABLE_STATUSES or status >= 500


def _twilio_code(code: object, status: int | None) -> int | None:
    """Twilio's error code, or ``None`` when the SDK only copied the HTTP status into ``code``.

    The SDK sets ``code = status`` when the error body is not Twilio JSON (a proxy's 502 page,
    say). Twilio's own codes have five digits, so anything below 10000 is not one of them.
    """
    if isinstance(code, int) and not isinstance(code, bool) and code >= 10000:
        return code
    return None


# --------------------------------------------------------------------------------------------------
# Redirecting the SDK
# --------------------------------------------------------------------------------------------------


def _is_twilio_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "twilio.com" or host.endswith(".twilio.com")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RedirectingHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, sending requests for ``*.twilio.com`` to ``api_base`` instead.

    ``https://api.twilio.com/2010-04-01/Accounts/AC.../Messages.json`` becomes
    ``{api_base}/2010-04-01/Accounts/AC.../Messages.json`` (a path prefix in ``api_base`` is kept).
    Any regional or edge host the SDK derives (``api.dublin.ie1.twilio.com``) is rewritten too, so
    no request can escape to the real Twilio by accident. When ``api_base`` is a loopback address
    the environment's HTTP proxy settings are ignored: a proxy cannot reach our 127.0.0.1.
    """

    def __init__(self, api_base: str, *, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        parts = urlsplit(api_base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"api_base must be an absolute http(s) URL, got {api_base!r}")
        super().__init__(timeout=timeout)
        self._scheme = parts.scheme
        self._netloc = parts.netloc
        self._prefix = parts.path.rstrip("/")
        if self.session is not None and _is_loopback(parts.hostname):
            self.session.trust_env = False

    def rewrite(self, url: str) -> str:
        """Return ``url`` moved onto ``api_base`` if it targets a Twilio host, else unchanged."""
        parts = urlsplit(url)
        if not _is_twilio_host(parts.hostname or ""):
            return url
        return urlunsplit(
            (
                self._scheme,
                self._netloc,
                self._prefix + parts.path,
                parts.query,
                parts.fragment,
            )
        )

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Send the request to the rewritten URL; everything else is the SDK's behaviour."""
        return super().request(
            method,
            self.rewrite(url),
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


# --------------------------------------------------------------------------------------------------
# Senders
# --------------------------------------------------------------------------------------------------


class TwilioSmsSender:
    """Send SMS with Twilio's Messages API, as ``from_number``.

    ``api_base`` (``BOOKING_TWILIO_API_BASE``) replaces ``https://api.twilio.com``; leave it unset in
    production.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_base: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not account_sid or not auth_token or not from_number:
            raise ValueError("TwilioSmsSender needs an account SID, an auth token and a from number")
        http_client = (
            RedirectingHttpClient(api_base, timeout=timeout) if api_base else TwilioHttpClient(timeout=timeout)
        )
        self._client = Client(account_sid, auth_token, http_client=http_client)
        self.from_number = from_number

    def send(self, to: str, body: str) -> str:
        """Create the message; return its SID, or raise :class:`SmsError`."""
        try:
            message = self._client.messages.create(to=to, from_=self.from_number, body=body)
        except TwilioRestException as exc:
            status = exc.status if isinstance(exc.status, int) else None
            raise SmsError(
                str(exc.msg) or "Twilio rejected the message",
                code=_twilio_code(exc.code, status),
                status=status,
            ) from exc
        except TwilioServiceException as exc:
            status = exc.status if isinstance(exc.status, int) else None
            raise SmsError(
                exc.detail or exc.title or "Twilio rejected the message",
                code=_twilio_code(exc.code, status),
                status=status,
            ) from exc
        except requests.RequestException as exc:
            raise SmsError(f"could not reach Twilio: {exc}") from exc
        except TwilioException as exc:
            # Raised by the SDK before any request (bad arguments): retrying will not help.
            raise SmsError(str(exc), retryable=False) from exc
        except ValueError as exc:
            # A 2xx with a body that is not JSON: Twilio or a proxy misbehaving, try again later.
            raise SmsError(f"unreadable answer from Twilio: {exc}", retryable=True) from exc
        if not message.sid:
            raise SmsError("Twilio accepted the message but returned no SID", retryable=True)
        return message.sid


@dataclass(frozen=True)
class SentSms:
    """A message :class:`LoggingSmsSender` pretended to send."""

    sid: str
    to: str
    body: str


@dataclass
class LoggingSmsSender:
    """Development sender: logs each message instead of sending it, and keeps it in ``sent``.

    Returns SIDs shaped like Twilio's (``SM`` + 32 hex digits) so code that stores them works
    unchanged.
    """

    sent: list[SentSms] = field(default_factory=list)

    def send(self, to: str, body: str) -> str:
        """Log the message and return a fake SID."""
        sid = "SM" + uuid.uuid4().hex
        logger.info("SMS (not sent, development sender) %s to %s: %s", sid, to, body)
        self.sent.append(SentSms(sid=sid, to=to, body=body))
        return sid


def sms_sender_for(settings: Settings) -> SmsSender:
    """The real Twilio sender when its three settings are present, the logging one otherwise."""
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from_number:
        return TwilioSmsSender(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_from_number,
            api_base=settings.twilio_api_base,
        )
    return LoggingSmsSender()
