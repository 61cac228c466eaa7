"""Fixtures for the calendar_sync tests.

The Radicale fixtures are imported rather than listed in ``pytest_plugins``:
pytest only honours ``pytest_plugins`` in the ROOT conftest. Once the root
conftest declares ``pytest_plugins = ["tests.fixtures.radicale"]`` this import
is redundant but harmless (this conftest's names simply shadow the plugin's).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from booking.calendar_sync.dav import CalDAVClient
from tests.fixtures.radicale import RadicaleCalendar, radicale, radicale_server

__all__ = ["radicale", "radicale_server"]


@pytest.fixture
def client(radicale: RadicaleCalendar) -> Iterator[CalDAVClient]:
    """The code under test, pointed at the fresh collection."""
    c = CalDAVClient(radicale.collection_url, radicale.username, radicale.password, timeout=10)
    yield c
    c.close()
