"""The bulk pair table equals the per-pair specification (`solver.edge`) on random pools."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from flows.matching import solver
from flows.matching.solver import Candidate, Weights

MOMENTS = [datetime(2025, 1, 15, 12, tzinfo=UTC), datetime(2025, 7, 15, 3, tzinfo=UTC)]
ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Pacific/Auckland",
]
WORKSPACES = ["slack:T1", "slack:T1", "slack:T1", "slack:T2", "teams:tenant-1"]


def random_pool(
    size: int, seed: int, n_topics: int
) -> tuple[list[Candidate], dict[str, str | None]]:
    """Every rule exercised: roles, levels, exclusions, history, workspaces, reporting lines."""
    rng = random.Random(seed)
    topics = [f"t{i}" for i in range(n_topics)]
    keys = [f"{rng.choice(WORKSPACES)}:U{i}" for i in range(size)]
    keys += ["bare-key"] if size > 3 else []  # no workspace at all

    def some(k: int) -> frozenset[str]:
        return frozenset(rng.sample(topics, rng.randint(0, min(k, n_topics))))

    pool = []
    for i in range(size):
        pool.append(
            Candidate(
                id=rng.randrange(10**6) * 100 + i,  # unsorted, unique ids
                person=keys[i] if i < size - 1 else keys[-1],
                role=rng.choice(["mentor", "mentee", "two_way"]),
                offers=some(5),
                wants=some(5),
                off_limits=some(2) if rng.random() < 0.3 else frozenset(),
                timezone=rng.choice(ZONES),
                level=rng.choice([None, 1, 2, 3, 4, 5, 6]),
                department=rng.choice([None, "eng", "sales", "ops"]),
                excluded=frozenset(rng.sample(keys, 2)) if rng.random() < 0.2 else frozenset(),
                past_partners=frozenset(rng.sample(keys, 1)) if rng.random() < 0.2 else frozenset(),
                capacity=rng.choice([0, 1, 1, 2, 3]),
                priority=rng.random() < 0.2,
            )
        )
    managers: dict[str, str | None] = {
        k: rng.choice([*keys, None]) for k in keys if rng.random() < 0.8
    }
    return pool, managers


@pytest.mark.parametrize("seed", range(12))
def test_the_table_has_exactly_the_allowed_pairs_and_their_scores(seed: int) -> None:
    rng = random.Random(seed)
    pool, managers = random_pool(rng.randint(2, 45), seed, n_topics=rng.choice([3, 12, 70]))
    weights = Weights(
        topic=rng.choice([10.0, 1.5]),
        timezone=rng.choice([3.0, 0.7]),
        cross_department=rng.choice([2.0, 0.0]),
        priority=rng.choice([6.0, 15.0]),
        min_overlap_hours=rng.choice([0.0, 1.0, 3.5]),
        reporting_depth=rng.choice([1, 2, 3]),
    )
    hours = {"work_start": rng.choice([7, 9]), "work_end": rng.choice([15, 17, 24])}
    at = rng.choice(MOMENTS)
    spec = solver.feasible_edges(pool, managers=managers, at=at, weights=weights, **hours)
    table = solver.feasible_pairs(pool, managers=managers, at=at, weights=weights, **hours)
    bulk = [
        (table.mentees[r].id, table.mentors[c].id, s)
        for r, c, s in zip(table.row, table.col, table.score, strict=True)
    ]
    assert [(m, n) for m, n, _ in bulk] == [(e.mentee_id, e.mentor_id) for e in spec]
    for (_, _, score), e in zip(bulk, spec, strict=True):
        assert score == pytest.approx(e.score, abs=1e-9)


def test_the_solver_explains_chosen_pairs_with_the_specification() -> None:
    pool, managers = random_pool(40, seed=5, n_topics=6)
    at = MOMENTS[0]
    result = solver.solve(pool, managers=managers, at=at, seed=3)
    by_id = {c.id: c for c in pool}
    for match in result.matches:
        mentee, mentor = by_id[match.mentee_id], by_id[match.mentor_id]
        assert match == solver.edge(mentee, mentor, managers=managers, at=at)


@pytest.mark.parametrize("seed", [0, 1, 12345, -7, 2**40])
def test_tie_breaks_are_the_stream_of_random_random(seed: int) -> None:
    rng = random.Random(seed)
    expected = [rng.random() * solver.TIE_BREAK_JITTER for _ in range(1000)]
    assert solver.tie_breaks(seed, 1000).tolist() == expected
