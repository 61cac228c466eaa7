"""Reading rendered forms the way a browser without JavaScript would submit them."""

from __future__ import annotations

import re


def hidden(html: str, name: str) -> str:
    """The value of a hidden input in a rendered form, as a browser would send it back."""
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name} in the form"
    return match.group(1)


def slot_values(html: str) -> list[str]:
    return re.findall(r'<input type="radio" name="start" id="[^"]+" value="([^"]+)"', html)
