"""CalDAVClient against a real Radicale: sync, preconditions, errors, outages.

Request and byte counters are asserted so "incremental" is proven, not assumed.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from booking.calendar_sync.dav import (
    CalDAVClient,
    CalendarConflict,
    CalendarConnectionError,
    CalendarTransportError,
    RemoteObject,
    resource_name,
)
from booking.calendar_sync.ics import EventSpec, build_calendar, busy_intervals
from tests.fixtures.radicale import RadicaleCalendar, RadicaleServer

from ._support import PARIS

NOW = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)


def event_ics(uid: str, start: datetime, summary: str = "Busy", minutes: int = 60) -> str:
    end = start + timedelta(minutes=minutes)
    fmt = "%Y%m%dT%H%M%SZ"
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20261001T000000Z\r\nDTSTART:{start.strftime(fmt)}\r\n"
        f"DTEND:{end.strftime(fmt)}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def seed(cal: RadicaleCalendar, n: int) -> None:
    base = datetime(2026, 11, 2, 8, tzinfo=UTC)
    for i in range(n):
        cal.put(f"ev-{i:04d}", event_ics(f"ev-{i:04d}", base + timedelta(hours=i)))


def state_after(known: dict[str, str], result_changed: list[RemoteObject], deleted: list[str]) -> dict[str, str]:
    new = {h: e for h, e in known.items() if h not in deleted}
    new.update({o.href: o.etag or "" for o in result_changed})
    return new


# --------------------------------------------------------------------------- #
# sync-collection (RFC 6578)
# --------------------------------------------------------------------------- #


def test_incremental_sync_transfers_only_the_change(radicale: RadicaleCalendar, client: CalDAVClient) -> None:
    seed(radicale, 200)

    full = client.sync(None)
    assert full.full and full.token and full.deleted == []
    assert len(full.changed) == 200
    assert client.stats.requests == 1  # one REPORT, data included
    full_bytes = client.stats.bytes_received
    assert full_bytes > 200 * 200
    known = {o.href: o.etag or "" for o in full.changed}

    # nothing changed: one request, nothing listed, same token
    client.stats.reset()
    idle = client.sync(full.token, known)
    assert (idle.changed, idle.deleted, idle.token, idle.full) == ([], [], full.token, False)
    assert client.stats.requests == 1

    # the agent edits one event in another client
    radicale.put("ev-0042", event_ics("ev-0042", datetime(2026, 11, 20, 9, tzinfo=UTC), "Moved by the agent"))
    client.stats.reset()
    inc = client.sync(full.token, known)
    assert not inc.full and inc.token not in (None, full.token)
    assert [o.href for o in inc.changed] == [radicale.path("ev-0042")]
    assert b"Moved by the agent" in inc.changed[0].data
    assert inc.changed[0].etag != known[radicale.path("ev-0042")]
    assert inc.deleted == []
    assert client.stats.requests == 1
    assert client.stats.by_method == {"REPORT": 1}
    assert client.stats.bytes_received < 1500  # one object, not 200
    assert client.stats.bytes_received * 50 < full_bytes
    known = state_after(known, inc.changed, inc.deleted)

    # ... then deletes another
    radicale.delete("ev-0007")
    client.stats.reset()
    gone = client.sync(inc.token, known)
    assert gone.changed == []
    assert gone.deleted == [radicale.path("ev-0007")]
    assert client.stats.requests == 1 and client.stats.bytes_received < 1000
    known = state_after(known, gone.changed, gone.deleted)
    assert len(known) == 199

    # and adds one
    radicale.put("new-one", event_ics("new-one", datetime(2026, 11, 21, 9, tzinfo=UTC)))
    added = client.sync(gone.token, known)
    assert [o.href for o in added.changed] == [radicale.path("new-one")]


def test_own_write_is_not_reported_back_as_a_change(radicale: RadicaleCalendar, client: CalDAVClient) -> None:
    seed(radicale, 3)
    first = client.sync(None)
    known = {o.href: o.etag or "" for o in first.changed}
    etag = client.put("booking-1@booking.example", event_ics("booking-1@booking.example", NOW).encode())
    known[client.href_for("booking-1@booking.example")] = etag
    after = client.sync(first.token, known)
    assert after.changed == [] and after.deleted == []


@pytest.mark.parametrize(
    "bad_token",
    ["http://radicale.org/ns/sync/" + "0" * 64, "not-a-token-at-all"],
    ids=["expired", "garbage"],
)
def test_invalid_token_falls_back_to_full_listing(
    radicale: RadicaleCalendar, client: CalDAVClient, bad_token: str
) -> None:
    seed(radicale, 20)
    first = client.sync(None)
    known = {o.href: o.etag or "" for o in first.changed}
    radicale.put("ev-0003", event_ics("ev-0003", NOW, "changed"))
    radicale.delete("ev-0004")

    # without known ETags: everything, flagged full
    client.stats.reset()
    blind = client.sync(bad_token)
    assert blind.full and blind.token
    assert len(blind.changed) == 19 and blind.deleted == []
    assert client.stats.requests == 2  # rejected REPORT (403 valid-sync-token), full REPORT

    # with known ETags: still full, but only the difference is downloaded
    client.stats.reset()
    smart = client.sync(bad_token, known)
    assert smart.full
    assert [o.href for o in smart.changed] == [radicale.path("ev-0003")]
    assert smart.deleted == [radicale.path("ev-0004")]
    assert client.stats.requests == 3  # rejected REPORT, ETag-only listing, multiget of 1
    # and the new token works incrementally again
    assert client.sync(smart.token, state_after(known, smart.changed, smart.deleted)).changed == []


def test_etag_fallback_downloads_only_changed_objects(radicale: RadicaleCalendar) -> None:
    seed(radicale, 50)
    with CalDAVClient(radicale.collection_url, radicale.username, radicale.password, sync_mode="etag") as etag_client:
        first = etag_client.sync(None)
        assert first.full and first.token is None and len(first.changed) == 50
        full_bytes = etag_client.stats.bytes_received
        known = {o.href: o.etag or "" for o in first.changed}

        radicale.put("ev-0010", event_ics("ev-0010", NOW, "changed"))
        radicale.delete("ev-0011")
        etag_client.stats.reset()
        res = etag_client.sync(None, known)
        assert [o.href for o in res.changed] == [radicale.path("ev-0010")]
        assert res.deleted == [radicale.path("ev-0011")]
        assert res.token is None
        assert etag_client.stats.by_method == {"PROPFIND": 1, "REPORT": 1}  # listing + multiget(1)
        # the listing is ETags only: far less than re-downloading 49 objects
        assert etag_client.stats.bytes_received * 2 < full_bytes

        etag_client.stats.reset()
        idle = etag_client.sync(None, state_after(known, res.changed, res.deleted))
        assert idle.changed == [] and idle.deleted == []
        assert etag_client.stats.by_method == {"PROPFIND": 1}


class _NoSyncProxy(http.server.ThreadingHTTPServer):
    """Radicale seen through a proxy that refuses sync-collection, like a server
    without RFC 6578 support (403 DAV:supported-report). Everything else passes."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.refused = 0
        super().__init__(("127.0.0.1", 0), _ProxyHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: _NoSyncProxy

    def log_message(self, format: str, *args: object) -> None:  # stdlib signature: silence it
        pass

    def _any(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.command == "REPORT" and b"sync-collection" in body:
            self.server.refused += 1
            payload = b'<?xml version="1.0"?><D:error xmlns:D="DAV:"><D:supported-report/></D:error>'
            self.send_response(403)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        headers["Accept-Encoding"] = "identity"
        r = requests.request(self.command, self.server.upstream + self.path, data=body, headers=headers, timeout=10)
        self.send_response(r.status_code)
        for k, v in r.headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(r.content)))
        self.end_headers()
        self.wfile.write(r.content)

    do_GET = do_PUT = do_DELETE = do_PROPFIND = do_REPORT = _any


