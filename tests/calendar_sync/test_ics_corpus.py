"""Every .ics under tests/data/ics/ - ours and other projects' test calendars - read without crash or hang.

The corpus (``tests/data/ics/corpus/``: icalendar's, recurring-ical-events' and
Radicale's own test files, licences kept) is full of broken and extreme input.
One such object in an agent's calendar used to stop the whole sync (issue 10
items 1-2), so the contract checked here is the sync's: per object, either busy
time or an :class:`IcsError`, never another exception, and never more than 2 s -
a file that would hang must be cut by the occurrence cap in ``ics.py``, not by
this test. The window is wide (35 years) on purpose, to hit that cap.
"""

from __future__ import annotations

import time
import warnings
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from booking.calendar_sync.ics import MAX_OCCURRENCES_PER_OBJECT, IcsError, busy_intervals

from ._support import ICS_DIR, NEW_YORK, PARIS

FILES = sorted(ICS_DIR.rglob("*.ics"))
WIDE = (datetime(2000, 1, 1, tzinfo=PARIS), datetime(2035, 1, 1, tzinfo=PARIS))
LIMIT_SECONDS = 2.0


def test_the_corpus_is_there() -> None:
    """Guards the parametrised test below against passing on an empty folder."""
    sources = {p.relative_to(ICS_DIR).parts[1] for p in FILES if p.relative_to(ICS_DIR).parts[0] == "corpus"}
    assert sources == {"icalendar", "recurring_ical_events", "radicale"}
    assert len(FILES) > 300
    assert all((ICS_DIR / "corpus" / source / "LICENSE").is_file() for source in sources)


@pytest.mark.parametrize(
    ("path", "zone"),
    [(p, NEW_YORK if i % 2 else PARIS) for i, p in enumerate(FILES)],
    ids=[str(p.relative_to(ICS_DIR)) for p in FILES],
)
def test_every_file_gives_busy_time_or_ics_error_within_two_seconds(path: Path, zone: ZoneInfo) -> None:
    """One call per file (agent zone alternating Paris / New York across the corpus), timed as the sync's would be."""
    data = path.read_bytes()
    began = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # icalendar warns about guessed vendor TZIDs; not our concern here
        try:
            events = busy_intervals(data, *WIDE, zone)
        except IcsError:
            events = []
    elapsed = time.perf_counter() - began
    assert elapsed < LIMIT_SECONDS, f"{path.name} took {elapsed:.2f} s in {zone}"
    assert all(e.start < e.end and e.start.utcoffset() is not None for e in events)
    per_uid: dict[str, int] = {}
    for e in events:
        per_uid[e.uid] = per_uid.get(e.uid, 0) + 1
    # whole-calendar files hold many UIDs; a single recurring object never exceeds the cap
    assert max(per_uid.values(), default=0) <= MAX_OCCURRENCES_PER_OBJECT
