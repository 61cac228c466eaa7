"""The call state table: which moves a webhook may make, and that everything else is refused."""

from __future__ import annotations

import itertools

import pytest

from booking.core.call_states import DIAL_OUTCOMES, TRANSITIONS, IllegalCallMove, check_move, dial_outcome
from booking.vocabulary import CallStatus as S

MISSED = [S.BUSY, S.NO_ANSWER, S.FAILED, S.CANCELED]

# Every move a real sequence of webhooks makes, written out by hand (not derived from the table).
ALLOWED = {
    (S.RINGING, S.DIALING),
    (S.RINGING, S.FORWARDED),
    (S.RINGING, S.AFTER_HOURS),
    (S.RINGING, S.VOICEMAIL),
    (S.RINGING, S.CRITICAL),
    *((S.RINGING, outcome) for outcome in [S.ANSWERED, *MISSED]),
    *((S.DIALING, outcome) for outcome in [S.ANSWERED, *MISSED]),
    *((S.FORWARDED, outcome) for outcome in [S.ANSWERED, *MISSED]),
    (S.DIALING, S.VOICEMAIL),
    (S.FORWARDED, S.VOICEMAIL),
    (S.AFTER_HOURS, S.CRITICAL),
    (S.AFTER_HOURS, S.VOICEMAIL),
    (S.CRITICAL, S.VOICEMAIL),
    *((missed, S.VOICEMAIL) for missed in MISSED),
    # Press 2 in business hours (issue 16): the seniors ring, or a message for them.
    *((before, after) for before in (S.RINGING, S.DIALING) for after in (S.SENIORS, S.SENIOR_VOICEMAIL)),
    (S.SENIORS, S.ANSWERED),
    (S.SENIORS, S.SENIOR_VOICEMAIL),
    (S.SENIORS, S.VOICEMAIL),
    (S.SENIOR_VOICEMAIL, S.VOICEMAIL),
}


def test_the_table_covers_every_state_and_only_known_states():
    assert set(TRANSITIONS) == set(S)
    assert all(targets <= set(S) for targets in TRANSITIONS.values())


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)), ids=lambda s: s.value)
def test_each_move_is_allowed_exactly_when_declared(current, target):
    if current is target or (current, target) in ALLOWED:
        assert check_move(current, target) is target
    else:
        with pytest.raises(IllegalCallMove) as refused:
            check_move(current, target)
        assert (refused.value.current, refused.value.target) == (current, target)
        assert current.value in str(refused.value) and target.value in str(refused.value)


def test_no_state_leads_back_to_ringing_and_an_answered_call_is_final():
    assert all(S.RINGING not in targets for targets in TRANSITIONS.values())
    assert TRANSITIONS[S.ANSWERED] == frozenset()
    assert TRANSITIONS[S.VOICEMAIL] == frozenset()


def test_a_voicemail_can_follow_every_state_but_answered():
    for state in S:
        if state not in (S.ANSWERED, S.VOICEMAIL):
            assert S.VOICEMAIL in TRANSITIONS[state], state


def test_a_row_holding_an_unknown_state_cannot_move():
    """Rows written before migration 0003 could hold any text; nothing moves from such a state."""
    with pytest.raises(IllegalCallMove):
        check_move("weird", S.VOICEMAIL)


def test_plain_strings_are_read_as_states():
    assert check_move("ringing", S.DIALING) is S.DIALING
    assert check_move("after-hours", S.CRITICAL) is S.CRITICAL


@pytest.mark.parametrize(
    ("sent", "state"),
    [
        ("completed", S.ANSWERED),
        ("answered", S.ANSWERED),
        ("busy", S.BUSY),
        ("no-answer", S.NO_ANSWER),
        ("failed", S.FAILED),
        ("canceled", S.CANCELED),
        (" No-Answer ", S.NO_ANSWER),
        (None, S.FAILED),
        ("", S.FAILED),
        ("exploded", S.FAILED),
        ("ringing", S.FAILED),  # a call state, but not a way for a <Dial> to end
        ("x" * 500, S.FAILED),
    ],
)
def test_dial_outcome_reads_twilio_values_and_fails_safe(sent, state):
    assert dial_outcome(sent) is state
    assert dial_outcome(sent) in DIAL_OUTCOMES
