"""The attacker of issue 15, as a constraint solver.

She is a program admin who keeps every figure ever published to her, knows who is paired
with whom and when each person answered (so which answers each figure covers), and knows
her own answers. Each published figure becomes a linear constraint over the answers it
covers; an answer is *pinned* when every assignment of answers that satisfies all the
constraints together gives it the same value. Solved exactly with a mixed-integer program
(scipy's HiGHS), so it finds combinations across figures that no rule of thumb would.

Figures are read from their published wording, which is what she sees.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp


@dataclass(frozen=True)
class CountOf:
    """`lo <= (number of groups with any member's answer in `counted`) <= hi`."""

    groups: tuple[tuple[Hashable, ...], ...]
    counted: frozenset[object]
    lo: int = 0
    hi: int = 0


@dataclass(frozen=True)
class MeanOf:
    """The mean over groups of each group's mean answer lies in [lo, hi] (exact fractions)."""

    groups: tuple[tuple[Hashable, ...], ...]
    lo: Fraction
    hi: Fraction


@dataclass
class Field:
    """One question: every answer given to it, and what was published about them."""

    domain: tuple[object, ...]
    actual: dict[Hashable, object] = field(default_factory=dict)
    known: set[Hashable] = field(default_factory=set)  # the attacker's own answers
    facts: list[CountOf | MeanOf] = field(default_factory=list)


def pinned(fields: dict[str, Field]) -> list[tuple[str, Hashable, object]]:
    """(field, answer, value) for every answer that all the published figures together fix."""
    found = []
    for name, question in fields.items():
        for answer in _pinned_in(question):
            found.append((name, answer, question.actual[answer]))
    return found


def _pinned_in(question: Field) -> list[Hashable]:
    covered = {a for fact in question.facts for group in fact.groups for a in group}
    unknown = [a for a in covered if a not in question.known]
    if not unknown:
        return []
    model = _Model(question, sorted(covered, key=repr))
    seen: dict[Hashable, set[object]] = {a: set() for a in unknown}
    for witness in model.solutions(None):
        for a in unknown:
            seen[a].add(witness[a])
    out = []
    for a in unknown:
        for value in question.domain:
            if value in seen[a] or len(seen[a]) > 1:
                continue
            witness = next(iter(model.solutions((a, value))), None)
            if witness is not None:
                for b in unknown:
                    seen[b].add(witness[b])
        if len(seen[a]) == 1:
            out.append(a)
    return out


class _Model:
    def __init__(self, question: Field, answers: Sequence[Hashable]) -> None:
        self.q = question
        self.answers = list(answers)
        self.index: dict[tuple[Hashable, object], int] = {}
        for a in self.answers:
            for v in question.domain:
                self.index[(a, v)] = len(self.index)
        self.rows: list[tuple[dict[int, float], float, float]] = []
        self.extra = 0
        for a in self.answers:
            self.rows.append(({self.index[(a, v)]: 1 for v in question.domain}, 1, 1))
            if a in question.known:
                self.rows.append(({self.index[(a, question.actual[a])]: 1}, 1, 1))
        for fact in question.facts:
            if isinstance(fact, CountOf):
                self._count(fact)
            else:
                self._mean(fact)

    def _new(self) -> int:
        self.extra += 1
        return len(self.index) + self.extra - 1

    def _count(self, fact: CountOf) -> None:
        total: dict[int, float] = {}
        for group in fact.groups:
            y = self._new()  # 1 iff some member's answer is counted
            members = [
                self.index[(a, v)] for a in group for v in fact.counted if v in self.q.domain
            ]
            for m in members:
                self.rows.append(({y: 1, m: -1}, 0, math.inf))
            self.rows.append(({y: 1, **{m: -1 for m in members}}, -math.inf, 0))
            total[y] = 1
        self.rows.append((total, fact.lo, fact.hi))

    def _mean(self, fact: MeanOf) -> None:
        n = len(fact.groups)
        scale = math.lcm(*(len(g) for g in fact.groups))
        row: dict[int, float] = {}
        for group in fact.groups:
            weight = scale // len(group)
            for a in group:
                for v in self.q.domain:
                    row[self.index[(a, v)]] = row.get(self.index[(a, v)], 0) + weight * int(v)  # type: ignore[call-overload]
        lo = math.ceil(fact.lo * scale * n)
        hi = math.floor(fact.hi * scale * n)
        self.rows.append((row, lo, hi))

    def solutions(self, fixed: tuple[Hashable, object] | None) -> Iterable[dict[Hashable, object]]:
        size = len(self.index) + self.extra
        rows = list(self.rows)
        if fixed is not None:
            rows.append(({self.index[fixed]: 1}, 1, 1))
        matrix = np.zeros((len(rows), size))
        lower, upper = np.zeros(len(rows)), np.zeros(len(rows))
        for r, (coefficients, lo, hi) in enumerate(rows):
            for column, value in coefficients.items():
                matrix[r, column] = value
            lower[r], upper[r] = lo, hi
        # A different objective each time spreads the witnesses over the answers.
        objective = np.random.default_rng(len(rows)).uniform(-1, 1, size)
        result = milp(
            objective,
            constraints=LinearConstraint(matrix, lower, upper),
            integrality=np.ones(size),
            bounds=Bounds(0, 1),
        )
        if result.status != 0:
            return []
        x = np.round(result.x)
        return [{a: v for (a, v), column in self.index.items() if x[column] == 1}]


# --- reading the published wording ---------------------------------------------------------

_EXACT = re.compile(r"^(\d+) of (\d+)")
_FEWER = re.compile(r"^fewer than (\d+) of (\d+)")
_AT_LEAST = re.compile(r"^at least (\d+) of (\d+)")
_RAISED = re.compile(r"^raised in (\d+) (?:of \d+ )?pairs")
_RAISED_AT_LEAST = re.compile(r"^raised in at least (\d+) of (\d+)")
_RAISED_FEWER = re.compile(r"^raised in fewer than (\d+) of (\d+)")
_MEAN = re.compile(r"^(\d\.\d)(?:–(\d\.\d))?( or lower| or higher)?")
_TENTH = Fraction(1, 20)


def count_bounds(value: str, groups: int) -> tuple[int, int] | None:
    """(lo, hi) of a count as worded, or None when the wording says nothing."""
    for pattern, bounds in (
        (_FEWER, lambda m: (0, int(m[1]) - 1)),
        (_AT_LEAST, lambda m: (int(m[1]), groups)),
        (_RAISED_FEWER, lambda m: (0, int(m[1]) - 1)),
        (_RAISED_AT_LEAST, lambda m: (int(m[1]), groups)),
        (_EXACT, lambda m: (int(m[1]), int(m[1]))),
        (_RAISED, lambda m: (int(m[1]), int(m[1]))),
    ):
        if found := pattern.match(value):
            return bounds(found)
    return None


def mean_bounds(value: str) -> tuple[Fraction, Fraction] | None:
    """[lo, hi] of a mean shown to tenths (half up), or None."""
    found = _MEAN.match(value)
    if found is None:
        return None
    first = Fraction(found[1])
    last = Fraction(found[2]) if found[2] else first
    if found[3] == " or lower":
        return Fraction(0), last + _TENTH - Fraction(1, 10**9)
    if found[3] == " or higher":
        return first - _TENTH, Fraction(6)
    return first - _TENTH, last + _TENTH - Fraction(1, 10**9)
