"""Every allowed ``mentee <- mentor`` pair of a pool at once, as numpy arrays.

:func:`flows.matching.solver.edge` (through ``_assess``) is the specification: one pair,
checked and scored in plain Python. Doing that for every pair costs about 15 µs each, i.e.
minutes for 10,000 people (25 million pairs). This module computes the same hard
constraints and the same score for all pairs in blocks of mentee rows:

* topics are bitsets (one ``uint64`` word per 64 topic ids), counted with ``bitwise_count``;
* time zones become codes, and the overlap of every pair of zones present is computed once
  with the solver's own ``working_overlap_hours``;
* workspace, person and department become integer codes compared by broadcasting;
* exclusions, past partners and reporting lines are few per person, so they are listed as
  forbidden ``(mentee, mentor)`` cells and switched off in their block.

No per-pair explanation (shared topic names, overlap) is built here: the solver asks
``_assess`` for those, for the chosen pairs only. ``tests/unit/test_solver_pairs.py``
checks on random pools that the table equals the per-pair specification.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from flows.matching.solver import (
    _REFERENCE_DAY_HOURS,
    MENTEE_ROLES,
    MENTOR_ROLES,
    Candidate,
    Weights,
    _managers_above,
    _workspace,
    working_overlap_hours,
)

_BLOCK_CELLS = 1 << 20
"""Pairs examined at once: bounds the temporary arrays to a few tens of MiB."""

_NO_LEVEL = -1


@dataclass(frozen=True)
class PairTable:
    """The allowed pairs, in ``(mentee_id, mentor_id)`` order, as parallel arrays.

    ``row[k]`` indexes ``mentees`` and ``col[k]`` indexes ``mentors``; both tuples are
    sorted by id, and a two-way person is in both.
    """

    mentees: tuple[Candidate, ...]
    mentors: tuple[Candidate, ...]
    row: np.ndarray
    """int32 index into ``mentees``."""
    col: np.ndarray
    """int32 index into ``mentors``."""
    score: np.ndarray
    """float64 score as ``_assess`` computes it (rounding may differ in the last bit)."""

    def __len__(self) -> int:
        return len(self.row)


@dataclass(frozen=True)
class _Side:
    """One side's per-person attributes as arrays (integer codes shared by both sides)."""

    ids: np.ndarray
    person: np.ndarray
    workspace: np.ndarray
    two_way: np.ndarray
    level: np.ndarray
    zone: np.ndarray
    department: np.ndarray
    priority: np.ndarray
    offers: np.ndarray
    """(people, words) uint64 topic bitsets."""
    wants: np.ndarray
    off_limits: np.ndarray


class _Codes:
    """Hands out small integer codes for strings, the same code for the same string."""

    def __init__(self) -> None:
        self._codes: dict[str | None, int] = {}

    def __call__(self, value: str | None) -> int:
        return self._codes.setdefault(value, len(self._codes))

    def of(self, values: Iterable[str | None]) -> np.ndarray:
        return np.array([self(v) for v in values], dtype=np.int64)

    @property
    def values(self) -> list[str | None]:
        return list(self._codes)


