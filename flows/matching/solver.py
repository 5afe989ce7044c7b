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

How it is solved
----------------
Without two-way participants this would be an assignment problem: mentees as
rows, each mentor's column repeated ``capacity`` times. Two-way participants
break that shape: they sit on both sides at once, and "mentee or mentor, not
both" couples a row with a whole group of columns, which an assignment solver
cannot express. The problem is really a capacitated matching on a general
graph with a role switch per two-way person, i.e. a 0-1 integer programme
(one binary per feasible edge, one "acts as mentor" binary per two-way person).

Solving that programme directly with HiGHS (``scipy.optimize.milp``) is exact
but does not scale: 5,000 people have over two million feasible edges. So
:func:`_optimise` combines three exact tools: the LP relaxation over a few
edges per person, grown by column generation (pricing every edge in bulk);
``scipy.sparse.csgraph.min_weight_full_bipartite_matching`` for the assignment
problem that remains once every role is fixed; and, unless the assignment
already meets the LP bound (scores come in steps, so "meets" means no better
step fits under it), ``milp`` over the edges that reduced-cost fixing cannot
rule out. Where that MILP would be too big to solve in seconds (thousands of
people), the result is the assignment with its proven distance to the bound,
:attr:`MatchResult.gap`: in ``bench/matching.py`` 0.19 points out of 66,909 at
5,000 people, whose MILP (a minute) then confirms the same score. The feasible
edges themselves are computed in bulk by :mod:`flows.matching.pairs`;
:func:`edge` (one pair, plain Python) remains the specification, and explains
the chosen pairs.

Determinism
-----------
Edges are ordered by ``(mentee_id, mentor_id)`` and each gets a tiny
jitter in ``[0, 1e-6)``: the k-th edge gets the k-th ``random()`` of
``random.Random(seed)`` (drawn in bulk by :func:`tie_breaks`), added to its
objective, so ties are broken reproducibly: the same input and seed always give
the same result, while a different seed may pick a different, equally good,
matching. Reported scores exclude the jitter and are rounded to 6 decimals.
When a matching is proven optimal by the score steps alone, the tie-breaks may
not be the best among equally scored matchings: the result is still the same
for the same input and seed.