@pytest.fixture
def no_sync_proxy(radicale: RadicaleCalendar) -> Iterator[_NoSyncProxy]:
    proxy = _NoSyncProxy(radicale.url)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()
    thread.join(timeout=5)


def test_server_without_sync_support_is_detected_and_etags_used(
    radicale: RadicaleCalendar, no_sync_proxy: _NoSyncProxy
) -> None:
    seed(radicale, 10)
    path = "/" + radicale.collection_url.split("/", 3)[3]
    with CalDAVClient(no_sync_proxy.url + path, radicale.username, radicale.password) as c:
        first = c.sync(None)
        assert first.full and first.token is None and len(first.changed) == 10
        # refused with data, then refused as an ETag-only listing: only then "unsupported"
        assert no_sync_proxy.refused == 2
        known = {o.href: o.etag or "" for o in first.changed}
        radicale.put("ev-0001", event_ics("ev-0001", NOW, "changed"))
        c.stats.reset()
        second = c.sync(first.token, known)
        assert [o.href for o in second.changed] == [radicale.path("ev-0001")]
        assert no_sync_proxy.refused == 2  # remembered: not asked again
        assert c.stats.by_method == {"PROPFIND": 1, "REPORT": 1}


# --------------------------------------------------------------------------- #
# fetch_range
# --------------------------------------------------------------------------- #


