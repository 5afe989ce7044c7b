"""Every wording `flows.disclosure` can give leaves every answer at least two values.

Brute force over every answer set for small populations: group the answer sets by the
wording they produce; within each wording, each answer must take two values or more.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from flows.disclosure import CountBands, MeanBands, count_text, mean_text, participation


def groups_of(sizes: tuple[int, ...], answers: tuple[int, ...]) -> dict[int, list[int]]:
    out, it = {}, iter(answers)
    for g, size in enumerate(sizes):
        out[g] = [next(it) for _ in range(size)]
    return out


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 2), min_size=3, max_size=5), st.integers(3, 4))
def test_no_average_wording_fixes_an_answer(sizes: list[int], k: int) -> None:
    shape = tuple(sizes)
    if sum(shape) > 6:  # 5^6 answer sets at most: every one is tried
        shape = shape[:3]
    possible: dict[str | None, list[set[int]]] = defaultdict(
        lambda: [set() for _ in range(sum(shape))]
    )
    for answers in itertools.product(range(1, 6), repeat=sum(shape)):
        text = mean_text(groups_of(shape, answers), k)
        for i, a in enumerate(answers):
            possible[text][i].add(a)
    for text, values in possible.items():
        if text is not None:
            assert all(len(v) >= 2 for v in values), (shape, text)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 2), min_size=1, max_size=7), st.integers(3, 5))
def test_no_count_wording_fixes_an_answer(sizes: list[int], k: int) -> None:
    """A count of groups where anyone said yes (how "pairs who met" is counted)."""
    shape = tuple(sizes)
    possible: dict[str | None, list[set[bool]]] = defaultdict(
        lambda: [set() for _ in range(sum(shape))]
    )
    for answers in itertools.product((False, True), repeat=sum(shape)):
        count = sum(any(g) for g in groups_of(shape, answers).values())  # type: ignore[arg-type]
        text = count_text(count, len(shape), k, "pairs")
        for i, a in enumerate(answers):
            possible[text][i].add(a)
    for text, values in possible.items():
        if text is not None:
            assert all(len(v) == 2 for v in values), (shape, text)


def test_counts_are_worded_by_band() -> None:
    assert count_text(2, 10, 3, "pairs") == "fewer than 3 of 10 pairs"
    assert count_text(3, 10, 3, "pairs") == "3 of 10 pairs (30%)"
    assert count_text(7, 10, 3, "pairs") == "7 of 10 pairs (70%)"
    assert count_text(8, 10, 3, "pairs") == "at least 8 of 10 pairs"
    assert count_text(10, 10, 3, "pairs") == "at least 8 of 10 pairs"  # never "all"
    assert count_text(5, 5, 5, "pairs") is None  # k = n: "at least 5 of 5" would say all
    assert not CountBands(5, 5).shown and CountBands(6, 5).shown
    assert participation(4, 5) == "fewer than 5" and participation(5, 5) == "5"


def test_averages_merge_only_the_tenths_that_would_fix_an_answer() -> None:
    three = MeanBands.of((1, 1, 1))
    assert three.groups[0] == (three.groups[0][0], three.groups[0][1])
    assert mean_text({1: [1], 2: [1], 3: [2]}, 3) == "1.3 or lower"  # 4/3: sums 3 and 4
    assert mean_text({1: [3], 2: [3], 3: [3]}, 3) == "3.0"
    assert mean_text({1: [5], 2: [5], 3: [5]}, 3) == "4.7 or higher"  # sums 14 and 15
    many = MeanBands.of((1,) * 50)
    assert len(many.groups) == 41  # 50 answers: every tenth is safe on its own


def test_a_hundred_thousand_pairs_are_banded_quickly() -> None:
    bands = MeanBands.of(tuple(sorted((1, 2) * 50_000)))
    assert len(bands.groups) == 41
