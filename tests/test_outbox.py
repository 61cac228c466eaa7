"""The durable outbox: emitted in the caller's transaction, run after commit, retried, never twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking import effects
from booking.extensions import db
from booking.models import OutboxMessage
from booking.services import outbox

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
calls: list[tuple[str, dict]] = []
failures = {"left": 0, "permanent": False}


def _recorder(ctx, payload: dict, now: datetime) -> None:
    if failures["permanent"]:
        raise outbox.PermanentError("this can never work")
    if failures["left"] > 0:
        failures["left"] -= 1
        raise ConnectionError("server unreachable")
    calls.append(("recorder", payload))


def _second(ctx, payload: dict, now: datetime) -> None:
    calls.append(("second", payload))


@pytest.fixture(autouse=True)
def _reset(monkeypatch):
    # Two handlers of this module's own, declared the way booking.effects declares the real ones.
    monkeypatch.setitem(effects.HANDLERS, "test.recorder", _recorder)
    monkeypatch.setitem(effects.HANDLERS, "test.second", _second)
    monkeypatch.setitem(effects.SUBSCRIPTIONS, "test.event", ("test.recorder", "test.second"))
    calls.clear()
    failures.update(left=0, permanent=False)


def _emit(key: str = "k1") -> list[int]:
    ids = outbox.emit(db.session, "test.event", {"n": 1}, key, NOW)
    db.session.commit()
    return ids


def test_emit_fans_out_and_is_idempotent_per_key(app):
    ids = _emit()
    assert len(ids) == 2
    assert _emit() == []  # same key again: nothing new
    assert db.session.query(OutboxMessage).count() == 2
    assert outbox.emit(db.session, "nobody.listens", {}, "k", NOW) == []


def test_drain_runs_each_row_once(app):
    _emit()
    result = outbox.drain(db.session, NOW)
    assert result.as_dict() == {"done": 2, "retried": 0, "failed": 0}
    assert sorted(name for name, _ in calls) == ["recorder", "second"]
    assert calls[0][1] == {"event": "test.event", "n": 1}
    assert outbox.drain(db.session, NOW + timedelta(hours=1)).done == 0
    assert len(calls) == 2


def test_failure_is_retried_with_backoff_then_succeeds(app):
    failures["left"] = 2
    ids = _emit()
    first = outbox.drain(db.session, NOW, ids=ids)
    assert first.retried == 1 and first.done == 1
    row = db.session.query(OutboxMessage).filter_by(handler="test.recorder").one()
    assert row.status == "pending" and row.attempts == 1 and "unreachable" in row.last_error
    assert row.next_attempt_at == NOW + timedelta(seconds=30)
    assert outbox.drain(db.session, NOW + timedelta(seconds=10)).retried == 0  # not due yet
    assert outbox.drain(db.session, NOW + timedelta(seconds=30)).retried == 1
    row = db.session.get(OutboxMessage, row.id)
    assert row.next_attempt_at == NOW + timedelta(seconds=90)  # 30 s later + 60 s back-off
    assert outbox.drain(db.session, NOW + timedelta(minutes=5)).done == 1
    assert [name for name, _ in calls].count("recorder") == 1
    assert db.session.get(OutboxMessage, row.id).status == "done"


def test_permanent_failure_and_attempt_cap(app):
    failures["permanent"] = True
    _emit()
    assert outbox.drain(db.session, NOW).failed == 1
    failures["permanent"] = False
    failures["left"] = 10_000
    _emit("k2")
    t = NOW
    for _ in range(outbox.MAX_ATTEMPTS):
        t += timedelta(hours=2)
        outbox.drain(db.session, t)
    rows = db.session.query(OutboxMessage).filter_by(handler="test.recorder").all()
    assert {r.status for r in rows} == {"failed"}


def test_a_claimed_row_is_not_run_by_a_second_worker(app):
    _emit()
    row = db.session.query(OutboxMessage).filter_by(handler="test.recorder").one()
    row.locked_until = NOW + timedelta(minutes=1)  # another worker holds the lease
    db.session.commit()
    assert outbox.drain(db.session, NOW).done == 1  # only the other handler's row
    assert outbox.drain(db.session, NOW + timedelta(minutes=2)).done == 1  # lease expired: taken over


def test_backoff_is_capped():
    assert outbox.backoff(1) == timedelta(seconds=30)
    assert outbox.backoff(4) == timedelta(minutes=4)
    assert outbox.backoff(30) == timedelta(hours=1)
