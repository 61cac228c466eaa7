"""Shared constants and helpers for the calendar_sync tests (not fixtures)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

ICS_DIR = Path(__file__).resolve().parents[1] / "data" / "ics"
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def ics(name: str) -> bytes:
    """Raw bytes of a fixture under ``tests/data/ics/``."""
    return (ICS_DIR / name).read_bytes()
