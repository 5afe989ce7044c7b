"""No one's answer can be worked out from the digests published over time.

Hypothesis builds small programs: pairs where one or both partners answer, answers that
come late (and so land in a later month's digest), answers erased before their month was
published, and several monthly digests. For each published digest and each question, a
brute force goes through every combination of answers that could have been given and keeps
those that would have produced exactly what was published. An answer is *inferred* if it
is the same in every combination kept. None may be.

Each answer counts in exactly one frozen digest (the month it was given in), so digests are
independent and checking each one checks them all together.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from flows.anonymity import CheckinFact, DigestInput, Figure, ReviewFact, compute_figures

TAXONOMY = {"workload": "Workload", "tools": "Tools"}
LEADS = ("junior", "shared", "senior")
THEME_SETS = [frozenset(c) for r in range(3) for c in itertools.combinations(TAXONOMY, r)]


@dataclasses.dataclass(frozen=True)
class Program:
    k: int
    months: tuple[tuple[CheckinFact, ...], ...]  # check-ins as they stood when each was published
    reviews: tuple[ReviewFact, ...]


@st.composite
def programs(draw: st.DrawFn) -> Program:
    k = draw(st.integers(3, 4))
    n_pairs = draw(st.integers(k, 6))
    months: list[list[CheckinFact]] = [[], [], []]
    reviews: list[ReviewFact] = []
    person = itertools.count(1)
    for pair in range(1, n_pairs + 1):
        for role in draw(st.sampled_from([("mentor",), ("mentee",), ("mentor", "mentee")])):
            who = next(person)
            if draw(st.booleans()) and len(reviews) < 5:
                reviews.append(
                    ReviewFact(
                        pair,
                        who,
                        draw(st.integers(1, 5)),
                        draw(st.integers(1, 5)),
                        draw(st.booleans()),
                    )
                )
            if draw(st.integers(0, 9)) == 0:
                continue  # erased before its month was published: it never counts
            month = draw(st.integers(0, 2))  # 1 or 2 = a late answer, in a later digest
            months[month].append(
                CheckinFact(
                    pair_id=pair,
                    participant_id=who,
                    role=role,
                    met=draw(st.booleans()),
                    rating=draw(st.integers(1, 5)),
                    themes=draw(st.sampled_from(THEME_SETS)),
                    energy=draw(st.integers(1, 5)) if role == "mentor" else None,
                    lead=draw(st.none() | st.sampled_from(LEADS)),
                )
            )
    return Program(k, tuple(tuple(m[:6]) for m in months), tuple(reviews))


def digest(
    k: int, checkins: Sequence[CheckinFact], reviews: Sequence[ReviewFact] = ()
) -> list[Figure]:
    data = DigestInput(
        k=k,
        participants=12,
        active_pairs=6,
        checkins=tuple(checkins),
        goals=(),
        reviews=tuple(reviews),
        themes=TAXONOMY,
    )
    return compute_figures(data)


def published(figures: list[Figure], keys: Callable[[str], bool]) -> list[tuple[str, Any]]:
    return [(f.key, f.value) for f in figures if keys(f.key)]


def assert_nothing_inferred(
    facts: Sequence[Any],
    field: str,
    domain: Sequence[Any],
    figures_of: Callable[[list[Any]], list[Figure]],
    keys: Callable[[str], bool],
) -> None:
    """Every combination of answers to `field` that reproduces what was published; each
    answer must differ in at least two of them."""
    asked = [i for i, f in enumerate(facts) if getattr(f, field) is not None]
    if not asked:
        return
    target = published(figures_of(list(facts)), keys)
    possible: dict[int, set[Any]] = {i: set() for i in asked}
    for answers in itertools.product(domain, repeat=len(asked)):
        trial = list(facts)
        for i, answer in zip(asked, answers, strict=True):
            trial[i] = dataclasses.replace(trial[i], **{field: answer})
        if published(figures_of(trial), keys) == target:
            for i, answer in zip(asked, answers, strict=True):
                possible[i].add(answer)
    inferred = [facts[i] for i in asked if len(possible[i]) < 2]
    assert not inferred, f"{field} of {inferred} follows from {target}"


QUESTIONS = [
    ("met", [False, True], lambda key: key == "meeting_rate"),
    ("rating", [1, 2, 3, 4, 5], lambda key: key == "going"),
    ("energy", [1, 2, 3, 4, 5], lambda key: key == "energy"),
    ("themes", THEME_SETS, lambda key: key.startswith("theme")),
    ("lead", LEADS, lambda key: key == "top_down"),
]


@settings(max_examples=120, deadline=None)
@given(programs())
def test_no_check_in_answer_can_be_inferred_from_all_digests(program: Program) -> None:
    for checkins in program.months:
        for field, domain, keys in QUESTIONS:
            assert_nothing_inferred(
                checkins, field, domain, lambda trial: digest(program.k, trial), keys
            )


@settings(max_examples=40, deadline=None)
@given(programs())
def test_no_review_answer_can_be_inferred(program: Program) -> None:
    reviews = list(program.reviews)
    for field, domain, key in (
        ("again", [False, True], "again"),
        ("confidence_now", [1, 2, 3, 4, 5], "impact"),
    ):
        assert_nothing_inferred(
            reviews,
            field,
            domain,
            lambda trial: digest(program.k, (), trial),
            lambda k, key=key: k == key,
        )


def test_the_brute_force_catches_a_digest_that_gives_answers_away() -> None:
    """The check itself can fail: all five pairs met, and a bare count would say so."""
    facts = [CheckinFact(p, p, "mentor", True, 4, frozenset(), 3) for p in range(1, 6)]

    def leaky(trial: list[CheckinFact]) -> list[Figure]:
        met = sum(f.met for f in trial)
        return [Figure("meeting_rate", "Pairs who met", f"{met} of {len(trial)}", len(trial))]

    try:
        assert_nothing_inferred(facts, "met", [False, True], leaky, lambda k: True)
    except AssertionError:
        return
    raise AssertionError("a count of 5 of 5 should have been caught")
