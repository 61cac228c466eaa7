"""Every CalDAV request is bounded in time and size (issue 11 item 1, issue 12 items 2 and 9).

The servers are real loopback sockets (tests/fixtures/misbehaving_http.py) that drip one byte every
0.1 s - far below the read timeout, so only a total deadline can stop them - or send an endless
207. Each behaviour is itself bounded (6 s of drip, 512 MiB of body), so a client without the limit
fails these tests instead of hanging them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from booking.calendar_sync.dav import (
    CalDAVClient,
    CalendarConnectionError,
    CalendarRequestError,
    CalendarResponseTooLarge,
    CalendarTransportError,
    Limits,
)
from tests.fixtures import misbehaving_http as bad

DEADLINE = 1.0
SLACK = 1.5  # scheduling on a loaded 2-core machine; still far below the 6 s a drip lasts
SHORT = Limits(connect_timeout=2.0, read_timeout=2.0, deadline=DEADLINE)


@pytest.mark.parametrize(
    "behaviour", [bad.drip_headers, bad.drip_body, bad.drip_until_close], ids=["headers", "body", "close-delimited"]
)
def test_a_dripping_server_cannot_hold_a_request_past_the_deadline(behaviour: bad.Behaviour) -> None:
    """Socket timeouts bound each read; a byte every 0.1 s satisfies them for as long as it drips."""
    with bad.serving(behaviour) as server, CalDAVClient(server.url, "agent", "pw", limits=SHORT) as c:
        started = time.monotonic()
        with pytest.raises(CalendarTransportError, match=r"no complete answer within 1 s \(deadline\)"):
            c.sync(None)
        assert time.monotonic() - started < DEADLINE + SLACK


@pytest.mark.parametrize("behaviour", [bad.drip_headers, bad.drip_body], ids=["headers", "body"])
def test_the_deadline_also_cuts_a_tls_connection(tmp_path: Path, behaviour: bad.Behaviour) -> None:
    """Calendars are reached over HTTPS: the deadline must wake a read blocked inside TLS too."""
    context, cert = bad.self_signed(tmp_path)
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment overrides session.verify
    session.verify = str(cert)
    with bad.serving(behaviour, tls=context) as server, CalDAVClient(server.url, limits=SHORT, session=session) as c:
        assert server.url.startswith("https://")
        started = time.monotonic()
        with pytest.raises(CalendarTransportError, match="deadline"):
            c.sync(None)
        assert time.monotonic() - started < DEADLINE + SLACK
    session.close()


def test_the_deadline_covers_each_request_not_the_client() -> None:
    """A second request after a deadline starts with a fresh one (and a fresh connection)."""
    with bad.serving(bad.drip_body) as server, CalDAVClient(server.url, "agent", "pw", limits=SHORT) as c:
        for _ in range(2):
            started = time.monotonic()
            with pytest.raises(CalendarTransportError, match="deadline"):
                c.put("booking-1@booking.example", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
            assert DEADLINE * 0.9 < time.monotonic() - started < DEADLINE + SLACK
        assert server.requests == 2


def test_connect_check_reports_a_dripping_server_as_unreachable() -> None:
    with (
        bad.serving(bad.drip_body) as server,
        CalDAVClient(server.url, "agent", "pw", limits=SHORT) as c,
        pytest.raises(CalendarConnectionError, match="unreachable: .*deadline"),
    ):
        c.check()


def test_an_endless_body_is_cut_at_the_size_cap() -> None:
    cap = 1024 * 1024
    with (
        bad.serving(bad.endless_body) as server,
        CalDAVClient(server.url, "agent", "pw", limits=Limits(max_response_bytes=cap)) as c,
    ):
        started = time.monotonic()
        with pytest.raises(CalendarResponseTooLarge, match=r"\(207 Multi-Status\) is larger than 1 MiB") as info:
            c.sync(None)
        assert isinstance(info.value, CalendarRequestError) and info.value.status == 207
        assert cap < c.stats.bytes_received <= cap + 64 * 1024  # read up to the cap, not one chunk more
        assert time.monotonic() - started < 5


def test_the_cap_counts_decoded_bytes_so_a_gzip_bomb_stops_at_the_cap() -> None:
    """200 kB on the wire inflating to 200 MiB: the cap is on what we would hold in memory."""
    cap = 1024 * 1024
    with (
        bad.serving(bad.gzip_bomb) as server,
        CalDAVClient(server.url, "agent", "pw", limits=Limits(max_response_bytes=cap)) as c,
    ):
        with pytest.raises(CalendarResponseTooLarge, match="larger than 1 MiB"):
            c.sync(None)
        assert cap < c.stats.bytes_received <= cap + 64 * 1024
        assert c.stats.wire_bytes_received < cap


def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    with bad.serving(bad.declared_huge) as server, CalDAVClient(server.url, "agent", "pw") as c:
        with pytest.raises(CalendarResponseTooLarge, match="larger than 50 MiB"):
            c.fetch_range(datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 10, 21, tzinfo=UTC))
        assert c.stats.bytes_received == 0


def test_check_explains_an_oversized_answer() -> None:
    """Not "unreachable": the server answered, too much."""
    with (
        bad.serving(bad.endless_body) as server,
        CalDAVClient(server.url, "agent", "pw", limits=Limits(max_response_bytes=100_000)) as c,
        pytest.raises(CalendarResponseTooLarge, match="PROPFIND .* larger than 100000 bytes"),
    ):
        c.check()


@pytest.mark.parametrize("status", [500, 400, 422])
def test_error_messages_carry_the_status_never_the_body_or_reason_text(status: int) -> None:
    """Issue 12 item 9: what the server writes in an error body (or its reason phrase) is not repeated."""
    secret = b"<p>internal: db password is hunter2</p>"
    with bad.serving(bad.error_with_body(status, secret)) as server, CalDAVClient(server.url, "agent", "pw") as c:
        messages = []
        for call in (lambda: c.sync(None), lambda: c.put("b-1@booking.example", b"x"), c.check):
            with pytest.raises((CalendarTransportError, CalendarRequestError, CalendarConnectionError)) as info:
                call()
            messages.append(str(info.value))
    for message in messages:
        assert "hunter2" not in message and "Reason-From-The-Server" not in message
    assert any(f"{status} " in m for m in messages)
