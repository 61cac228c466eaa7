"""French for the admin console and the backup agent (issue 14), merged into ``fr.FR``.

A table of its own so the other issues' strings and these merge without touching the same lines.
"""

from __future__ import annotations

FR_ADMIN: dict[str, str] = {
    "%(name)s is away until %(until)s.": "%(name)s est absent·e jusqu’au %(until)s.",
    "%(name)s is not taking calls any more.": "%(name)s ne prend plus d’appels.",
    "You can book with %(backup)s: their times are marked with their name.": "Vous pouvez réserver avec "
    "%(backup)s : ses créneaux portent son nom.",
}
