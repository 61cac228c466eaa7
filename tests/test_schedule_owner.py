"""``booking.services.schedule`` is the only code that writes ``bookings`` rows (issue 9, item 2).

Customer calls and callback reservations used to be inserted, moved and cancelled by two modules,
each with its own lock and slot checks. This test reads every module of ``booking/`` and fails if one
other than ``schedule.py`` constructs a ``Booking``, assigns one of its schedule attributes, or writes
the table with a bulk or raw SQL statement. A static check: Python has no types at run time, so a
variable counts as a booking when its name says so, when it is annotated ``Booking``, or when it is
bound from an expression that involves ``Booking`` or another such variable (``.booking`` included).
The snippets below keep the checker honest: each old way of writing a row must be caught.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "booking"
OWNER = ROOT / "services" / "schedule.py"
#: What decides a row's place in the schedule (and so the overlap guard and every calendar).
GUARDED = {"start_at", "end_at", "status", "sequence", "cancelled_at", "agent_id", "kind"}
_NAMED = re.compile(r"booking|reservation", re.IGNORECASE)
_RAW_SQL = re.compile(r"\b(insert\s+into|update|delete\s+from)\s+bookings\b", re.IGNORECASE)


def _mentions_booking(node: ast.AST, names: set[str]) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and (sub.id == "Booking" or sub.id in names):
            return True
        if isinstance(sub, ast.Attribute) and (sub.attr == "Booking" or sub.attr == "booking"):
            return True
    return False


def _is_booking(target: ast.expr, names: set[str]) -> bool:
    if isinstance(target, ast.Name):
        return target.id in names or bool(_NAMED.search(target.id))
    if isinstance(target, ast.Attribute):
        return target.attr == "booking" or bool(_NAMED.search(target.attr))
    return False


def _booking_names(scope: ast.AST) -> set[str]:
    """Names in ``scope`` that hold a Booking (fixpoint over assignments, for loops and annotations)."""
    names: set[str] = set()
    for node in ast.walk(scope):
        if isinstance(node, ast.arg) and node.annotation is not None and _mentions_booking(node.annotation, set()):
            names.add(node.arg)
    while True:
        before = len(names)
        for node in ast.walk(scope):
            bound: list[ast.expr] = []
            if isinstance(node, ast.Assign) and _mentions_booking(node.value, names):
                bound = node.targets
            elif isinstance(node, ast.AnnAssign):
                value = node.value
                if _mentions_booking(node.annotation, set()) or (value is not None and _mentions_booking(value, names)):
                    bound = [node.target]
            elif isinstance(node, (ast.For, ast.comprehension)) and _mentions_booking(node.iter, names):
                bound = [node.target]
            for target in bound:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        names.add(sub.id)
        if len(names) == before:
            return names


def _scope_violations(scope: ast.AST, nodes: list[ast.AST]) -> list[tuple[int, str]]:
    names = _booking_names(scope)
    found: list[tuple[int, str]] = []
    for node in nodes:
        if isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if called == "Booking":
                found.append((node.lineno, "constructs Booking"))
            elif called in {"insert", "update", "delete"} and any(
                isinstance(a, ast.Name) and a.id == "Booking" for a in node.args
            ):
                found.append((node.lineno, f"{called}(Booking)"))
            elif called == "setattr" and node.args and _is_booking(node.args[0], names):
                found.append((node.lineno, "setattr on a booking"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _RAW_SQL.search(node.value):
            found.append((node.lineno, "raw SQL writes bookings"))
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Attribute) and sub.attr in GUARDED and _is_booking(sub.value, names):
                    found.append((sub.lineno, f"assigns {ast.unparse(sub)}"))
    return found


def violations(source: str) -> list[str]:
    """Every write to a bookings row in ``source``, as ``line: what``.

    Each function is its own scope (a ``callback`` in one function is not the ``booking`` of
    another); module-level code is one more scope.
    """
    tree = ast.parse(source)
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]
    inside = {id(sub) for f in functions for sub in ast.walk(f)}
    top = ast.Module(body=[n for n in tree.body if id(n) not in inside], type_ignores=[])
    found = set(_scope_violations(top, [n for n in ast.walk(tree) if id(n) not in inside]))
    for function in functions:
        found.update(_scope_violations(function, list(ast.walk(function))))
    return [f"{line}: {what}" for line, what in sorted(found)]


def test_only_schedule_writes_bookings_rows():
    modules = [p for p in ROOT.rglob("*.py") if p != OWNER and "migrations" not in p.parts]
    assert len(modules) > 40
    found = {str(path.relative_to(ROOT.parent)): hits for path in modules if (hits := violations(path.read_text()))}
    assert found == {}


def test_the_owner_itself_is_seen_writing():
    """The checker does find the writes where they are (else the test above could not fail)."""
    hits = violations(OWNER.read_text())
    assert any("constructs Booking" in h for h in hits)
    assert any("booking.status" in h for h in hits) and any("booking.sequence" in h for h in hits)


@pytest.mark.parametrize(
    "snippet",
    [
        "session.add(Booking(kind='call', start_at=s, end_at=e))",
        "def move_row(session, booking, start, end):\n    booking.start_at, booking.end_at = start, end",
        "def bump(row: Booking) -> None:\n    row.sequence += 1",
        "def release(callback):\n    callback.booking.status = 'cancelled'",
        "def f(session):\n    keep = session.get(Booking, 1)\n    other = keep\n    other.end_at = x",
        "def f(session):\n    for b in session.scalars(select(Booking)):\n        b.status = 'cancelled'",
        "session.execute(update(Booking).values(status='cancelled'))",
        "conn.execute(text('UPDATE bookings SET status = 1'))",
        "setattr(reservation, 'status', 'cancelled')",
    ],
)
def test_the_checker_catches_each_old_way_of_writing_a_row(snippet):
    assert violations(snippet)


@pytest.mark.parametrize(
    "snippet",
    [
        "def f(session, call_sid):\n    call = session.get(Call, 1)\n    call.status = 'voicemail'",
        "def f(callback):\n    callback.status = 'done'\n    callback.booking_id = 3",
        "rows = session.scalars(select(Booking.id).where(Booking.status == 'confirmed'))",
        "SQL = 'SELECT start_at FROM bookings WHERE agent_id = ?'",
    ],
)
def test_the_checker_leaves_other_rows_and_reads_alone(snippet):
    assert violations(snippet) == []
