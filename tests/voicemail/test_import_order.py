"""Modules the composition root imports must import on their own, in any order.

``booking.voicemail.notify`` imported first used to fail (``booking.effects`` built its handler table
while ``notify`` was half initialised, and ``request_alerts`` then asked it for ``local_text``).
"""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["booking.voicemail.notify", "booking.voicemail.senior_page", "booking.effects"])
def test_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
