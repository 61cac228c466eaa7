"""Text that may end up in an e-mail header, an iCalendar property or a log line: no line breaks.

Python's ``str.splitlines`` (which the e-mail package uses to fold headers) breaks on far more than CR
and LF: U+0085, U+2028, U+2029, the C0/C1 controls \\x0b, \\x0c, \\x1c-\\x1e. A name carrying one of
them made every message with that name in a header fail for good (issue 12). Every place a name or
a subject enters (API schemas, forms, CLI, the services, the mail layer) uses these helpers, so the
characters are either refused (API, CLI: a clear 400 / one line) or normalised (forms, mail).

Pure: no Flask, no database.
"""

from __future__ import annotations

import re
import unicodedata

# Unicode categories Cc (C0 and C1 controls, DEL, U+0085), Zl (U+2028) and Zp (U+2029).
_UNSAFE_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
# The same set as a regex class, for pydantic patterns and fast substitutions.
UNSAFE_CLASS = r"\x00-\x1f\x7f-\x9f\u2028\u2029"  # escapes read the same in Python, Rust (pydantic) and ECMA
_UNSAFE = re.compile(f"[{UNSAFE_CLASS}]")
_LINE_BREAKS = re.compile("\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_CONTROLS_BUT_NEWLINE_AND_TAB = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")


def is_unsafe_char(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def has_unsafe_chars(value: str) -> bool:
    """Whether ``value`` holds a control character or a Unicode line/paragraph separator."""
    return _UNSAFE.search(value) is not None


_UNSAFE_RUN = re.compile(f"(?: *[{UNSAFE_CLASS}])+ *")


def one_line(value: str) -> str:
    """Each run of controls and separators (with the spaces around it) becomes one space; ends trimmed.

    Other whitespace is left alone: formatted times carry U+202F (narrow no-break space) on purpose.
    """
    return _UNSAFE_RUN.sub(" ", value).strip()


def multiline(value: str) -> str:
    """Every kind of line break becomes ``\\n``; other control characters are dropped (tabs stay)."""
    return _CONTROLS_BUT_NEWLINE_AND_TAB.sub("", _LINE_BREAKS.sub("\n", value)).strip()
