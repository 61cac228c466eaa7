"""booking.zones: the zone picker's canonical list (issue 18 item 4), without Flask."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime

import pytest

from booking import zones


def _clear_caches() -> None:
    for cached in (zones.canonical_zones, zones.canonical_names, zones.aliases, zones._options):
        cached.cache_clear()


@pytest.fixture
def fresh_caches():
    _clear_caches()
    yield
    _clear_caches()


def test_every_listed_zone_loads_once_and_no_backward_link_is_listed() -> None:
    names = [entry.name for entry in zones.canonical_zones()]
    assert len(names) == len(set(names)) and 380 < len(names) < 450
    for name in names:
        zoneinfo.ZoneInfo(name)
    assert {"Europe/Paris", "Asia/Kolkata", "Europe/Kyiv", "America/Toronto", "UTC"} <= set(names)
    assert not {"Asia/Calcutta", "Europe/Kiev", "US/Eastern", "GB", "Etc/UTC"} & set(names)
    regions = [entry.region for entry in zones.canonical_zones()]
    assert regions == sorted(regions, key=zones.REGIONS.index)  # grouped in the page's order


def test_aliases_are_the_links_with_the_same_rules() -> None:
    links = zones.aliases()
    assert "Asia/Calcutta" in links["Asia/Kolkata"] and "Europe/Kiev" in links["Europe/Kyiv"]
    assert "US/Eastern" in links["America/New_York"]
    assert all(alias not in zones.canonical_names() for names in links.values() for alias in names)


def test_labels_name_the_cities_the_country_and_the_offset_of_the_day() -> None:
    winter = dict(zones.zone_options("fr", datetime(2026, 12, 1, 12, tzinfo=UTC)))
    summer = dict(zones.zone_options("en", datetime(2027, 7, 1, 12, tzinfo=UTC)))
    paris_winter = next(o for o in winter["Europe"] if o.value == "Europe/Paris")
    paris_summer = next(o for o in summer["Europe"] if o.value == "Europe/Paris")
    assert paris_winter.label == "Paris, Lyon, Marseille, Toulouse — France (UTC+01:00)"
    assert paris_summer.label == "Paris, Lyon, Marseille, Toulouse — France (UTC+02:00)"
    new_york = next(o for o in winter["America"] if o.value == "America/New_York")
    assert new_york.label.endswith("— États-Unis (UTC-05:00)") and "united states" in new_york.search
    assert [o.label for o in winter["UTC"]] == ["UTC (UTC+00:00)"]


def test_without_a_system_zone_database_the_tzdata_package_is_read(monkeypatch, fresh_caches) -> None:
    """Windows and slim containers have no /usr/share/zoneinfo: zoneinfo then reads the tzdata package."""
    monkeypatch.setattr(zoneinfo, "TZPATH", ())
    names = zones.canonical_names()
    assert "Europe/Paris" in names and len(names) > 380
    assert "Asia/Calcutta" in zones.aliases()["Asia/Kolkata"]