def pair_table(
    candidates: Sequence[Candidate],
    *,
    managers: Mapping[str, str | None],
    at: datetime,
    weights: Weights,
    work_start: int,
    work_end: int,
) -> PairTable:
    """All pairs ``_assess`` allows, with their scores; see the module docstring."""
    pool = sorted(candidates, key=lambda c: c.id)
    mentees = tuple(c for c in pool if c.role in MENTEE_ROLES)
    mentors = tuple(c for c in pool if c.role in MENTOR_ROLES)
    topic_bits = _topic_bits(pool)
    words = max(1, (len(topic_bits) + 63) // 64)
    people, zones, departments = _Codes(), _Codes(), _Codes()
    departments(None)  # code 0 = unknown department
    workspaces = _Codes()

    def side(group: Sequence[Candidate]) -> _Side:
        return _Side(
            ids=np.array([c.id for c in group], dtype=np.int64),
            person=people.of(c.person for c in group),
            workspace=workspaces.of(_workspace(c.person) for c in group),
            two_way=np.array([c.role == "two_way" for c in group], dtype=bool),
            level=np.array(
                [_NO_LEVEL if c.level is None else c.level for c in group], dtype=np.int64
            ),
            zone=zones.of(c.timezone for c in group),
            department=departments.of(c.department for c in group),
            priority=np.array([int(c.priority) for c in group], dtype=np.int64),
            offers=_bitsets((c.offers for c in group), topic_bits, words),
            wants=_bitsets((c.wants for c in group), topic_bits, words),
            off_limits=_bitsets((c.off_limits for c in group), topic_bits, words),
        )

    left, right = side(mentees), side(mentors)
    overlap = _zone_overlaps(zones.values, at, work_start, work_end)
    forbidden = _forbidden_cells(mentees, mentors, managers, weights.reporting_depth)
    rows, cols, scores = [], [], []
    step = max(1, _BLOCK_CELLS // max(1, len(mentors)))
    for start in range(0, len(mentees), step):
        stop = min(start + step, len(mentees))
        block = _block(left, right, start, stop, overlap, forbidden, weights)
        rows.append(block[0] + start)
        cols.append(block[1])
        scores.append(block[2])
    return PairTable(
        mentees=mentees,
        mentors=mentors,
        row=np.concatenate(rows).astype(np.int32) if rows else np.zeros(0, np.int32),
        col=np.concatenate(cols).astype(np.int32) if cols else np.zeros(0, np.int32),
        score=np.concatenate(scores) if scores else np.zeros(0),
    )


def _topic_bits(pool: Sequence[Candidate]) -> dict[str, int]:
    topics = sorted({t for c in pool for t in (*c.offers, *c.wants, *c.off_limits)})
    return {topic: bit for bit, topic in enumerate(topics)}


def _bitsets(sets: Iterable[frozenset[str]], bits: Mapping[str, int], words: int) -> np.ndarray:
    """One row of ``words`` uint64 per set: bit ``b`` of word ``b // 64`` for topic ``b``."""
    out = []
    for topics in sets:
        mask = sum(1 << bits[t] for t in topics)
        out.append([(mask >> (64 * w)) & 0xFFFF_FFFF_FFFF_FFFF for w in range(words)])
    return np.array(out, dtype=np.uint64).reshape(-1, words)


def _zone_overlaps(zones: Sequence[str | None], at: datetime, start: int, end: int) -> np.ndarray:
    """Working-hour overlap of every pair of zone codes, by the solver's own function."""
    table = np.zeros((len(zones), len(zones)))
    for a, zone_a in enumerate(zones):
        for b, zone_b in enumerate(zones):
            table[a, b] = working_overlap_hours(str(zone_a), str(zone_b), at, start, end)
    return table


def _forbidden_cells(
    mentees: Sequence[Candidate],
    mentors: Sequence[Candidate],
    managers: Mapping[str, str | None],
    depth: int,
) -> dict[int, list[int]]:
    """Mentor indices each mentee index may not have: exclusions, past partners, reporting line.

    Each rule is symmetric, so it is applied from both sides' lists.
    """
    mentee_at: dict[str, list[int]] = defaultdict(list)
    mentor_at: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(mentees):
        mentee_at[c.person].append(i)
    for j, c in enumerate(mentors):
        mentor_at[c.person].append(j)
    cells: dict[int, list[int]] = defaultdict(list)
    for i, c in enumerate(mentees):
        for other in _shunned(c, managers, depth):
            cells[i].extend(mentor_at.get(other, ()))
    for j, c in enumerate(mentors):
        for other in _shunned(c, managers, depth):
            for i in mentee_at.get(other, ()):
                cells[i].append(j)
    return cells


def _shunned(c: Candidate, managers: Mapping[str, str | None], depth: int) -> set[str]:
    """Person keys ``c`` can never be paired with, whichever side either is on."""
    return set(c.excluded) | set(c.past_partners) | set(_managers_above(c.person, managers, depth))


def _block(
    left: _Side,
    right: _Side,
    start: int,
    stop: int,
    overlap: np.ndarray,
    forbidden: Mapping[int, list[int]],
    weights: Weights,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Allowed cells of mentee rows ``start:stop`` (rows relative to ``start``) and scores."""
    rows = slice(start, stop)

    def pairwise(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return a[rows][:, None], b[None, :]

    ids_a, ids_b = pairwise(left.ids, right.ids)
    person_a, person_b = pairwise(left.person, right.person)
    space_a, space_b = pairwise(left.workspace, right.workspace)
    ok = (ids_a != ids_b) & (person_a != person_b) & (space_a == space_b)
    two_way_a, two_way_b = pairwise(left.two_way, right.two_way)
    two_way = two_way_a | two_way_b
    level_a, level_b = pairwise(left.level, right.level)
    ok &= two_way | (level_a == _NO_LEVEL) | (level_b == _NO_LEVEL) | (level_b < level_a)
    zone_a, zone_b = pairwise(left.zone, right.zone)
    hours = overlap[zone_a, zone_b]
    ok &= hours >= weights.min_overlap_hours
    topics = _shared_topic_counts(left, right, rows, two_way)
    ok &= topics > 0
    for i in range(start, stop):
        if i in forbidden:
            ok[i - start, forbidden[i]] = False
    r, c = np.nonzero(ok)
    dept_a, dept_b = left.department[start + r], right.department[c]
    cross = (dept_a != 0) & (dept_b != 0) & (dept_a != dept_b)
    score = (
        weights.topic * topics[r, c]
        + weights.timezone * (hours[r, c] / _REFERENCE_DAY_HOURS)
        + weights.cross_department * cross
        + weights.priority * (left.priority[start + r] + right.priority[c])
    )
    return r, c, np.round(score, 6)


def _shared_topic_counts(left: _Side, right: _Side, rows: slice, two_way: np.ndarray) -> np.ndarray:
    """Size of ``shared_topics`` for every cell: wants x offers, both ways if two-way."""
    count = np.zeros(two_way.shape, dtype=np.int64)
    for w in range(left.offers.shape[1]):
        wants_a, offers_a = left.wants[rows, w][:, None], left.offers[rows, w][:, None]
        wants_b, offers_b = right.wants[None, :, w], right.offers[None, :, w]
        shared = wants_a & offers_b
        shared |= np.where(two_way, wants_b & offers_a, np.uint64(0))
        shared &= ~(left.off_limits[rows, w][:, None] | right.off_limits[None, :, w])
        count += np.bitwise_count(shared)
    return count
