"""The parsed busy-time cache (``booking.services.busy_cache``) and the rule it stands on (issue 19).

Rule: every change to an agent's busy time locks the agent row first (``schedule.lock_agent``), which
also increments ``agents.schedule_version`` in the same transaction; the cache is keyed by it. The
AST test below fails when a module writes busy time (bookings through ``schedule``, time off, synced
blocks) in a function that has not called ``lock_agent`` before the write. The other tests show the
cache is used (the busy read is skipped) and is never older than what was committed.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from booking.extensions import db
from booking.models import Agent, BusyBlock
from booking.services import availability
from tests.conftest import MONDAY

PACKAGE = Path(__file__).resolve().parents[1] / "booking"
BUSY_MODELS = {"BusyBlock", "TimeOff"}
SCHEDULE_WRITES = {"insert", "move", "cancel"}  # schedule.<name>: the writers of bookings rows
#: Helpers that write busy time for their caller, who must have locked the agent (checked at their call sites).
HELPERS = {
    ("services/schedule.py", "insert"),
    ("services/schedule.py", "move"),
    ("services/schedule.py", "cancel"),
    ("calendar_sync/connection.py", "reset_remote_state"),
    ("calendar_sync/sync.py", "_replace_rows"),
    ("services/callbacks.py", "_reserve"),
    ("services/callbacks.py", "_release"),
    ("services/requests.py", "_callback_owner_follows"),  # assign locks the reservation's agent first
}
HELPER_NAMES = {name for _, name in HELPERS}


def _call_name(node: ast.Call) -> tuple[str | None, str]:
    func = node.func
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else None
        return owner, func.attr
    if isinstance(func, ast.Name):
        return None, func.id
    return None, ""


def _writes(fn: ast.AST) -> list[tuple[int, str]]:
    """(line, what) of every busy-time write in a function body."""
    names = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
    found = []
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call):
            continue
        owner, name = _call_name(node)
        args = {a.id for a in node.args if isinstance(a, ast.Name)}
        if owner is None and name in BUSY_MODELS:
            found.append((node.lineno, f"{name}(...)"))
        elif owner is None and name in {"delete", "insert", "update"} and args & BUSY_MODELS:
            found.append((node.lineno, f"{name}({', '.join(args & BUSY_MODELS)})"))
        elif owner == "schedule" and name in SCHEDULE_WRITES:
            found.append((node.lineno, f"schedule.{name}"))
        elif owner is None and name in HELPER_NAMES and name not in SCHEDULE_WRITES:
            found.append((node.lineno, name))
        elif owner == "session" and name == "delete" and names & BUSY_MODELS:
            found.append((node.lineno, "session.delete(time off / busy block)"))
    return found


def _is_lock(node: ast.Call) -> bool:
    """``lock_agent(...)``, or a reader asked to lock (``dedicated_agent(..., lock=True)`` goes through it)."""
    if _call_name(node)[1] == "lock_agent":
        return True
    return any(k.arg == "lock" and isinstance(k.value, ast.Constant) and k.value.value is True for k in node.keywords)


def _lock_lines(fn: ast.AST) -> list[int]:
    return [n.lineno for n in ast.walk(fn) if isinstance(n, ast.Call) and _is_lock(n)]


def _functions() -> list[tuple[str, ast.FunctionDef]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("migrations/"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                out.append((rel, node))
    return out


def test_every_writer_of_busy_time_locks_the_agent_row_first():
    offenders = []
    for rel, fn in _functions():
        if (rel, fn.name) in HELPERS or rel == "services/busy_cache.py":
            continue
        writes = _writes(fn)
        if not writes:
            continue
        locks = _lock_lines(fn)
        for line, what in writes:
            if not any(lock < line for lock in locks):
                offenders.append(f"booking/{rel}:{line} {fn.name}: {what} without schedule.lock_agent before it")
    assert not offenders, "\n".join(offenders)


def test_the_rule_checker_sees_an_unlocked_writer():
    """The checker itself can fail: a writer without the lock is reported, the locked one is not."""
    unlocked = ast.parse("def f(session):\n    session.add(TimeOff(agent_id=1))\n").body[0]
    locked = ast.parse("def f(session):\n    schedule.lock_agent(session, 1)\n    session.add(TimeOff(agent_id=1))\n")
    assert _writes(unlocked) and not _lock_lines(unlocked)
    fn = locked.body[0]
    assert all(any(lock < line for lock in _lock_lines(fn)) for line, _ in _writes(fn))


#: Readers that lock the agent as they read it, for a caller that calls them first in its transaction
#: (their call sites, ``lock=True``, are checked as locks by the rule below).
LOCK_READERS = {("services/schedule.py", "dedicated_agent"), ("services/bookings.py", "booking_agent")}
#: Calls that write or take a row lock: none may come before the agent lock in its transaction.
WRITE_CALLS = {"add", "add_all", "delete", "flush", "merge", "emit", "log_event", "locked_request", "_get_locked"}
WRITE_CALLS |= {"with_for_update"} | SCHEDULE_WRITES


def _opens_transaction(node: ast.AST) -> bool:
    return isinstance(node, ast.With) and any(
        isinstance(item.context_expr, ast.Call) and _call_name(item.context_expr)[1] == "write_transaction"
        for item in node.items
    )


def _writes_or_row_locks(nodes: list[ast.AST]) -> list[tuple[int, str]]:
    """(line, what) of the writes and row locks among ``nodes`` (each node looked at alone)."""
    found = []
    for node in nodes:
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) for t in targets):
                found.append((node.lineno, "attribute assignment"))
        elif isinstance(node, ast.Call):
            name = _call_name(node)[1]
            inner = _call_name(node.args[0])[1] if node.args and isinstance(node.args[0], ast.Call) else ""
            if name in WRITE_CALLS:
                found.append((node.lineno, f"{name}(...)"))
            elif name == "execute" and inner in {"update", "insert", "delete"}:
                found.append((node.lineno, f"execute({inner}(...))"))
    return found


def _lock_order_offences(fn: ast.FunctionDef, is_reader: bool = False) -> list[str]:
    """Each agent lock sits in the function that opens its transaction, before every write and row lock
    there: a helper that locks in the middle of its caller's transaction (after the caller's writes and
    its own row locks, e.g. of a request) takes the locks in the other order than a booking does."""
    offences = []
    blocks = [node for node in ast.walk(fn) if _opens_transaction(node)]
    for lock in (n for n in ast.walk(fn) if isinstance(n, ast.Call) and _is_lock(n)):
        block = next((b for b in blocks if any(lock in ast.walk(stmt) for stmt in b.body)), None)
        if block is None:
            if not is_reader:
                offences.append(f"{fn.name}:{lock.lineno} locks the agent outside its own write_transaction")
            continue
        earlier = [
            n for stmt in block.body for n in ast.walk(stmt) if getattr(n, "end_lineno", lock.lineno) < lock.lineno
        ]
        offences += [
            f"{fn.name}:{line} {what} before the agent lock (line {lock.lineno})"
            for line, what in _writes_or_row_locks(earlier)
        ]
    return offences


def test_the_agent_lock_comes_first_in_its_transaction():
    offenders = []
    for rel, fn in _functions():
        offenders += [f"booking/{rel}: {o}" for o in _lock_order_offences(fn, (rel, fn.name) in LOCK_READERS)]
    assert not offenders, "\n".join(offenders)


def test_the_lock_order_checker_sees_a_late_lock_and_a_helper_locking_for_its_caller():
    late = ast.parse(
        "def f(session):\n    with write_transaction(session):\n        request = locked_request(session, 1)\n"
        "        request.agent_id = 2\n        schedule.lock_agent(session, 1)\n"
    ).body[0]
    helper = ast.parse(
        "def g(session, booking):\n    schedule.lock_agent(session, 1)\n    schedule.cancel(session, booking)\n"
    ).body[0]
    first = ast.parse(
        "def h(session, x):\n    with write_transaction(session):\n        if x is not None:\n"
        "            schedule.lock_agent(session, x)\n        request = locked_request(session, 1)\n"
        "        request.agent_id = 2\n"
    ).body[0]
    assert (
        isinstance(late, ast.FunctionDef) and isinstance(helper, ast.FunctionDef) and isinstance(first, ast.FunctionDef)
    )
    assert len(_lock_order_offences(late)) == 2
    assert _lock_order_offences(helper) == ["g:2 locks the agent outside its own write_transaction"]
    assert _lock_order_offences(first) == []


# --------------------------------------------------------------------------------------------------
# The cache at work
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the busy reads that reach the database."""
    calls: list[int] = []
    real = availability._read_busy

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(availability, "_read_busy", counting)
    return calls