def test_fetch_range_uses_one_time_range_report(radicale: RadicaleCalendar, client: CalDAVClient) -> None:
    seed(radicale, 48)  # one hour each, hourly from 2026-11-02 08:00Z
    got = client.fetch_range(datetime(2026, 11, 3, 0, tzinfo=UTC), datetime(2026, 11, 3, 6, tzinfo=UTC))
    # ev-0015 ends exactly at 00:00 and ev-0022 starts exactly at 06:00: half-open, both out
    assert sorted(o.href for o in got) == [radicale.path(f"ev-{i:04d}") for i in range(16, 22)]
    assert all(o.etag and o.data.startswith(b"BEGIN:VCALENDAR") for o in got)
    assert client.stats.by_method == {"REPORT": 1}
    with pytest.raises(ValueError, match="timezone-aware"):
        client.fetch_range(datetime(2026, 11, 3), datetime(2026, 11, 4))  # naive on purpose


# --------------------------------------------------------------------------- #
# put / delete with preconditions
# --------------------------------------------------------------------------- #


def booking_spec(sequence: int, start: datetime) -> EventSpec:
    return EventSpec(
        uid="booking-99@booking.example",
        sequence=sequence,
        start=start,
        end=start + timedelta(minutes=30),
        summary="Support call",
        description="Topic: help",
        organizer_name="Agent Smith",
        organizer_email="agent@booking.example",
        attendee_name="Jo Doe",
        attendee_email="jo@customer.example",
        booking_id=99,
    )


def test_put_update_conflict_delete_round_trip(radicale: RadicaleCalendar, client: CalDAVClient) -> None:
    uid = "booking-99@booking.example"
    start = datetime(2026, 10, 26, 10, tzinfo=PARIS)
    v0 = build_calendar(booking_spec(0, start), now=NOW)

    etag0 = client.put(uid, v0)
    assert etag0
    status, server_etag, body = radicale.get(resource_name(uid))
    assert (status, server_etag) == (200, etag0)
    assert b"X-BOOKING-ID:99" in body and b"METHOD" not in body
    assert radicale.path(resource_name(uid)) == client.href_for(uid)

    # create again: If-None-Match: * refuses to overwrite
    with pytest.raises(CalendarConflict, match="already exists"):
        client.put(uid, v0)

    # reschedule: If-Match with the current ETag, SEQUENCE+1
    v1 = build_calendar(booking_spec(1, start + timedelta(hours=2)), now=NOW)
    etag1 = client.put(uid, v1, etag0)
    assert etag1 != etag0
    assert radicale.get(resource_name(uid))[1] == etag1

    # a stale ETag is refused
    with pytest.raises(CalendarConflict, match="changed on the server"):
        client.put(uid, build_calendar(booking_spec(2, start), now=NOW), etag0)

    # the agent edits the event meanwhile → our update conflicts → re-read and retry
    radicale.put(resource_name(uid), v1.replace(b"Support call", b"Support call (agent note)"))
    v2 = build_calendar(booking_spec(2, start + timedelta(hours=3)), now=NOW)
    with pytest.raises(CalendarConflict):
        client.put(uid, v2, etag1)
    current = client.get(uid)
    assert current is not None and b"agent note" in current.data
    etag2 = client.put(uid, v2, current.etag)
    status, server_etag, body = radicale.get(resource_name(uid))
    assert server_etag == etag2
    assert b"SEQUENCE:2" in body and b"DTSTART:20261026T120000Z" in body and b"agent note" not in body

    # delete: stale ETag refused, right ETag works, repeat is a no-op
    with pytest.raises(CalendarConflict):
        client.delete(uid, etag1)
    client.delete(uid, etag2)
    assert radicale.get(resource_name(uid))[0] == 404
    client.delete(uid)
    client.delete(uid, etag2)
    assert client.get(uid) is None


