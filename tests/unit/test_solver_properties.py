"""The matching solver: hard constraints always hold, and the total is truly optimal.

Constraints are re-checked here independently of the solver's own `edge` function; the
optimum is compared with an exhaustive search over every feasible set of pairs.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from flows.matching.solver import (
    Candidate,
    Weights,
    edge,
    in_reporting_line,
    solve,
    working_overlap_hours,
)

AT = datetime(2027, 1, 12, 12, 0, tzinfo=UTC)  # winter: London = UTC, New York = UTC-5
TOPICS = ["ai", "data", "hybrid", "inclusion"]
ZONES = ["UTC", "Europe/London", "America/New_York", "Asia/Tokyo"]


def person(i: int) -> str:
    return f"console:acme:p{i}"


@st.composite
def pools(draw: st.DrawFn) -> tuple[list[Candidate], dict[str, str | None]]:
    size = draw(st.integers(2, 6))
    managers = {
        person(i): draw(
            st.one_of(st.none(), st.sampled_from([person(j) for j in range(size) if j != i]))
        )
        for i in range(size)
    }
    candidates = []
    for i in range(size):
        others = [person(j) for j in range(size) if j != i]
        candidates.append(
            Candidate(
                id=i + 1,
                person=person(i),
                role=draw(st.sampled_from(["mentor", "mentee", "two_way"])),
                offers=frozenset(draw(st.sets(st.sampled_from(TOPICS), min_size=1, max_size=3))),
                wants=frozenset(draw(st.sets(st.sampled_from(TOPICS), min_size=1, max_size=3))),
                off_limits=frozenset(draw(st.sets(st.sampled_from(TOPICS), max_size=1))),
                timezone=draw(st.sampled_from(ZONES)),
                level=draw(st.one_of(st.none(), st.integers(1, 5))),
                department=draw(st.sampled_from([None, "eng", "sales"])),
                excluded=frozenset(draw(st.sets(st.sampled_from(others), max_size=1))),
                capacity=draw(st.integers(1, 2)),
                priority=draw(st.booleans()),
            )
        )
    return candidates, managers


def reporting_line(a: str, b: str, managers: dict[str, str | None]) -> bool:
    """Manager or skip-level manager, either direction (an independent re-implementation)."""

    def above(x: str) -> list[str]:
        first = managers.get(x)
        second = managers.get(first) if first else None
        return [m for m in (first, second) if m]

    return b in above(a) or a in above(b)


def allowed(mentee: Candidate, mentor: Candidate, managers: dict[str, str | None]) -> bool:
    two_way = "two_way" in (mentee.role, mentor.role)
    shared = mentee.wants & mentor.offers
    if two_way:
        shared |= mentor.wants & mentee.offers
    shared -= mentee.off_limits | mentor.off_limits
    junior = mentee.level is None or mentor.level is None or mentor.level < mentee.level
    return (
        mentee.id != mentor.id
        and mentee.role in ("mentee", "two_way")
        and mentor.role in ("mentor", "two_way")
        and not reporting_line(mentee.person, mentor.person, managers)
        and (two_way or junior)
        and mentor.person not in mentee.excluded
        and mentee.person not in mentor.excluded
        and bool(shared)
        and working_overlap_hours(mentee.timezone, mentor.timezone, AT, 9, 17) >= 1.0
    )


def feasible(chosen: list[tuple[int, int]], pool: dict[int, Candidate]) -> bool:
    as_mentee = Counter(mentee for mentee, _ in chosen)
    as_mentor = Counter(mentor for _, mentor in chosen)
    if any(n > 1 for n in as_mentee.values()):
        return False
    if any(n > pool[m].capacity for m, n in as_mentor.items()):
        return False
    if set(as_mentee) & set(as_mentor):
        return False  # a two-way person takes one role per round
    pairs = [frozenset(p) for p in chosen]
    return len(pairs) == len(set(pairs))


def brute_force_best(edges: list, pool: dict[int, Candidate]) -> float:
    best = 0.0

    def search(index: int, chosen: list, total: float) -> None:
        nonlocal best
        best = max(best, total)
        for j in range(index, len(edges)):
            e = edges[j]
            trial = [*chosen, (e.mentee_id, e.mentor_id)]
            if feasible(trial, pool):
                search(j + 1, trial, total + e.score)

    search(0, [], 0.0)
    return best


@settings(max_examples=150, deadline=None)
@given(pools(), st.integers(0, 3))
def test_every_match_respects_the_hard_constraints(drawn, seed) -> None:
    candidates, managers = drawn
    pool = {c.id: c for c in candidates}
    result = solve(candidates, managers=managers, at=AT, seed=seed)
    chosen = [(m.mentee_id, m.mentor_id) for m in result.matches]
    for mentee_id, mentor_id in chosen:
        assert allowed(pool[mentee_id], pool[mentor_id], managers)
        assert not reporting_line(pool[mentee_id].person, pool[mentor_id].person, managers)
    assert feasible(chosen, pool)  # never over capacity, one role, no duplicate pair
    in_pairs = {i for pair in chosen for i in pair}
    assert set(result.unmatched) == set(pool) - in_pairs


@settings(max_examples=150, deadline=None)
@given(pools())
def test_the_total_is_the_brute_force_optimum(drawn) -> None:
    candidates, managers = drawn
    pool = {c.id: c for c in candidates}
    edges = [
        e
        for mentee in candidates
        for mentor in candidates
        if (e := edge(mentee, mentor, managers=managers, at=AT)) is not None
    ]
    assert {(e.mentee_id, e.mentor_id) for e in edges} == {
        (a.id, b.id) for a in candidates for b in candidates if allowed(a, b, managers)
    }
    result = solve(candidates, managers=managers, at=AT, seed=0)
    assert abs(result.total_score - brute_force_best(edges, pool)) < 1e-6


@settings(max_examples=50, deadline=None)
@given(pools(), st.integers(0, 1000))
def test_same_input_and_seed_give_the_same_matching(drawn, seed) -> None:
    candidates, managers = drawn
    first = solve(candidates, managers=managers, at=AT, seed=seed)
    again = solve(list(reversed(candidates)), managers=managers, at=AT, seed=seed)
    assert first == again


def test_reporting_line_reaches_skip_level_both_ways_but_not_further() -> None:
    managers = {"a": "b", "b": "c", "c": "d", "d": None}
    assert in_reporting_line("a", "b", managers, 2) and in_reporting_line("c", "a", managers, 2)
    assert not in_reporting_line("a", "d", managers, 2)
    looped = {"x": "y", "y": "x"}
    assert in_reporting_line("x", "y", looped, 2)  # bad roster data terminates


def test_working_hour_overlap() -> None:
    assert working_overlap_hours("Europe/London", "America/New_York", AT, 9, 17) == 3.0
    assert working_overlap_hours("Europe/Berlin", "Europe/Berlin", AT, 9, 17) == 8.0
    assert working_overlap_hours("Asia/Tokyo", "Europe/London", AT, 9, 17) == 0.0


def test_priority_weighs_against_topic_overlap() -> None:
    """Someone left unmatched last round gets a boost; with a big enough weight they go first."""
    mentor = Candidate(
        id=1, person="m", role="mentor", offers=frozenset({"ai", "data"}), wants=frozenset()
    )
    waiting = Candidate(
        id=2, person="w", role="mentee", offers=frozenset(), wants=frozenset({"ai"}), priority=True
    )
    newcomer = Candidate(
        id=3, person="n", role="mentee", offers=frozenset(), wants=frozenset({"ai", "data"})
    )
    pool = [mentor, waiting, newcomer]
    default = solve(pool, managers={}, at=AT, seed=1)
    assert [m.mentee_id for m in default.matches] == [3]  # two shared topics beat the boost
    boosted = solve(pool, managers={}, at=AT, seed=1, weights=Weights(priority=15.0))
    assert [m.mentee_id for m in boosted.matches] == [2]
