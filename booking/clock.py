"""The one place that reads the wall clock; everything below the routes/jobs receives ``now``.

Tests move time with ``time-machine``, which patches ``datetime.now``, so no test ever sleeps.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
