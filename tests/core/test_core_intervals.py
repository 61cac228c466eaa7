"""Interval algebra: tables of concrete cases plus properties against a set model."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking.core.intervals import (
    contains,
    intersect,
    merge,
    overlaps,
    overlaps_any,
    subtract,
    to_utc,
)

BASE = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
Pairs = list[tuple[int, int]]  # intervals as minute offsets from BASE


def iv(a: int, b: int) -> tuple[datetime, datetime]:
    """Interval of minute offsets from BASE."""
    return (BASE + timedelta(minutes=a), BASE + timedelta(minutes=b))


def ivs(*pairs: tuple[int, int]) -> list[tuple[datetime, datetime]]:
    return [iv(a, b) for a, b in pairs]


@pytest.mark.parametrize(
    ("given_", "expected"),
    [
        ([], []),
        ([(0, 10)], [(0, 10)]),
        ([(5, 5)], []),  # empty dropped
        ([(10, 5)], []),  # inverted dropped
        ([(20, 30), (0, 10)], [(0, 10), (20, 30)]),  # sorted
        ([(0, 10), (10, 20)], [(0, 20)]),  # touching merged
        ([(0, 10), (5, 20)], [(0, 20)]),  # overlapping merged
        ([(0, 30), (5, 10)], [(0, 30)]),  # contained
        ([(0, 10), (11, 20)], [(0, 10), (11, 20)]),  # gap kept
        ([(0, 10), (30, 40), (9, 31)], [(0, 40)]),
    ],
)
def test_merge(given_: Pairs, expected: Pairs) -> None:
    assert merge(ivs(*given_)) == ivs(*expected)


@pytest.mark.parametrize(
    ("base", "remove", "expected"),
    [
        ([(0, 100)], [], [(0, 100)]),
        ([(0, 100)], [(10, 20)], [(0, 10), (20, 100)]),
        ([(0, 100)], [(0, 100)], []),
        ([(0, 100)], [(-10, 10), (90, 110)], [(10, 90)]),
        ([(0, 100)], [(100, 110)], [(0, 100)]),  # touching removes nothing
        (
            [(0, 10), (20, 30)],
            [(5, 25)],
            [(0, 5), (25, 30)],
        ),  # one removal spans two bases
        ([(0, 10), (20, 30), (40, 50)], [(5, 45)], [(0, 5), (45, 50)]),
        ([(0, 100)], [(30, 40), (10, 20), (15, 35)], [(0, 10), (40, 100)]),
    ],
)
def test_subtract(base: Pairs, remove: Pairs, expected: Pairs) -> None:
    assert subtract(ivs(*base), ivs(*remove)) == ivs(*expected)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([(0, 10)], [(10, 20)], []),
        ([(0, 10)], [(5, 20)], [(5, 10)]),
        ([(0, 100)], [(10, 20), (30, 40)], [(10, 20), (30, 40)]),
        ([(0, 10), (20, 30)], [(5, 25)], [(5, 10), (20, 25)]),
        ([(0, 10), (10, 20)], [(5, 15)], [(5, 15)]),
    ],
)
def test_intersect(a: Pairs, b: Pairs, expected: Pairs) -> None:
    assert intersect(ivs(*a), ivs(*b)) == ivs(*expected)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0, 10), (10, 20), False),  # touching
        ((0, 10), (9, 20), True),
        ((0, 10), (2, 3), True),
        ((5, 5), (0, 10), False),  # empty overlaps nothing
        ((20, 30), (0, 10), False),
    ],
)
def test_overlaps(a: tuple[int, int], b: tuple[int, int], expected: bool) -> None:
    assert overlaps(iv(*a), iv(*b)) is expected
    assert overlaps(iv(*b), iv(*a)) is expected


def test_results_are_utc_even_for_other_zones() -> None:
    start = datetime(2026, 7, 1, 9, 0, tzinfo=PARIS)
    out = merge([(start, start + timedelta(hours=1))])
    assert out == [(datetime(2026, 7, 1, 7, 0, tzinfo=UTC), datetime(2026, 7, 1, 8, 0, tzinfo=UTC))]
    assert out[0][0].tzinfo is UTC


def test_dst_fold_is_compared_in_utc() -> None:
    """02:30 CEST (fold=0) and 02:30 CET (fold=1) on 2026-10-25 are an hour apart.

    Python compares same-tzinfo datetimes by wall clock, so without UTC
    normalisation these two intervals would wrongly look like one instant.
    """
    first = datetime(2026, 10, 25, 2, 30, tzinfo=PARIS)
    second = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=PARIS)
    assert to_utc(second) - to_utc(first) == timedelta(hours=1)
    assert not overlaps((first, second), (second, second + timedelta(minutes=1)))
    assert merge([(first, second)]) == [
        (
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
            datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
        )
    ]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        merge([(datetime(2026, 1, 1), datetime(2026, 1, 2))])


@pytest.mark.parametrize(
    ("probe", "expected"),
    [
        ((0, 10), True),
        ((10, 20), False),  # touches end of first, start of second
        ((19, 21), True),
        ((30, 40), False),  # touches both neighbours
        ((41, 42), True),
        ((60, 70), False),  # after everything
        ((-5, 0), False),  # before everything
        ((15, 15), False),  # empty
    ],
)
def test_overlaps_any(probe: tuple[int, int], expected: bool) -> None:
    merged = merge(ivs((0, 10), (20, 30), (40, 50)))
    assert overlaps_any(merged, *iv(*probe)) is expected


@pytest.mark.parametrize(
    ("probe", "expected"),
    [
        ((0, 10), True),
        ((2, 8), True),
        ((5, 15), False),
        ((10, 20), False),
        ((20, 50), True),
    ],
)
def test_contains(probe: tuple[int, int], expected: bool) -> None:
    merged = merge(ivs((0, 10), (20, 30), (30, 50)))
    assert contains(merged, *iv(*probe)) is expected


# --- properties against a model: a set of covered minutes ---------------------------

minute_intervals = st.lists(st.tuples(st.integers(0, 120), st.integers(0, 120)), max_size=12)


def minutes(pairs: list[tuple[datetime, datetime]]) -> set[int]:
    covered: set[int] = set()
    for start, end in pairs:
        covered.update(
            range(
                int((start - BASE) / timedelta(minutes=1)),
                int((end - BASE) / timedelta(minutes=1)),
            )
        )
    return covered


def assert_canonical(result: list[tuple[datetime, datetime]]) -> None:
    """Sorted, non-empty, disjoint and not touching, all UTC."""
    for start, end in result:
        assert start < end
        assert start.tzinfo is UTC and end.tzinfo is UTC
    for (_, prev_end), (next_start, _) in itertools.pairwise(result):
        assert prev_end < next_start


@settings(max_examples=200, deadline=None)
@given(minute_intervals)
def test_merge_property(pairs: list[tuple[int, int]]) -> None:
    result = merge(ivs(*pairs))
    assert_canonical(result)
    assert minutes(result) == minutes(ivs(*pairs))


@settings(max_examples=200, deadline=None)
@given(minute_intervals, minute_intervals)
def test_subtract_and_intersect_property(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> None:
    diff = subtract(ivs(*a), ivs(*b))
    inter = intersect(ivs(*a), ivs(*b))
    assert_canonical(diff)
    assert_canonical(inter)
    assert minutes(diff) == minutes(ivs(*a)) - minutes(ivs(*b))
    assert minutes(inter) == minutes(ivs(*a)) & minutes(ivs(*b))


@settings(max_examples=200, deadline=None)
@given(minute_intervals, st.integers(0, 120), st.integers(1, 30))
def test_overlaps_any_matches_linear_scan(pairs: Pairs, start: int, length: int) -> None:
    merged = merge(ivs(*pairs))
    probe = iv(start, start + length)
    assert overlaps_any(merged, *probe) == any(overlaps(probe, m) for m in merged)
    covered = minutes(merged)
    assert contains(merged, *probe) == set(range(start, start + length)).issubset(covered)
