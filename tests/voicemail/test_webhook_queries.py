"""How many SQL statements one Twilio webhook costs (issue 19): each is a round trip while Twilio waits.

An SQLAlchemy ``before_cursor_execute`` listener counts every statement sent while one signed POST
runs (the outbox is not drained inline here, so only the webhook's own work counts). The ceilings are
what each path needs; a change that adds a query fails here and must say why.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from sqlalchemy import event, func, select

from booking.extensions import db
from booking.models import Call
from booking.services import availability
from booking.vocabulary import CallStatus
from tests.fixtures.twilio_rest import TEST_AUTH_TOKEN, twilio_signature
from tests.voicemail.conftest import AGENT_PHONE, CALLER, LINE, PUBLIC_URL, paris, post_hook

#: An in-hours call from a customer with dedicated support, first sight of its CallSid: ONE write
#: transaction - BEGIN (IMMEDIATE on SQLite), the customer, its agent and whether the service has a
#: senior in one SELECT, the call inserted already routed (``INSERT ... ON CONFLICT DO NOTHING
#: RETURNING``), COMMIT. Before: 20 round trips in three transactions (select call, customer by
#: number, agent; BEGIN, select call, customer and agent again (expired by the commit), insert, COMMIT;
#: select call, agent, has_seniors; BEGIN, select call, UPDATE status, COMMIT).
VOICE_CEILING = 4

#: A recording for a known call, ONE write transaction: BEGIN, the recording check + call + customer +
#: agent in one SELECT, the assignee's lock (UPDATE ... RETURNING), the voicemail, the reservation (busy
#: read, SAVEPOINT, booking, its outbox row, RELEASE), the callback inserted with its booking_id, the
#: request and its event, the callback's outbox rows, the call's move, COMMIT. Before: 26 in three
#: transactions (the check, call, customer and agent read apart; the check again under the lock; call
#: and customer re-read after the first commit; an UPDATE for the callback's booking_id; the callback
#: re-read after the commit for the route's log line).
VOICEMAIL_CEILING = 15


@contextmanager
def counted() -> Iterator[list[str]]:
    """Every round trip: each statement SQLAlchemy sends, the busy read that goes straight to the
    driver, and the transaction ends (and PostgreSQL's BEGIN), which the driver sends unseen by
    ``before_cursor_execute`` (SQLite's explicit BEGIN IMMEDIATE / DEFERRED is a statement already)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    def begin(conn: Any) -> None:
        if conn.dialect.name == "postgresql":
            statements.append("BEGIN (psycopg)")

    def commit(_conn: Any) -> None:
        statements.append("COMMIT")

    def rollback(_conn: Any) -> None:
        statements.append("ROLLBACK")

    mp = pytest.MonkeyPatch()
    raw_read = availability._read_busy

    def read_busy(*args: Any, **kwargs: Any) -> Any:
        statements.append("-- busy read: one UNION ALL on the driver's cursor")
        return raw_read(*args, **kwargs)

    mp.setattr(availability, "_read_busy", read_busy)
    listeners = [("before_cursor_execute", record), ("begin", begin), ("commit", commit), ("rollback", rollback)]
    for name, fn in listeners:
        event.listen(db.engine, name, fn)
    try:
        yield statements
    finally:
        for name, fn in listeners:
            event.remove(db.engine, name, fn)
        mp.undo()


@pytest.fixture
def env_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    env: dict[str, Any] = dict(request.getfixturevalue("fake_twilio").env())
    env["BOOKING_OUTBOX_INLINE"] = "0"
    return env


@pytest.fixture
def customer(make_agent: Any, make_customer: Any) -> dict[str, Any]:
    agent = make_agent(name="Camille Martin", phone=AGENT_PHONE)
    make_agent(name="Sam Senior", tier="senior")
    return make_customer(agent["slug"], phones=[CALLER])  # type: ignore[no-any-return]


def _voice(client: Any, sid: str) -> tuple[Any, str]:
    return post_hook(client, "/twilio/voice", {"CallSid": sid, "From": CALLER, "To": LINE, "CallStatus": "ringing"})


def _recording(client: Any, call_sid: str, recording_sid: str) -> tuple[Any, str]:
    return post_hook(
        client,
        "/twilio/voicemail",
        {
            "CallSid": call_sid,
            "From": CALLER,
            "RecordingSid": recording_sid,
            "RecordingStatus": "completed",
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/{recording_sid}",
            "RecordingDuration": "12",
        },
    )


def _show(statements: list[str]) -> str:
    return f"{len(statements)} statements:\n" + "\n".join(s.split("\n")[0][:160] for s in statements)


def test_an_in_hours_call_costs_at_most_the_ceiling(client, customer, frozen):
    frozen(paris(2026, 11, 30, 10, 0))
    response, _ = _voice(client, "CAwarm")  # warm: compiled statements, connection
    assert response.status_code == 200
    db.session.remove()
    with counted() as statements:
        response, body = _voice(client, "CAcounted")
    assert response.status_code == 200 and "<Dial" in body and "<Gather" in body, body  # the press-2 menu
    assert len(statements) <= VOICE_CEILING, _show(statements)


def test_a_retried_call_changes_nothing(client, customer, frozen):
    """A replay finds the routed call: its insert does nothing, no row is updated, same TwiML."""
    frozen(paris(2026, 11, 30, 10, 0))
    _, first = _voice(client, "CAretried")
    db.session.remove()
    with counted() as statements:
        response, again = _voice(client, "CAretried")
    assert response.status_code == 200 and again == first
    writes = [s for s in statements if s.lstrip().split()[0].upper() in ("UPDATE", "DELETE")]
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert writes == [] and all("DO NOTHING" in s for s in inserts), _show(statements)
    assert len(statements) <= VOICE_CEILING + 1, _show(statements)  # + the stored row's read


def test_a_voicemail_costs_at_most_the_ceiling(client, customer, frozen):
    frozen(paris(2026, 11, 30, 10, 0))
    _voice(client, "CAwarm")
    assert _recording(client, "CAwarm", "REwarm")[0].status_code == 200
    _voice(client, "CAcounted")
    db.session.remove()
    with counted() as statements:
        response, _ = _recording(client, "CAcounted", "REcounted")
    assert response.status_code == 200
    assert len(statements) <= VOICEMAIL_CEILING, _show(statements)


def test_concurrent_retries_of_a_call_store_one_row_and_answer_alike(client, customer, frozen, live_server):
    """Twilio retries overlap: 12 identical /twilio/voice at once, over real sockets. The routed
    insert's ON CONFLICT DO NOTHING makes the losers read the winner's row: one call, one answer."""
    frozen(paris(2026, 11, 30, 10, 0))
    params = {"CallSid": "CArace", "From": CALLER, "To": LINE, "CallStatus": "ringing"}
    headers = {"X-Twilio-Signature": twilio_signature(f"{PUBLIC_URL}/twilio/voice", params, TEST_AUTH_TOKEN)}

    def attempt(_: int) -> tuple[int, str]:
        response = requests.post(f"{live_server.url}/twilio/voice", data=params, headers=headers, timeout=60)
        return response.status_code, response.text

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(attempt, range(12)))
    assert {status for status, _ in answers} == {200}
    assert len({body for _, body in answers}) == 1 and "<Dial" in answers[0][1]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Call)) == 1
    assert db.session.scalar(select(Call.status)) == CallStatus.DIALING


def test_a_replayed_recording_writes_nothing(client, customer, frozen):
    frozen(paris(2026, 11, 30, 10, 0))
    _voice(client, "CAreplay")
    assert _recording(client, "CAreplay", "RError")[0].status_code == 200
    db.session.remove()
    with counted() as statements:
        response, _ = _recording(client, "CAreplay", "RError")
    assert response.status_code == 200
    writes = [s for s in statements if s.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert writes == [], _show(statements)


def test_the_counter_sees_every_statement(client, customer, frozen):
    """The listener is real: a call from an unknown number still costs its lookup and its insert."""
    frozen(paris(2026, 11, 30, 10, 0))
    with counted() as statements:
        response, _ = post_hook(client, "/twilio/voice", {"CallSid": "CAunknown", "From": "+33699999999", "To": LINE})
    assert response.status_code == 200
    assert any("INSERT INTO calls" in s for s in statements), _show(statements)
