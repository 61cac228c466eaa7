"""Helpers for the calendar sync/push tests that need the Flask app (not fixtures).

These tests live at the top level, not in ``tests/calendar_sync/``, because that folder's conftest
rebinds ``client`` to a CalDAV client while these need the Flask test client.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask.testing import FlaskClient

from tests.calendar_sync._support import ics
from tests.fixtures.radicale import RadicaleCalendar

_DT = re.compile(rb"^(DTSTART|DTEND)([^:\r\n]*):(\d{8})T(\d{6})(Z?)(\r?)$", re.MULTILINE)


def retimed(name: str, day: str, start: str, end: str) -> bytes:
    """A real fixture moved to ``day`` (YYYYMMDD) from ``start`` to ``end`` (HHMMSS), same zone form."""

    def sub(m: re.Match[bytes]) -> bytes:
        hhmmss = start if m.group(1) == b"DTSTART" else end
        return m.group(1) + m.group(2) + b":" + day.encode() + b"T" + hhmmss.encode() + m.group(5) + m.group(6)

    out, n = _DT.subn(sub, ics(name))
    assert n == 2, f"{name}: expected one DTSTART and one DTEND"
    return out


def connect(client: FlaskClient, admin: dict[str, str], slug: str, cal: RadicaleCalendar) -> dict[str, Any]:
    response = client.put(
        f"/api/agents/{slug}/calendar",
        json={"url": cal.collection_url, "username": cal.username, "password": cal.password},
        headers=admin,
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def sync(client: FlaskClient, admin: dict[str, str], slug: str) -> dict[str, Any]:
    response = client.post(f"/api/agents/{slug}/sync", headers=admin)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    assert body["status"] == "ok"
    return body


def slots(client: FlaskClient, slug: str, start: date, end: date) -> set[str]:
    """Offered slot starts as Paris wall-clock ISO strings."""
    response = client.get(
        f"/api/agents/{slug}/availability", query_string={"start": start.isoformat(), "end": end.isoformat()}
    )
    assert response.status_code == 200, response.get_json()
    return {s["start"] for s in response.get_json()["slots"]}


def paris(day: str, *times: str) -> set[str]:
    """``paris("2026-10-27", "14:00", "14:30")`` → the slot starts as the API renders them."""
    offset = "+02:00" if day < "2026-10-25" else "+01:00"
    return {f"{day}T{t}:00{offset}" for t in times}


def whole_day(day: str) -> set[str]:
    return paris(day, *[f"{h:02d}:{m:02d}" for h in range(9, 17) for m in (0, 30)])