Performance
-----------
See ``bench/matching.py`` and the README: 1,000 people in about half a second,
5,000 in 10-20 s (the LP relaxation's column generation dominates). Pools
where nearly everyone chose two_way remain hard for any exact method (300 such
people take 10-30 s): the "one role" choice makes the LP relaxation fractional,
so the work falls to the MILP, which has to branch.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, linprog, milp
from scipy.sparse import csr_array
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

if TYPE_CHECKING:
    from flows.matching.pairs import PairTable

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
    gap: float = 0.0
    """How much better the best matching could be: 0.0 when this one is proven optimal.

    For pools too big to prove it in seconds (thousands of people) it is the distance to
    the LP bound; see ``_MAX_EXACT_EDGES``.
    """


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
    table = feasible_pairs(
        pool, managers=managers, at=at, weights=weights, work_start=work_start, work_end=work_end
    )
    chosen, bound = _optimise(table, seed) if len(table) else (np.zeros(0, dtype=np.int64), 0.0)
    matches = [
        _explain(
            table.mentees[table.row[k]],
            table.mentors[table.col[k]],
            managers,
            at,
            weights,
            work_start,
            work_end,
        )
        for k in chosen
    ]
    return _result(pool, matches, bound)


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
    """Every allowed ``mentee <- mentor`` pair, sorted by ``(mentee_id, mentor_id)``.

    The reference: one :func:`edge` per pair, about 15 µs each. :func:`solve` uses the
    equivalent :func:`feasible_pairs` instead.
    """
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


def feasible_pairs(
    candidates: Sequence[Candidate],
    *,
    managers: Mapping[str, str | None],
    at: datetime,
    weights: Weights = DEFAULT_WEIGHTS,
    work_start: int = 9,
    work_end: int = 17,
) -> PairTable:
    """The pairs of :func:`feasible_edges` and their scores, computed in bulk with numpy."""
    from flows.matching.pairs import pair_table  # here: pairs imports this module

    return pair_table(
        candidates,
        managers=managers,
        at=at,
        weights=weights,
        work_start=work_start,
        work_end=work_end,
    )


def _explain(
    mentee: Candidate,
    mentor: Candidate,
    managers: Mapping[str, str | None],
    at: datetime,
    weights: Weights,
    work_start: int,
    work_end: int,
) -> Match:
    """The chosen pair as the per-pair specification scores and explains it."""
    outcome = _assess(mentee, mentor, managers, at, weights, work_start, work_end)
    if not isinstance(outcome, Match):  # the bulk table and the specification disagree
        raise RuntimeError(f"pair {mentee.id} <- {mentor.id} was chosen but is {outcome}")
    return outcome


def tie_breaks(seed: int, count: int) -> np.ndarray:
    """``[random.Random(seed).random() * TIE_BREAK_JITTER for _ in range(count)]``, fast.

    numpy's legacy Mersenne Twister, started from the state ``random.Random(seed)`` is
    in, yields the very same doubles (both build them from two 32-bit draws the same way).
    """
    state = random.Random(seed).getstate()[1]  # noqa: S311 - tie-breaking, not security
    generator = np.random.RandomState()  # legacy on purpose: its exact stream
    generator.set_state(("MT19937", np.array(state[:-1], dtype=np.uint32), state[-1]))
    return generator.random_sample(count) * TIE_BREAK_JITTER


@dataclass(frozen=True)
class _Programme:
    """``minimise objective @ v`` subject to ``matrix @ v <= upper``, ``v`` binary.

    ``v[:n_edges]`` says which of the edges ``edges`` (indices into the pair table) are
    used; the rest are the two-way people's "acts as mentor" variables. The first rows are
    one per mentee, then one per mentor, in the table's order, so their duals line up.
    """

    objective: np.ndarray
    matrix: csr_array
    upper: np.ndarray
    edges: np.ndarray

    @property
    def n_edges(self) -> int:
        return len(self.edges)

    @property
    def n_vars(self) -> int:
        return len(self.objective)


@dataclass(frozen=True)
class _Roles:
    """Per-person data the optimisation needs, aligned with a pair table."""

    mentee_role_var: np.ndarray
    """Index of the mentee's "acts as mentor" variable among the two-way ones, or -1."""
    mentor_role_var: np.ndarray
    mentor_capacity: np.ndarray
    """float64 capacity per mentor."""
    integer_capacity: np.ndarray
    """int64 capacity per mentor (slots in the assignment)."""
    mentee_person: np.ndarray
    """Position of each mentee in the pool (so the same person has the same number)."""
    mentor_person: np.ndarray
    two_way_row: np.ndarray
    """Mentee index of two-way person k (k as in the role variables)."""
    two_way_col: np.ndarray
    """Mentor index of two-way person k."""
    keys: np.ndarray
    """``row * len(mentors) + col`` per edge: sorted, since the table is."""

    @property
    def n_two_way(self) -> int:
        return len(self.two_way_row)

    @classmethod
    def of(cls, table: PairTable) -> _Roles:
        ids = sorted({c.id for c in (*table.mentees, *table.mentors)})
        position = {pid: k for k, pid in enumerate(ids)}
        two_way = sorted(c.id for c in table.mentees if c.role == "two_way")
        role_var = {pid: k for k, pid in enumerate(two_way)}
        mentee_role_var = np.array([role_var.get(c.id, -1) for c in table.mentees], np.int64)
        mentor_role_var = np.array([role_var.get(c.id, -1) for c in table.mentors], np.int64)
        two_way_row = np.zeros(len(two_way), np.int64)
        two_way_col = np.zeros(len(two_way), np.int64)
        two_way_row[mentee_role_var[mentee_role_var >= 0]] = np.flatnonzero(mentee_role_var >= 0)
        two_way_col[mentor_role_var[mentor_role_var >= 0]] = np.flatnonzero(mentor_role_var >= 0)
        return cls(
            mentee_role_var=mentee_role_var,
            mentor_role_var=mentor_role_var,
            mentor_capacity=np.array([float(c.capacity) for c in table.mentors]),
            integer_capacity=np.array([c.capacity for c in table.mentors], np.int64),
            mentee_person=np.array([position[c.id] for c in table.mentees], np.int64),
            mentor_person=np.array([position[c.id] for c in table.mentors], np.int64),
            two_way_row=two_way_row,
            two_way_col=two_way_col,
            keys=table.row.astype(np.int64) * len(table.mentors) + table.col,
        )

    def active(self, as_mentor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which mentee rows and mentor columns are in play when two-way people take
        the roles ``as_mentor`` says (mentors without capacity never are)."""
        padded = np.append(as_mentor, False)  # index -1 (one-way) reads the padding
        rows = (self.mentee_role_var < 0) | ~padded[self.mentee_role_var]
        cols = (self.mentor_role_var < 0) | padded[self.mentor_role_var]
        return rows, cols & (self.integer_capacity > 0)

    def edge_of(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Edge indices of ``(row, col)`` cells that are edges; other cells are dropped."""
        cells = rows.astype(np.int64) * len(self.mentor_capacity) + cols
        found = np.minimum(np.searchsorted(self.keys, cells), max(len(self.keys) - 1, 0))
        return found[self.keys[found] == cells]


_INITIAL_PER_PERSON = 6
"""Best edges per mentee and per mentor slot that start the column generation."""
_ADDED_PER_PERSON = 10
"""Most violated missing edges per mentee added in one round of column generation."""
_MAX_ROUNDS = 12
_DUAL_SHORTFALL = 0.05
"""Total dual violation of the missing edges above which we add columns before anything else."""
_OPTIMALITY_GAP = 1e-6
"""An incumbent this close to the bound is taken as optimal: HiGHS's own default gap."""
_SIMPLEX_EDGES = 20_000
_MAX_EXACT_EDGES = 25_000
"""Most edges the final MILP may have. Up to about a thousand people it stays under this
and takes a second or less; at 5,000 people it has about 110,000 edges and takes 40-60 s,
so the solver returns its best matching with the proven gap instead (0.19 points out of
66,909 in ``bench/matching.py``, where that MILP confirmed the matching was optimal)."""
_MAX_NODES = 1
"""LPs the branching on roles may take before the MILP fallback. On the benchmark pools
the children of the root rarely settle more than the root did, at several seconds per LP
for 5,000 people, so by default only the root is solved."""
_ROLE_TOLERANCE = 1e-6
_ROLE_CHOICES = 3
"""Up to this many split roles, every combination is tried as an assignment (2**n)."""
_TOLERANCE = 1e-9


def _optimise(table: PairTable, seed: int) -> tuple[np.ndarray, float]:
    """Indices of the table's edges in the optimal matching, and a bound on its score.

    One ``milp`` over every edge gives the answer, but a big pool has millions of edges (a
    third of all pairs) and HiGHS would need minutes and gigabytes. Instead:

    1. the LP relaxation (two-way roles free) by column generation: start from each
       person's best few edges, price every edge in bulk against the duals and add those
       that would pay (:func:`_relaxation`). It gives an upper bound and roles;
    2. with every role fixed the problem is an assignment problem, which
       ``min_weight_full_bipartite_matching`` solves exactly and fast (:func:`_assign`).
       The assignment with the LP's (rounded) roles is a matching; if it meets the
       bound, it is optimal. Where the LP splits two-way people between roles we may
       branch on them (:func:`_branch_on_roles`, root only by default);
    3. scores are whole multiples of a step (:func:`score_step`, 1/16 with the default
       weights), so when no multiple above the matching's score fits under the bound, the
       matching is optimal: only the tie-breaks could still differ;
    4. otherwise reduced-cost fixing: an edge whose
       reduced cost exceeds the gap between bound and best matching is in no matching as
       good as that one, so the MILP over the remaining edges (with every rule: one role,
       no pair twice) is the optimum. When more than ``_MAX_EXACT_EDGES`` edges remain
       (thousands of people), that MILP would take minutes, so the matching of step 2 is
       returned with its gap to the bound instead (see :attr:`MatchResult.gap`).

    Every step uses the same objective per edge (its score plus the seeded tie-break of
    :func:`tie_breaks`), so the result is deterministic. The returned bound is the best
    possible total score: the matching's own when it is proven optimal.
    """
    roles = _Roles.of(table)
    gain = table.score + tie_breaks(seed, len(table))
    columns = _initial_columns(table, roles, gain, _INITIAL_PER_PERSON)
    incumbent, proven, bound, reduced = _branch_on_roles(table, roles, gain, columns)
    value = gain[incumbent].sum()
    score = float(table.score[incumbent].sum())
    if proven or bound - value <= _OPTIMALITY_GAP:
        return incumbent, score
    if bound < score + score_step(table.score) - _PRUNING_SLACK:
        return incumbent, score
    hopeful = np.flatnonzero(reduced <= bound - value + _PRUNING_SLACK)
    if len(hopeful) > _MAX_EXACT_EDGES:
        return incumbent, bound
    final = _build_programme(table, roles, -gain, hopeful)
    best = _solve_binary(final, np.zeros(final.n_vars), np.ones(final.n_vars))
    chosen = final.edges[best[: final.n_edges] > 0.5]
    return chosen, float(table.score[chosen].sum())


def score_step(scores: np.ndarray) -> float:
    """The largest step every score is a whole multiple of (scores have 6 decimals).

    Any two matchings' totals then differ by a multiple of it too. With the default
    weights it is 1/16 (overlap comes in quarter hours); odd weights can make it 1e-6.
    """
    micro = np.round(np.abs(scores) * 10**_SCORE_DECIMALS).astype(np.int64)
    step = int(np.gcd.reduce(micro)) if len(micro) else 0
    return step / 10**_SCORE_DECIMALS if step else 10.0**-_SCORE_DECIMALS


def _branch_on_roles(
    table: PairTable, roles: _Roles, gain: np.ndarray, columns: np.ndarray
) -> tuple[np.ndarray, bool, float, np.ndarray]:
    """Branch and bound over the two-way roles the LP leaves fractional.

    Each node is the LP with some roles fixed; its assignment with the LP's rounded roles
    is a matching. A node whose LP keeps every role whole is solved: with whole roles
    the rest is an assignment problem, whose LP optimum the assignment reaches. Returns
    the best matching, whether it is proven optimal, and the root's bound and reduced
    costs (for the fallback in :func:`_optimise`).
    """
    best, best_value = np.zeros(0, dtype=np.int64), 0.0
    root_bound, root_reduced = np.inf, np.zeros(len(table))
    proven = True
    open_nodes = [(np.zeros(roles.n_two_way), np.ones(roles.n_two_way))]
    for node in range(_MAX_NODES):
        if not open_nodes:
            return best, proven, root_bound, root_reduced
        lower, upper = open_nodes.pop()
        relaxation, programme, reduced, shortfall = _relaxation(
            table, roles, gain, columns, lower, upper
        )
        columns = programme.edges
        bound = -relaxation.fun + shortfall
        if node == 0:
            root_bound, root_reduced = bound, reduced
        if bound <= best_value + _OPTIMALITY_GAP:
            continue
        y = relaxation.x[programme.n_edges :]
        split = np.flatnonzero((y > _ROLE_TOLERANCE) & (y < 1 - _ROLE_TOLERANCE))
        for chosen in _assignments_around(table, roles, gain, columns, y > 0.5, split):
            if gain[chosen].sum() > best_value:
                best, best_value = chosen, float(gain[chosen].sum())
        if bound <= best_value + _OPTIMALITY_GAP:
            continue
        if not len(split):
            proven = False  # whole roles, but the bound is loose by the shortfall
            continue
        person = split[np.argmin(np.abs(y[split] - 0.5))]
        for role in sorted((0.0, 1.0), key=lambda r: abs(r - y[person]), reverse=True):
            lower_child, upper_child = lower.copy(), upper.copy()
            lower_child[person] = upper_child[person] = role
            open_nodes.append((lower_child, upper_child))  # the LP's favourite is popped first
    return best, False, root_bound, root_reduced


def _assignments_around(
    table: PairTable,
    roles: _Roles,
    gain: np.ndarray,
    columns: np.ndarray,
    rounded: np.ndarray,
    split: np.ndarray,
) -> Iterator[np.ndarray]:
    """Assignments with the LP's rounded roles and, when the LP splits only a few people
    between roles, with every other choice for them: a cheap way to a matching close to
    the bound, which keeps the MILP fallback small."""
    yield _assignment(table, roles, gain, columns, rounded)
    if len(split) > _ROLE_CHOICES:
        return
    for flips in range(1, 2 ** len(split)):
        roles_tried = rounded.copy()
        for bit, person in enumerate(split):
            if flips >> bit & 1:
                roles_tried[person] = ~roles_tried[person]
        yield _assignment(table, roles, gain, columns, roles_tried)


def _assignment(
    table: PairTable, roles: _Roles, gain: np.ndarray, columns: np.ndarray, as_mentor: np.ndarray
) -> np.ndarray:
    """The best matching over ``columns`` with two-way roles fixed.

    ``columns`` are the LP's, priced out against its duals, so for the LP's own roles this
    is (up to the shortfall) the best matching over every edge; for other roles it is a
    good matching, not necessarily the best. Either way the LP bound certifies it.
    """
    active_row, active_col = roles.active(as_mentor)
    return _assign(table, roles, gain, columns, active_row, active_col)


def _relaxation(
    table: PairTable,
    roles: _Roles,
    gain: np.ndarray,
    columns: np.ndarray,
    role_lower: np.ndarray,
    role_upper: np.ndarray,
) -> tuple[OptimizeResult, _Programme, np.ndarray, float]:
    """The LP relaxation over ``columns``, grown until every edge is priced out.

    Returns the LP, its programme, every edge's reduced cost and the shortfall: the LP is
    very degenerate, so the last rounds keep finding edges that would gain a millionth (a
    tie-break); rather than chase them we stop once they add up to ``_DUAL_SHORTFALL``
    and raise each mentee's dual by its largest such gain. That makes the duals feasible
    for every edge: ``-LP optimum + shortfall`` bounds every matching, and the returned
    reduced costs (all >= 0) are against that bound.
    """
    in_lp = np.zeros(len(table), dtype=bool)
    in_lp[columns] = True
    for _ in range(_MAX_ROUNDS):
        programme = _build_programme(table, roles, -gain, np.flatnonzero(in_lp))
        relaxation = _relax(programme, role_lower, role_upper)
        reduced = _reduced_costs(table, programme, relaxation, -gain)
        raise_by = -_min_per(table.row, reduced, len(table.mentees))
        if raise_by.sum() <= _DUAL_SHORTFALL:
            break
        missing = np.flatnonzero(~in_lp & (reduced < -_TOLERANCE))
        in_lp[_cheapest_per_mentee(table, missing, reduced[missing], _ADDED_PER_PERSON)] = True
    return relaxation, programme, reduced + raise_by[table.row], float(raise_by.sum())


def _relax(programme: _Programme, role_lower: np.ndarray, role_upper: np.ndarray) -> OptimizeResult:
    lower = np.concatenate([np.zeros(programme.n_edges), role_lower])
    upper = np.concatenate([np.ones(programme.n_edges), role_upper])
    relaxation = linprog(
        programme.objective,
        A_ub=programme.matrix,
        b_ub=programme.upper,
        bounds=np.column_stack([lower, upper]),
        # Dual simplex gives a basic solution with exact reduced costs; on big,
        # degenerate programmes the interior point method (with crossover) is faster.
        method="highs-ipm" if programme.n_edges > _SIMPLEX_EDGES else "highs-ds",
        # Presolve only slows these down; crossover after the interior point method ends on
        # an optimal basis however loose its own tolerance, so a loose one saves time.
        options={"presolve": False, "ipm_optimality_tolerance": 1e-4},
    )
    if relaxation.status != 0:
        raise RuntimeError(f"matching LP relaxation failed: {relaxation.message}")
    return relaxation


def _reduced_costs(
    table: PairTable, programme: _Programme, relaxation: OptimizeResult, objective: np.ndarray
) -> np.ndarray:
    """Reduced cost of every edge of the table against the LP's duals.

    For an edge outside the LP, only its mentee row and its mentor row would hold it (its
    own "x <= y" and pair rows would be slack at 0, dual 0). For an edge inside, HiGHS's
    own figure, which also counts those rows, is kept.
    """
    duals = relaxation.ineqlin.marginals  # <= 0 for "<=" rows of a minimisation
    n_mentees = len(table.mentees)
    mentee_dual = duals[:n_mentees]
    mentor_dual = duals[n_mentees : n_mentees + len(table.mentors)]
    reduced = objective - mentee_dual[table.row] - mentor_dual[table.col]
    reduced[programme.edges] = relaxation.lower.marginals[: programme.n_edges]
    return reduced


def _initial_columns(
    table: PairTable, roles: _Roles, gain: np.ndarray, per_person: int
) -> np.ndarray:
    """Each mentee's and each mentor's ``per_person`` best edges (more for bigger capacity)."""
    n_rows, n_cols = len(table.mentees), len(table.mentors)
    dense = np.full((n_rows, n_cols), -np.inf)
    dense[table.row, table.col] = gain
    picked = []
    k = min(per_person, n_cols)
    best_cols = np.argpartition(-dense, k - 1, axis=1)[:, :k]
    picked.append(np.arange(n_rows).repeat(k) * n_cols + best_cols.ravel())
    k = min(per_person * max(1, int(max((c.capacity for c in table.mentors), default=1))), n_rows)
    best_rows = np.argpartition(-dense, k - 1, axis=0)[:k, :]
    picked.append(best_rows.ravel() * n_cols + np.tile(np.arange(n_cols), k))
    del dense
    roles_cells = np.unique(np.concatenate(picked))
    n = np.int64(n_cols)
    return np.unique(roles.edge_of(roles_cells // n, roles_cells % n))


def _cheapest_per_mentee(
    table: PairTable, edges: np.ndarray, cost: np.ndarray, per_person: int
) -> np.ndarray:
    """Of ``edges`` (with costs ``cost``), each mentee's ``per_person`` cheapest."""
    owner = table.row[edges]
    order = np.lexsort((cost, owner))
    grouped = owner[order]
    rank = np.arange(len(order)) - np.searchsorted(grouped, grouped, side="left")
    return edges[order[rank < per_person]]


def _assign(
    table: PairTable,
    roles: _Roles,
    gain: np.ndarray,
    columns: np.ndarray,
    active_row: np.ndarray,
    active_col: np.ndarray,
) -> np.ndarray:
    """The best matching over ``columns`` with every role fixed: an assignment problem.

    Rows are the active mentees; columns are one slot per unit of each active mentor's
    capacity, plus a private "unmatched" column per mentee, so every row can be assigned
    and ``min_weight_full_bipartite_matching`` (sparse, exact) applies. Costs are
    ``offset - gain`` with the unmatched column at ``offset``, so minimising the cost
    maximises the gain and edges worth nothing are left out.
    """
    edges = columns[active_row[table.row[columns]] & active_col[table.col[columns]]]
    capacity = roles.integer_capacity
    first_slot = np.concatenate([[0], np.cumsum(capacity)[:-1]])
    copies = capacity[table.col[edges]]
    repeated = np.repeat(edges, copies)
    within = np.arange(len(repeated)) - np.repeat(np.cumsum(copies) - copies, copies)
    slot = first_slot[table.col[repeated]] + within
    n_rows, n_slots = len(table.mentees), int(capacity.sum())
    offset = float(gain.max()) + 1.0
    graph = csr_array(
        (
            np.concatenate([offset - gain[repeated], np.full(n_rows, offset)]),
            (
                np.concatenate([table.row[repeated], np.arange(n_rows)]),
                np.concatenate([slot, n_slots + np.arange(n_rows)]),
            ),
        ),
        shape=(n_rows, n_slots + n_rows),
    )
    row, col = min_weight_full_bipartite_matching(graph)
    real = col < n_slots
    mentor = np.searchsorted(first_slot, col[real], side="right") - 1
    return np.sort(roles.edge_of(row[real], mentor))


def _min_per(owner: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n)
    np.minimum.at(out, owner, values)
    return out


def _build_programme(
    table: PairTable, roles: _Roles, objective: np.ndarray, edges: np.ndarray
) -> _Programme:
    """The 0-1 programme over a subset of the table's edges (see :func:`_role_rows`)."""
    n_edges = len(edges)
    n_vars = n_edges + roles.n_two_way
    costs = np.zeros(n_vars)
    costs[:n_edges] = objective[edges]
    parts = [
        _role_rows(table, roles, edges),
        _mentor_choice_rows(table, roles, edges),
        _pair_rows(table, roles, edges),
    ]
    rows, cols, vals, upper = [], [], [], []
    offset = 0
    for part_rows, part_cols, part_vals, part_upper in parts:
        rows.append(part_rows + offset)
        cols.append(part_cols)
        vals.append(part_vals)
        upper.append(part_upper)
        offset += len(part_upper)
    matrix = csr_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(offset, n_vars),
    )
    return _Programme(costs, matrix, np.concatenate(upper), edges)


_Rows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Sparse "sum of terms <= upper" rows: COO rows, columns, values, and each row's bound."""


def _role_rows(table: PairTable, roles: _Roles, edges: np.ndarray) -> _Rows:
    """Mentee at most once, mentor at most ``capacity``; two-way people pick one role.

    Row ``i`` is mentee ``i``, row ``len(mentees) + j`` is mentor ``j``. For a two-way
    person with "acts as mentor" variable y: ``sum(as mentee) + y <= 1`` and
    ``sum(as mentor) - capacity * y <= 0``.
    """
    n_edges, n_mentees = len(edges), len(table.mentees)
    k = np.arange(n_edges)
    y_of_mentee, y_of_mentor = roles.mentee_role_var, roles.mentor_role_var
    mentee_y = np.flatnonzero(y_of_mentee >= 0)
    mentor_y = np.flatnonzero(y_of_mentor >= 0)
    rows = [table.row[edges], mentee_y, n_mentees + table.col[edges], n_mentees + mentor_y]
    cols = [k, n_edges + y_of_mentee[mentee_y], k, n_edges + y_of_mentor[mentor_y]]
    vals = [
        np.ones(n_edges),
        np.ones(len(mentee_y)),
        np.ones(n_edges),
        -roles.mentor_capacity[mentor_y],
    ]
    upper = np.concatenate(
        [np.ones(n_mentees), np.where(y_of_mentor >= 0, 0.0, roles.mentor_capacity)]
    )
    return (
        np.concatenate(rows).astype(np.int64),
        np.concatenate(cols).astype(np.int64),
        np.concatenate(vals),
        upper,
    )


def _mentor_choice_rows(table: PairTable, roles: _Roles, edges: np.ndarray) -> _Rows:
    """``x <= y`` for each edge a two-way person of capacity > 1 would mentor.

    Implied for whole numbers, but it makes the LP relaxation much tighter (otherwise
    y = 1/capacity buys a full mentor slot at a fraction of the role).
    """
    mentor = table.col[edges]
    y = roles.mentor_role_var[mentor]
    which = np.flatnonzero((y >= 0) & (roles.mentor_capacity[mentor] > 1))
    n = len(which)
    row = np.arange(n)
    return (
        np.concatenate([row, row]),
        np.concatenate([which, len(edges) + y[which]]),
        np.concatenate([np.ones(n), -np.ones(n)]),
        np.zeros(n),
    )


def _pair_rows(table: PairTable, roles: _Roles, edges: np.ndarray) -> _Rows:
    """At most one of ``i <- j`` and ``j <- i``.

    Only two two-way people have both edges, and the one-role rule already forbids using
    both; the explicit row keeps the invariant from resting on that argument.
    """
    people = np.int64(len(roles.mentee_person) + len(roles.mentor_person) + 1)
    mentee = roles.mentee_person[table.row[edges]]
    mentor = roles.mentor_person[table.col[edges]]
    forward = mentee * people + mentor
    order = np.argsort(forward)
    backward = mentor * people + mentee
    found = np.minimum(np.searchsorted(forward[order], backward), max(len(order) - 1, 0))
    first = np.flatnonzero((forward[order][found] == backward) & (mentee < mentor))
    second = order[found[first]]
    n = len(first)
    row = np.arange(n)
    return (
        np.concatenate([row, row]),
        np.concatenate([first, second]),
        np.ones(2 * n),
        np.ones(n),
    )


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


def _result(pool: Sequence[Candidate], chosen: Sequence[Match], bound: float) -> MatchResult:
    matches = tuple(sorted(chosen, key=lambda m: (m.mentee_id, m.mentor_id)))
    matched = {m.mentee_id for m in matches} | {m.mentor_id for m in matches}
    total = round(sum(m.score for m in matches), _SCORE_DECIMALS)
    return MatchResult(
        matches=matches,
        unmatched=tuple(sorted(c.id for c in pool if c.id not in matched)),
        total_score=total,
        gap=max(0.0, round(bound - total, _SCORE_DECIMALS)),
    )