def _slots(client: Any, slug: str) -> set[str]:
    response = client.get(f"/api/agents/{slug}/availability", query_string={"start": "2026-12-01", "end": "2026-12-03"})
    assert response.status_code == 200, response.get_json()
    return {s["start"] for s in response.get_json()["slots"]}


def _book(client: Any, token: str, start: str) -> Any:
    body = {"token": token, "start": start, "topic": "help", "name": "Ada", "email": "ada@example.com"}
    return client.post("/api/bookings", json=body)


def _version(slug: str) -> int:
    db.session.rollback()
    return int(db.session.scalar(select(Agent.schedule_version).where(Agent.slug == slug)) or 0)


def test_a_second_availability_answer_and_the_booking_check_reuse_the_busy_set(
    client, make_agent, make_customer, frozen, reads
):
    agent = make_agent()
    customer = make_customer(agent["slug"])
    first = _slots(client, agent["slug"])
    assert len(reads) == 1
    assert _slots(client, agent["slug"]) == first
    assert len(reads) == 1  # answered from the cache
    assert _book(client, customer["booking_token"], "2026-12-01T10:00:00+01:00").status_code == 201
    assert len(reads) == 1  # the check under the lock used the same busy set
    after = _slots(client, agent["slug"])
    assert "2026-12-01T10:00:00+01:00" in first and "2026-12-01T10:00:00+01:00" not in after
    assert len(reads) == 2  # the booking bumped the version: read again


