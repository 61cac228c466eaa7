"""Issue 10 item 13: a zone alias the API accepts is shown under the name the page's list holds.

With ``US/Eastern``, ``EST5EDT`` or ``Etc/GMT+5`` no ``<option>`` was selected, so the next
auto-submit sent the first one and switched the visitor to Africa/Abidjan.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from booking.i18n import listed_zone, zone_groups


@pytest.mark.parametrize(
    ("alias", "listed"),
    [("US/Eastern", "America/New_York"), ("EST5EDT", None), ("Etc/GMT+5", None), ("Etc/UTC", "UTC")],
)
def test_alias_in_the_query_selects_a_listed_zone_and_is_remembered(client, customer, alias, listed):
    response = client.get(f"/book/{customer['booking_token']}?tz={quote(alias)}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    selected = re.findall(r'<option [^>]*value="([^"]+)" selected>', html)
    assert len(selected) == 1, selected
    (name,) = selected
    assert name in {n for _, names in zone_groups() for n in names}
    if listed:
        assert name == listed
    # the same clock as the alias, now and in the horizon
    for month in range(1, 13):
        at = datetime(2027, month, 15, 12, tzinfo=UTC)
        assert ZoneInfo(name).utcoffset(at) == ZoneInfo(alias).utcoffset(at)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith((f"tz={name};", f"tz={quote(name, safe='')};")), cookie


def test_listed_zones_keep_their_own_name() -> None:
    """Guards the canonicalisation against renaming what the list already holds."""
    for name in ("America/Toronto", "Asia/Kolkata", "Europe/Kyiv", "Europe/Paris", "UTC"):
        assert listed_zone(ZoneInfo(name)).key == name


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [("Asia/Calcutta", "Asia/Kolkata"), ("Europe/Kiev", "Europe/Kyiv"), ("America/Montreal", "America/Toronto")],
)
def test_backward_links_are_not_listed_but_map_to_their_zone(alias, canonical) -> None:
    """Issue 18 item 4: the list showed Calcutta and Kolkata, Kiev and Kyiv (tzdata's backward links)."""
    listed = {n for _, names in zone_groups() for n in names}
    assert alias not in listed and canonical in listed
    assert listed_zone(ZoneInfo(alias)).key == canonical
