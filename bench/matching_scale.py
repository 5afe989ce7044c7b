"""Time to find the optimal matching for pools of growing size (seeded, reproducible)."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

from flows.matching.solver import Candidate, solve

TOPICS = [f"t{i}" for i in range(12)]
ZONES = ["Europe/London", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"]


def pool(size: int, seed: int) -> list[Candidate]:
    rng = random.Random(seed)
    people = []
    for i in range(size):
        role = rng.choice(["mentor", "mentor", "mentee", "two_way"])
        people.append(
            Candidate(
                id=i,
                person=f"p{i}",
                role=role,  # type: ignore[arg-type]
                offers=frozenset(rng.sample(TOPICS, 3)),
                wants=frozenset(rng.sample(TOPICS, 3)),
                timezone=rng.choice(ZONES),
                level=rng.randint(1, 3) if role == "mentor" else rng.randint(4, 8),
                department=rng.choice(["eng", "sales", "ops", "finance"]),
            )
        )
    return people


def main() -> None:
    at = datetime(2027, 1, 4, 12, tzinfo=UTC)
    for size in (50, 100, 200, 400):
        candidates = pool(size, seed=size)
        started = time.perf_counter()
        result = solve(candidates, managers={}, at=at, seed=1)
        elapsed = time.perf_counter() - started
        pairs, total = len(result.matches), result.total_score
        print(f"{size:4d} people: {pairs:3d} pairs, total score {total:9.1f}, {elapsed:6.2f} s")


if __name__ == "__main__":
    main()