def test_unsafe_uid_is_stored_under_a_hashed_name(radicale: RadicaleCalendar, client: CalDAVClient) -> None:
    uid = "weird/uid with spaces é"
    etag = client.put(uid, event_ics(uid, NOW).encode())
    assert resource_name(uid).startswith("uid-") and "/" not in resource_name(uid)
    obj = client.get(uid)
    assert obj is not None and obj.etag == etag
    assert [o.href for o in client.sync(None).changed] == [client.href_for(uid)]
    client.delete(uid)
    assert client.get(uid) is None


def test_put_then_sync_reads_back_busy_time_only_for_foreign_events(
    radicale: RadicaleCalendar, client: CalDAVClient
) -> None:
    start = datetime(2026, 10, 26, 10, tzinfo=PARIS)
    client.put("booking-99@booking.example", build_calendar(booking_spec(0, start), now=NOW))
    radicale.put("dentist", event_ics("dentist", datetime(2026, 10, 26, 15, tzinfo=UTC)))
    window = (datetime(2026, 10, 26, tzinfo=PARIS), datetime(2026, 10, 27, tzinfo=PARIS))
    busy = [b for o in client.sync(None).changed for b in busy_intervals(o.data, *window, PARIS)]
    assert [(b.uid, b.start) for b in busy] == [("dentist", datetime(2026, 10, 26, 15, tzinfo=UTC))]


# --------------------------------------------------------------------------- #
# check() and failures
# --------------------------------------------------------------------------- #


def test_check_accepts_a_calendar_and_learns_sync_support(radicale: RadicaleCalendar, client: CalDAVClient) -> None:
    client.check()
    assert client.stats.by_method == {"PROPFIND": 1}
    client.sync(None)
    assert client.stats.by_method == {"PROPFIND": 1, "REPORT": 1}


def test_check_wrong_password(radicale: RadicaleCalendar) -> None:
    with CalDAVClient(radicale.collection_url, radicale.username, "wrong") as c:
        with pytest.raises(CalendarConnectionError, match="bad credentials") as info:
            c.check()
        assert info.value.status == 401
        # the same error class from the other operations: not retryable
        with pytest.raises(CalendarConnectionError):
            c.sync(None)


def test_check_wrong_url(radicale: RadicaleCalendar) -> None:
    with CalDAVClient(
        radicale.url + radicale.username + "/no-such-calendar/", radicale.username, radicale.password
    ) as c:
        with pytest.raises(CalendarConnectionError, match="not found") as info:
            c.check()
        assert info.value.status == 404


def test_check_url_that_is_not_a_calendar(radicale: RadicaleCalendar) -> None:
    # the user's home collection exists but is a plain WebDAV collection
    home = radicale.url + radicale.username + "/"
    with (
        CalDAVClient(home, radicale.username, radicale.password) as c,
        pytest.raises(CalendarConnectionError, match="not a calendar collection"),
    ):
        c.check()


def test_check_and_operations_while_server_is_down_then_recover(
    radicale: RadicaleCalendar, client: CalDAVClient
) -> None:
    seed(radicale, 2)
    first = client.sync(None)
    radicale.stop()

    with pytest.raises(CalendarConnectionError, match="unreachable") as info:
        client.check()
    assert info.value.status is None
    # other operations raise the retryable transport error
    with pytest.raises(CalendarTransportError):
        client.sync(first.token)
    with pytest.raises(CalendarTransportError):
        client.put("booking-5@booking.example", event_ics("booking-5@booking.example", NOW).encode())
    with pytest.raises(CalendarTransportError):
        client.delete("ev-0000")

    radicale.start()  # same port, same storage: the outbox retry succeeds
    client.check()
    etag = client.put("booking-5@booking.example", event_ics("booking-5@booking.example", NOW).encode())
    after = client.sync(first.token, {o.href: o.etag or "" for o in first.changed})
    assert [(o.href, o.etag) for o in after.changed] == [(client.href_for("booking-5@booking.example"), etag)]


