"""Optimal pairing of mentors and mentees for one round of reverse mentoring.

This module is pure: it takes plain values, returns plain values, and depends
only on the standard library, numpy and scipy. Loading participants, storing
matches and talking to Slack/Teams happen elsewhere.

Model
-----
Every pair allowed by the hard constraints (see :func:`edge`) becomes an edge
``mentee <- mentor`` with a score. We then pick the set of edges with the
largest total score such that

* each person is a mentee in at most one match,
* each person mentors at most ``capacity`` mentees,
* a ``two_way`` person takes ONE role this round: mentee (one match) or
  mentor (up to ``capacity``), never both,
* two people are never matched to each other twice.

Why ``milp`` and not ``linear_sum_assignment``
----------------------------------------------
Without two-way participants this would be an assignment problem: mentees as
rows, each mentor's column repeated ``capacity`` times, solved exactly by
``scipy.optimize.linear_sum_assignment``. Two-way participants break that
shape. They sit on both sides at once (as a row and as mentor columns), and
"mentee or mentor, not both" couples a row with a whole group of columns; a
person is also allowed to use none, one, or several of their mentor columns
only if their row is unused. An assignment solver cannot express such side
constraints, and dropping them yields matchings where one person mentors and
is mentored at the same time. The problem is really a capacitated matching
on a general (non-bipartite) graph with a role switch per two-way person, so
we state it as a 0-1 integer programme and let HiGHS, through
``scipy.optimize.milp``, solve it to proven optimality. It stays small: one
binary per feasible edge, one binary "acts as mentor" per two-way person, and
a few sparse rows per person.

Determinism
-----------
Edges are built in ``(mentee_id, mentor_id)`` order and each gets a tiny
jitter in ``[0, 1e-6)`` from ``random.Random(seed)`` added to its objective,
so ties are broken reproducibly: the same input and seed always give the same
result, while a different seed may pick a different, equally good, matching.
Reported scores exclude the jitter and are rounded to 6 decimals.

Performance
-----------
Building edges is plain Python (about 0.4 s for 300 people); see
:func:`_optimise` for how the solve is split up. A pool of 300 with a
minority of two-way people solves in under a second. Pools where nearly
everyone chose two_way and most pairs are feasible are much harder for any
exact method: 300 such people take 10-25 s, because the "one role" choice
makes the LP relaxation fractional and HiGHS has to branch.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, linprog, milp
from scipy.sparse import csr_array

Role = Literal["mentor", "mentee", "two_way"]

Rejection = Literal[
    "not_a_mentee",
    "not_a_mentor",
    "same_person",
    "other_workspace",
    "excluded",
    "past_partner",
    "seniority",
    "no_shared_topics",
    "timezone",
    "reporting_line",
]
"""Why :func:`edge` refused a pair; the first failing hard constraint.

``"excluded"`` comes from a confidential preference: callers must never show
it to the other person.
"""

MENTEE_ROLES: frozenset[str] = frozenset({"mentee", "two_way"})
MENTOR_ROLES: frozenset[str] = frozenset({"mentor", "two_way"})

TIE_BREAK_JITTER = 1e-6
"""Upper bound of the random tie-break added to each edge's objective.