def test_a_refused_booking_leaves_the_version_and_the_cache_alone(client, make_agent, make_customer, frozen, reads):
    agent = make_agent()
    customer = make_customer(agent["slug"])
    assert _book(client, customer["booking_token"], "2026-12-01T10:00:00+01:00").status_code == 201
    version = _version(agent["slug"])
    _slots(client, agent["slug"])
    assert _book(client, customer["booking_token"], "2026-12-01T10:00:00+01:00").status_code == 409
    assert _version(agent["slug"]) == version  # rolled back with the transaction
    count = len(reads)
    _slots(client, agent["slug"])
    assert len(reads) == count


def test_time_off_and_cancellation_show_at_once(client, admin, make_agent, make_customer, frozen):
    agent = make_agent()
    customer = make_customer(agent["slug"])
    assert "2026-12-02T14:00:00+01:00" in _slots(client, agent["slug"])
    response = client.post(
        f"/api/agents/{agent['slug']}/time-off",
        json={"start": "2026-12-02T13:00:00+01:00", "end": "2026-12-02T15:00:00+01:00"},
        headers=admin,
    )
    assert response.status_code == 201, response.get_json()
    assert "2026-12-02T14:00:00+01:00" not in _slots(client, agent["slug"])
    booked = _book(client, customer["booking_token"], "2026-12-01T11:00:00+01:00").get_json()
    assert "2026-12-01T11:00:00+01:00" not in _slots(client, agent["slug"])
    cancel = client.post(f"/api/bookings/{booked['id']}/cancel", json={"token": booked["manage_token"]})
    assert cancel.status_code == 200, cancel.get_json()
    assert "2026-12-01T11:00:00+01:00" in _slots(client, agent["slug"])


def test_a_busy_block_written_behind_the_rule_still_bumps_the_version(client, make_agent, frozen):
    """The after-flush safety net: an ORM write without the lock (a script) increments the version."""
    agent = make_agent()
    assert "2026-12-01T15:00:00+01:00" in _slots(client, agent["slug"])
    version = _version(agent["slug"])
    agent_id = db.session.scalar(select(Agent.id).where(Agent.slug == agent["slug"]))
    db.session.add(
        BusyBlock(
            agent_id=agent_id,
            start_at=MONDAY.replace(day=1, month=12, hour=13, minute=30),
            end_at=MONDAY.replace(day=1, month=12, hour=15),
            source="caldav",
        )
    )
    db.session.commit()
    assert _version(agent["slug"]) == version + 1
    assert "2026-12-01T15:00:00+01:00" not in _slots(client, agent["slug"])