def test_unreachable_port_is_a_transport_error() -> None:
    from tests.fixtures.radicale import free_port

    with CalDAVClient(f"http://127.0.0.1:{free_port()}/agent/cal/", "agent", "x", timeout=2) as c:
        with pytest.raises(CalendarConnectionError, match="unreachable"):
            c.check()
        with pytest.raises(CalendarTransportError):
            c.fetch_range(NOW, NOW + timedelta(days=1))


def test_full_sync_survives_a_server_cap_on_report_size(tmp_path: Path) -> None:
    """Radicale refuses (400) a REPORT carrying more VEVENTs than
    ``max_expand_occurrence`` (10,000 by default; met at 10k events in the
    benchmark). The client must fall back to an ETag listing + batched
    multiget, and keep using sync tokens afterwards."""
    with RadicaleServer(tmp_path, extra_config={"reporting": {"max_expand_occurrence": "5"}}) as server:
        cal = RadicaleCalendar(server, server.make_calendar())
        seed(cal, 12)
        with CalDAVClient(cal.collection_url, server.username, server.password, multiget_batch=4) as c:
            first = c.sync(None)
            assert first.full and first.token is not None
            assert len(first.changed) == 12
            # refused REPORT with data, ETag-only sync-collection, 3 multigets of 4
            assert c.stats.by_method == {"REPORT": 5}
            known = {o.href: o.etag or "" for o in first.changed}
            cal.put("ev-0003", event_ics("ev-0003", NOW, "changed"))
            c.stats.reset()
            inc = c.sync(first.token, known)
            assert [o.href for o in inc.changed] == [cal.path("ev-0003")] and not inc.full
            assert c.stats.requests == 1
        cal.close()


class _StubHandler(http.server.BaseHTTPRequestHandler):
    """Answers every request with the status/headers/body configured on the server."""

    server: _StubServer

    def log_message(self, format: str, *args: object) -> None:  # stdlib signature: silence it
        pass

    def _any(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, headers, body = self.server.answer
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_DELETE = do_PROPFIND = do_REPORT = _any


class _StubServer(http.server.ThreadingHTTPServer):
    """Not a CalDAV server: a local HTTP endpoint misbehaving on demand."""

    def __init__(self) -> None:
        self.answer: tuple[int, dict[str, str], bytes] = (200, {}, b"")
        super().__init__(("127.0.0.1", 0), _StubHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/cal/"


@pytest.fixture
def stub() -> Iterator[_StubServer]:
    server = _StubServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_server_errors_are_retryable_transport_errors(stub: _StubServer) -> None:
    stub.answer = (503, {"Retry-After": "7"}, b"maintenance")
    with CalDAVClient(stub.url, "agent", "pw") as c:
        with pytest.raises(CalendarTransportError) as info:
            c.sync(None)
        assert (info.value.status, info.value.retry_after) == (503, 7.0)
        with pytest.raises(CalendarTransportError):
            c.put("booking-1@booking.example", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
        with pytest.raises(CalendarConnectionError, match="server error") as check_info:
            c.check()
        assert check_info.value.status == 503


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((200, {"Content-Type": "text/html"}, b"<html>hello</html>"), "not a WebDAV/CalDAV server"),
        ((301, {"Location": "https://elsewhere.example/cal/"}, b""), "redirects"),
        ((403, {}, b"Forbidden"), "access denied"),
        ((207, {"Content-Type": "application/xml"}, b"<html>not xml"), "not a CalDAV server"),
    ],
    ids=["plain-http", "redirect", "forbidden", "bad-xml"],
)
def test_check_explains_what_is_wrong(
    stub: _StubServer, answer: tuple[int, dict[str, str], bytes], reason: str
) -> None:
    stub.answer = answer
    with CalDAVClient(stub.url, "agent", "pw") as c, pytest.raises(CalendarConnectionError, match=reason):
        c.check()