Far below any real score difference with the default weights (overlap hours
come in quarter hours, so the smallest step is 3 * 0.25 / 8 = 0.09375).
"""

_REFERENCE_DAY_HOURS = 8.0
"""Overlap is scored relative to a standard eight-hour working day."""

_SCORE_DECIMALS = 6

_INTEGRAL_TOLERANCE = 1e-6
_PRUNING_SLACK = 1e-3
"""Objective slack when discarding edges by reduced cost; far above LP tolerances."""


@dataclass(frozen=True)
class Candidate:
    """One participant in the pool for this round."""

    id: int
    """Participant id."""
    person: str
    """Stable person key, e.g. ``"slack:T1:U123"``.

    It is what ``managers``, ``excluded`` and ``past_partners`` refer to.
    """
    role: Role
    """``mentor`` = the more junior partner who shares a perspective;
    ``mentee`` = the senior leader; ``two_way`` = either, learning both ways."""
    offers: frozenset[str]
    """Topic ids they can share."""
    wants: frozenset[str]
    """Topic ids they want to learn."""
    off_limits: frozenset[str] = frozenset()
    """Topic ids they will not discuss, whoever raises them."""
    timezone: str = "UTC"
    """IANA time-zone name."""
    level: int | None = None
    """Job level from the roster; higher = more senior; ``None`` = unknown."""
    department: str | None = None
    excluded: frozenset[str] = frozenset()
    """Confidential "don't pair me with" person keys."""
    past_partners: frozenset[str] = frozenset()
    """Person keys of anyone they were ever paired with."""
    capacity: int = 1
    """How many mentees they can take when acting as mentor."""
    priority: bool = False
    """Unmatched last round, or asked for a re-match: scored up so they go first."""


@dataclass(frozen=True)
class Weights:
    """Scoring weights and the tunable hard limits."""

    topic: float = 10.0
    """Per shared topic."""
    timezone: float = 3.0
    """Multiplied by (overlapping working hours / 8)."""
    cross_department: float = 2.0
    """Bonus when both departments are known and differ."""
    priority: float = 6.0
    """Per prioritised person in the pair."""
    min_overlap_hours: float = 1.0
    """Hard constraint: pairs with less shared working time are not allowed."""
    reporting_depth: int = 2
    """How far up the manager chain pairs are forbidden (2 = manager and skip-level)."""


DEFAULT_WEIGHTS = Weights()


@dataclass(frozen=True)
class Match:
    """One mentee paired with one mentor, with the reasons it scored."""

    mentor_id: int
    mentee_id: int
    score: float
    """Score without tie-break jitter, rounded to 6 decimals."""
    shared_topics: tuple[str, ...]
    """Sorted topic ids they can talk about."""
    overlap_hours: float
    cross_department: bool
    two_way: bool
    """Either partner chose ``two_way``: they learn from each other."""


@dataclass(frozen=True)
class MatchResult:
    """The chosen matching for the round."""

    matches: tuple[Match, ...]
    """Sorted by ``(mentee_id, mentor_id)``."""
    unmatched: tuple[int, ...]
    """Sorted ids of candidates in no match."""
    total_score: float


# --- hard-constraint building blocks -------------------------------------------


def in_reporting_line(a: str, b: str, managers: Mapping[str, str | None], depth: int) -> bool:
    """True if either person is within ``depth`` steps up the other's manager chain.

    ``depth=2`` covers manager and skip-level, in either direction. Unknown
    managers end a chain; loops in bad roster data are cut off.
    """
    return b in _managers_above(a, managers, depth) or a in _managers_above(b, managers, depth)


def _managers_above(person: str, managers: Mapping[str, str | None], depth: int) -> list[str]:
    """The first ``depth`` distinct managers above ``person``, nearest first."""
    chain: list[str] = []
    seen = {person}
    current = person
    for _ in range(depth):
        boss = managers.get(current)
        if not boss or boss in seen:
            break
        chain.append(boss)
        seen.add(boss)
        current = boss
    return chain


def working_overlap_hours(
    tz_a: str, tz_b: str, at: datetime, start: int = 9, end: int = 17
) -> float:
    """Hours the two local working windows ``[start, end)`` overlap.

    Each window is placed on the UTC axis using its zone's offset at the
    instant ``at`` (so DST is whatever is in force then). The other window is
    also tried a day earlier and later, because e.g. Tokyo's morning falls on
    the previous UTC day; the best of the three is returned.
    """
    _require_aware(at)
    a_start = start - _utc_offset_hours(tz_a, at)
    b_start = start - _utc_offset_hours(tz_b, at)
    length = end - start
    return max(
        _interval_overlap(a_start, a_start + length, b_start + shift, b_start + shift + length)
        for shift in (-24.0, 0.0, 24.0)
    )


@lru_cache(maxsize=4096)
def _utc_offset_hours(timezone: str, at: datetime) -> float:
    offset = at.astimezone(ZoneInfo(timezone)).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return offset.total_seconds() / 3600


def _interval_overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("`at` must be a timezone-aware datetime, e.g. datetime.now(UTC)")


def shared_topics(mentee: Candidate, mentor: Candidate) -> frozenset[str]:
    """Topics this pair can talk about.

    What the mentee wants and the mentor offers; for a two-way pair also the
    reverse. Anything either person put off limits is removed.
    """
    topics = mentee.wants & mentor.offers
    if _is_two_way(mentee, mentor):
        topics |= mentor.wants & mentee.offers
    return topics - mentee.off_limits - mentor.off_limits


def _is_two_way(a: Candidate, b: Candidate) -> bool:
    return a.role == "two_way" or b.role == "two_way"


def _mentor_is_junior(mentee: Candidate, mentor: Candidate) -> bool:
    """Strictly junior when both levels are known; unknown levels are given the benefit."""
    if mentee.level is None or mentor.level is None:
        return True
    return mentor.level < mentee.level


def _workspace(person: str) -> str:
    """`platform:tenant` of a person key `platform:tenant:user_id` ("" for a bare key)."""
    parts = person.split(":", 2)
    return ":".join(parts[:2]) if len(parts) == 3 else ""


def _excludes(a: Candidate, b: Candidate) -> bool:
    return b.person in a.excluded or a.person in b.excluded


def _paired_before(a: Candidate, b: Candidate) -> bool:
    return b.person in a.past_partners or a.person in b.past_partners


def edge(
    mentee: Candidate,
    mentor: Candidate,
    *,
    managers: Mapping[str, str | None],
    at: datetime,
    weights: Weights = DEFAULT_WEIGHTS,
    work_start: int = 9,
    work_end: int = 17,
) -> Match | None:
    """The scored pair ``mentee <- mentor``, or None if a hard constraint forbids it."""
    outcome = _assess(mentee, mentor, managers, at, weights, work_start, work_end)
    return outcome if isinstance(outcome, Match) else None


def rejection_reason(
    mentee: Candidate,
    mentor: Candidate,
    *,
    managers: Mapping[str, str | None],
    at: datetime,
    weights: Weights = DEFAULT_WEIGHTS,
    work_start: int = 9,
    work_end: int = 17,
) -> Rejection | None:
    """The first hard constraint that forbids ``mentee <- mentor``, or None if allowed."""
    outcome = _assess(mentee, mentor, managers, at, weights, work_start, work_end)
    return None if isinstance(outcome, Match) else outcome


def _assess(
    mentee: Candidate,
    mentor: Candidate,
    managers: Mapping[str, str | None],
    at: datetime,
    weights: Weights,
    work_start: int,
    work_end: int,
) -> Match | Rejection:
    """Check the hard constraints, cheapest first, and score the pair if all hold."""
    if mentee.role not in MENTEE_ROLES:
        return "not_a_mentee"
    if mentor.role not in MENTOR_ROLES:
        return "not_a_mentor"
    if mentee.id == mentor.id or mentee.person == mentor.person:
        return "same_person"
    if _workspace(mentee.person) != _workspace(mentor.person):
        return "other_workspace"  # a Slack user and a Teams user have no chat in common
    if _excludes(mentee, mentor):
        return "excluded"
    if _paired_before(mentee, mentor):
        return "past_partner"
    two_way = _is_two_way(mentee, mentor)
    if not two_way and not _mentor_is_junior(mentee, mentor):
        return "seniority"
    topics = shared_topics(mentee, mentor)
    if not topics:
        return "no_shared_topics"
    overlap = working_overlap_hours(mentee.timezone, mentor.timezone, at, work_start, work_end)
    if overlap < weights.min_overlap_hours:
        return "timezone"
    if in_reporting_line(mentee.person, mentor.person, managers, weights.reporting_depth):
        return "reporting_line"
    cross_department = _cross_department(mentee, mentor)
    return Match(
        mentor_id=mentor.id,
        mentee_id=mentee.id,
        score=_score(weights, len(topics), overlap, cross_department, mentee, mentor),
        shared_topics=tuple(sorted(topics)),
        overlap_hours=overlap,
        cross_department=cross_department,
        two_way=two_way,
    )


def _cross_department(a: Candidate, b: Candidate) -> bool:
    return a.department is not None and b.department is not None and a.department != b.department


def _score(
    weights: Weights,
    topic_count: int,
    overlap: float,
    cross_department: bool,
    mentee: Candidate,
    mentor: Candidate,
) -> float:
    score = (
        weights.topic * topic_count
        + weights.timezone * (overlap / _REFERENCE_DAY_HOURS)
        + weights.cross_department * cross_department
        + weights.priority * (mentee.priority + mentor.priority)
    )
    return round(score, _SCORE_DECIMALS)


# --- optimisation ----------------------------------------------------------------


def solve(
    candidates: Sequence[Candidate],
    *,
    managers: Mapping[str, str | None],
    at: datetime,
    seed: int,
    weights: Weights = DEFAULT_WEIGHTS,
    work_start: int = 9,
    work_end: int = 17,
) -> MatchResult:
    """The highest-scoring matching of the pool; see the module docstring."""
    _validate(candidates, at, work_start, work_end)
    pool = sorted(candidates, key=lambda c: c.id)
    edges = feasible_edges(
        pool, managers=managers, at=at, weights=weights, work_start=work_start, work_end=work_end
    )
    chosen = _optimise(pool, edges, seed) if edges else []
    return _result(pool, chosen)


def _validate(
    candidates: Sequence[Candidate], at: datetime, work_start: int, work_end: int
) -> None:
    _require_aware(at)
    if not 0 <= work_start < work_end <= 24:
        raise ValueError(
            f"working hours must satisfy 0 <= start < end <= 24, got {work_start}-{work_end}"
        )
    ids = [c.id for c in candidates]
    if len(set(ids)) != len(ids):
        raise ValueError("candidate ids must be unique")
    if any(c.capacity < 0 for c in candidates):
        raise ValueError("capacity cannot be negative")


def feasible_edges(
    candidates: Sequence[Candidate],
    *,
    managers: Mapping[str, str | None],
    at: datetime,
    weights: Weights = DEFAULT_WEIGHTS,
    work_start: int = 9,
    work_end: int = 17,
) -> list[Match]:
    """Every allowed ``mentee <- mentor`` pair, sorted by ``(mentee_id, mentor_id)``."""
    pool = sorted(candidates, key=lambda c: c.id)
    mentees = [c for c in pool if c.role in MENTEE_ROLES]
    mentors = [c for c in pool if c.role in MENTOR_ROLES]
    edges = []
    for mentee in mentees:
        for mentor in mentors:
            outcome = _assess(mentee, mentor, managers, at, weights, work_start, work_end)
            if isinstance(outcome, Match):
                edges.append(outcome)
    return edges


@dataclass
class _Rows:
    """Sparse "sum of terms <= upper" rows, collected as COO triplets."""

    rows: list[int] = field(default_factory=list)
    cols: list[int] = field(default_factory=list)
    vals: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)

    def add(self, terms: Sequence[tuple[int, float]], upper: float) -> None:
        row = len(self.upper)
        for col, val in terms:
            self.rows.append(row)
            self.cols.append(col)
            self.vals.append(val)
        self.upper.append(upper)

    def matrix(self, n_vars: int) -> csr_array:
        return csr_array((self.vals, (self.rows, self.cols)), shape=(len(self.upper), n_vars))


@dataclass(frozen=True)
class _Programme:
    """``minimise objective @ v`` subject to ``matrix @ v <= upper``, ``v`` binary.

    ``v[:n_edges]`` says which edges are used; the rest are the two-way
    people's "acts as mentor" variables.
    """

    objective: np.ndarray
    matrix: csr_array
    upper: np.ndarray
    n_edges: int

    @property
    def n_vars(self) -> int:
        return len(self.objective)


def _optimise(pool: Sequence[Candidate], edges: Sequence[Match], seed: int) -> list[Match]:
    """Solve the 0-1 programme over ``edges`` and return the chosen ones.

    One ``milp`` call on the whole programme gives the answer, but on large
    pools HiGHS spends most of its time hunting for a good first solution.
    Four cheaper steps reach the same optimum:

    1. the LP relaxation bounds the best possible total and gives reduced costs;
    2. roles the LP already settled (0 or 1 "acts as mentor") are fixed and
       the much smaller MILP that remains gives a good feasible matching;
    3. reduced-cost fixing: using edge k costs at least its reduced cost
       against the LP bound, so an edge whose reduced cost exceeds the gap
       between steps 1 and 2 is in no matching as good as step 2's: drop it;
    4. the MILP over the remaining edges is the exact optimum, because step 3
       only removed edges that cannot be in it.
    """
    programme = _build_programme(pool, edges, seed)
    relaxation = linprog(
        programme.objective,
        A_ub=programme.matrix,
        b_ub=programme.upper,
        bounds=(0, 1),
        method="highs-ds",  # dual simplex: a basic solution with exact reduced costs
    )
    if relaxation.status != 0:
        raise RuntimeError(f"matching LP relaxation failed: {relaxation.message}")
    incumbent = _solve_binary(programme, *_roles_fixed_as_in(relaxation.x, programme))
    upper = _prune_by_reduced_cost(programme, relaxation, incumbent @ programme.objective)
    best = _solve_binary(programme, np.zeros(programme.n_vars), upper)
    return [e for e, used in zip(edges, best[: programme.n_edges], strict=True) if used > 0.5]


def _build_programme(pool: Sequence[Candidate], edges: Sequence[Match], seed: int) -> _Programme:
    n_edges = len(edges)
    two_way_ids = [c.id for c in pool if c.role == "two_way"]
    mentor_var = {pid: n_edges + k for k, pid in enumerate(two_way_ids)}
    n_vars = n_edges + len(two_way_ids)

    objective = np.zeros(n_vars)
    objective[:n_edges] = -_jittered_scores(edges, seed)  # minimise the negated score

    rows = _Rows()
    _add_role_rows(rows, pool, edges, mentor_var)
    _add_pair_rows(rows, edges)
    return _Programme(objective, rows.matrix(n_vars), np.array(rows.upper), n_edges)


def _jittered_scores(edges: Sequence[Match], seed: int) -> np.ndarray:
    rng = random.Random(seed)  # noqa: S311 - tie-breaking, not security
    return np.array([e.score + rng.random() * TIE_BREAK_JITTER for e in edges])


def _add_role_rows(
    rows: _Rows, pool: Sequence[Candidate], edges: Sequence[Match], mentor_var: Mapping[int, int]
) -> None:
    """Mentee at most once, mentor at most ``capacity``; two-way people pick one role.

    For a two-way person with "acts as mentor" variable y:
    ``sum(as mentee) + y <= 1`` and ``sum(as mentor) - capacity * y <= 0``.
    When capacity > 1 we also add ``x <= y`` per edge they would mentor: it
    is implied for whole numbers but makes the LP relaxation much tighter
    (otherwise y = 1/capacity buys a full mentor slot at a third of the role).
    """
    as_mentee: dict[int, list[int]] = defaultdict(list)
    as_mentor: dict[int, list[int]] = defaultdict(list)
    for k, e in enumerate(edges):
        as_mentee[e.mentee_id].append(k)
        as_mentor[e.mentor_id].append(k)

    for person in pool:
        y = mentor_var.get(person.id)
        incoming = [(k, 1.0) for k in as_mentee[person.id]]
        outgoing = [(k, 1.0) for k in as_mentor[person.id]]
        if incoming:
            rows.add(incoming if y is None else [*incoming, (y, 1.0)], 1.0)
        if outgoing and y is None:
            rows.add(outgoing, float(person.capacity))
        if outgoing and y is not None:
            rows.add([*outgoing, (y, -float(person.capacity))], 0.0)
            if person.capacity > 1:
                for k, _ in outgoing:
                    rows.add([(k, 1.0), (y, -1.0)], 0.0)


def _add_pair_rows(rows: _Rows, edges: Sequence[Match]) -> None:
    """At most one of ``i <- j`` and ``j <- i``.

    Only two two-way people have both edges, and the one-role rule already
    forbids using both; the explicit row keeps the invariant from resting on
    that argument.
    """
    index = {(e.mentee_id, e.mentor_id): k for k, e in enumerate(edges)}
    for (mentee_id, mentor_id), k in index.items():
        reverse = index.get((mentor_id, mentee_id))
        if reverse is not None and mentee_id < mentor_id:
            rows.add([(k, 1.0), (reverse, 1.0)], 1.0)


def _roles_fixed_as_in(relaxed: np.ndarray, programme: _Programme) -> tuple[np.ndarray, np.ndarray]:
    """Bounds that fix every "acts as mentor" variable the LP left at 0 or 1."""
    lower = np.zeros(programme.n_vars)
    upper = np.ones(programme.n_vars)
    roles = relaxed[programme.n_edges :]
    settled = (roles < _INTEGRAL_TOLERANCE) | (roles > 1 - _INTEGRAL_TOLERANCE)
    lower[programme.n_edges :][settled] = np.round(roles[settled])
    upper[programme.n_edges :][settled] = np.round(roles[settled])
    return lower, upper


def _prune_by_reduced_cost(
    programme: _Programme, relaxation: OptimizeResult, incumbent_value: float
) -> np.ndarray:
    """Upper bounds that switch off edges no matching as good as the incumbent uses.

    Any solution using edge k has objective >= LP optimum + its reduced cost
    (``lower.marginals``, zero unless the edge sits at 0 in the LP). A small
    slack absorbs LP tolerances; it only ever keeps more edges.
    """
    reduced_costs = relaxation.lower.marginals[: programme.n_edges]
    upper = np.ones(programme.n_vars)
    hopeless = relaxation.fun + reduced_costs > incumbent_value + _PRUNING_SLACK
    upper[: programme.n_edges][hopeless] = 0.0
    return upper


def _solve_binary(programme: _Programme, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    result = milp(
        programme.objective,
        integrality=np.ones(programme.n_vars),
        bounds=Bounds(lower, upper),
        constraints=LinearConstraint(programme.matrix, -np.inf, programme.upper),
        options={"mip_rel_gap": 0.0},  # the default 1e-4 gap would allow sub-optimal answers
    )
    if result.status != 0 or result.x is None:
        raise RuntimeError(f"matching solver failed: {result.message}")
    return np.round(result.x)


def _result(pool: Sequence[Candidate], chosen: Sequence[Match]) -> MatchResult:
    matches = tuple(sorted(chosen, key=lambda m: (m.mentee_id, m.mentor_id)))
    matched = {m.mentee_id for m in matches} | {m.mentor_id for m in matches}
    return MatchResult(
        matches=matches,
        unmatched=tuple(sorted(c.id for c in pool if c.id not in matched)),
        total_score=round(sum(m.score for m in matches), _SCORE_DECIMALS),
    )
