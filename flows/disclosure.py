"""How a figure is worded for admins so that no wording can pin down anyone's answer.

The attacker we design against keeps every figure ever published, knows who answered
when, and knows the rules in this module. Two things therefore hold for every figure:

* **Which wordings a figure can take depends only on who answered** (how many pairs, how
  many answers in each), never on what they answered. Whether a figure is withheld
  follows from the same facts, so "not shown" tells the reader nothing she didn't know.
* **Every wording leaves every answer at least two possible values.** A count is shown
  exactly only when at least `k` are on each side of it ("fewer than 5 of 12",
  "at least 8 of 12" otherwise); an average is shown to tenths, with the bands at the
  ends of the scale merged ("1.4 or lower") until no band fixes an answer.

Together with the ledger (each answer is counted in one published period only, and
later reports are built from what was already published), this is the publication gate:
figures over disjoint answers, each of which alone pins nobody, pin nobody together.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

NOT_SHOWN = "not shown"
LOW, HIGH = 1, 5  # the answer scale of every average we publish


def withheld_line(labels: Sequence[str]) -> str:
    """The one wording for whatever is withheld, whatever the reason."""
    return f"Not shown, to keep answers private: {', '.join(labels)}."


def participation(count: int, k: int) -> str:
    """A bare count of people or pairs: exact from k up, otherwise "fewer than k"."""
    return str(count) if count >= k else f"fewer than {k}"


# --- counts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountBands:
    """The wordings a count of `total` can take: below `k`, exactly, or from `high` up."""

    total: int
    k: int

    @property
    def high(self) -> int:
        return max(self.k, self.total - self.k + 1)

    @property
    def shown(self) -> bool:
        """Whether any wording is safe: the top band must hold two values, or "at least n
        of n" would say that everyone gave the answer."""
        return self.total >= self.k and self.high <= self.total - 1

    def bounds(self, count: int) -> tuple[int, int]:
        if count < self.k:
            return 0, self.k - 1
        if count >= self.high:
            return self.high, self.total
        return count, count


def count_text(count: int, total: int, k: int, unit: str) -> str | None:
    """ "3 of 8 pairs (38%)", "fewer than 3 of 8 pairs", "at least 6 of 8 pairs", or None."""
    bands = CountBands(total, k)
    if not bands.shown:
        return None
    lo, hi = bands.bounds(count)
    if lo == 0:
        return f"fewer than {k} of {total} {unit}"
    if hi == total and lo != hi:
        return f"at least {lo} of {total} {unit}"
    return f"{count} of {total} {unit} ({percent(count, total)}%)"


def percent(part: int, whole: int) -> int:
    """Whole percent, half up."""
    return math.floor(Fraction(100 * part, whole) + Fraction(1, 2))


# --- averages -----------------------------------------------------------------------------


def mean_text(by_group: Mapping[int, Sequence[int]], k: int) -> str | None:
    """The mean over groups of each group's mean answer, in the band that holds it, or None
    when fewer than k groups answered or no banding is safe."""
    if len(by_group) < k:
        return None
    bands = MeanBands.of(tuple(sorted(len(answers) for answers in by_group.values())))
    return bands.text(mean_of_group_means(by_group))


def mean_range(by_group: Mapping[int, Sequence[int]], k: int) -> tuple[Decimal, Decimal] | None:
    """The shown band's ends, to tenths, for figures that need the numbers themselves."""
    if len(by_group) < k:
        return None
    bands = MeanBands.of(tuple(sorted(len(answers) for answers in by_group.values())))
    return bands.range(mean_of_group_means(by_group))


@dataclass(frozen=True)
class MeanBands:
    """Tenths of the scale, grouped so that no group fixes an answer. Built from the number
    of answers in each group alone.

    In units of 1/(L*n) (n groups, L the lcm of their sizes) an answer a in a group of c
    adds a*L/c to the total, and a shown band fixes the total to a range. An answer is
    free in a band if two values for it, each with some values for all the others, keep
    the total in that range. Answers of the same weight are interchangeable, so the
    others' reachable totals are found once per weight.
    """

    scale: int
    n: int
    groups: tuple[tuple[Decimal, Decimal], ...]  # (first tenth, last tenth), in order
    reached: tuple[tuple[Decimal, Decimal], ...]  # the tenths each group's means can be

    @classmethod
    @functools.cache
    def of(cls, sizes: tuple[int, ...]) -> MeanBands:
        """Cached: a population's bands depend on its group sizes alone."""
        n, scale = len(sizes), math.lcm(*sizes)
        counts = Counter(scale // size for size in sizes for _ in range(size))
        others = {w: _reachable(counts - Counter({w: 1})) for w in counts}
        steps = [Decimal(t).scaleb(-1) for t in range(10 * LOW, 10 * HIGH + 1)]

        everyone = _reachable(counts)

        def free(first: Decimal, last: Decimal) -> bool:
            """Reachable at all, and no answer left a single value."""
            lo, hi = _total_range(first, last, scale, n)
            if not _any(everyone, lo, hi):
                return False
            for weight, reachable in others.items():
                values = [
                    v
                    for v in range(LOW, HIGH + 1)
                    if _any(reachable, lo - v * weight, hi - v * weight)
                ]
                if len(values) == 1:
                    return False
            return True

        groups: list[tuple[Decimal, Decimal]] = []
        start = 0
        for end in range(len(steps)):
            if free(steps[start], steps[end]):
                groups.append((steps[start], steps[end]))
                start = end + 1
        # What is left at the top joins the groups below it until the union is safe.
        first = steps[start] if start < len(steps) else None
        while first is not None and groups and not free(first, steps[-1]):
            first = groups.pop()[0]
        if first is not None:
            groups.append((first, steps[-1]))

        def reached(group: tuple[Decimal, Decimal]) -> tuple[Decimal, Decimal]:
            """The tenths a mean in this group can really be, for the wording."""
            lo, hi = _total_range(*group, scale, n)
            window = (everyone >> lo) & ((1 << (hi - lo + 1)) - 1)
            low, high = lo + (window & -window).bit_length() - 1, lo + window.bit_length() - 1
            return tenths(Fraction(low, scale * n)), tenths(Fraction(high, scale * n))

        return cls(scale, n, tuple(groups), tuple(reached(g) for g in groups))

    def _index(self, mean: Fraction) -> int:
        shown = tenths(mean)
        return next(i for i, g in enumerate(self.groups) if g[0] <= shown <= g[1])

    def range(self, mean: Fraction) -> tuple[Decimal, Decimal] | None:
        return None if len(self.groups) < 2 else self.reached[self._index(mean)]

    def text(self, mean: Fraction) -> str | None:
        if len(self.groups) < 2:
            return None
        index = self._index(mean)
        first, last = self.reached[index]
        if first == last:
            return f"{first:.1f}"
        if index == 0:
            return f"{last:.1f} or lower"
        if index == len(self.groups) - 1:
            return f"{first:.1f} or higher"
        return f"{first:.1f}–{last:.1f}"


def _total_range(first: Decimal, last: Decimal, scale: int, n: int) -> tuple[int, int]:
    """The integer totals whose mean rounds (half up) to a tenth from `first` to `last`."""
    lo = Fraction(first) - Fraction(1, 20)
    hi = Fraction(last) + Fraction(1, 20)
    return math.ceil(lo * scale * n), math.ceil(hi * scale * n) - 1


def _reachable(counts: Mapping[int, int]) -> int:
    """Bit t set iff answers in [LOW, HIGH], `counts[w]` of them with weight w, can add up
    to t. m answers of weight w reach exactly the multiples of w from LOW*m*w to HIGH*m*w;
    the shifts are OR-ed in by doubling, so a population of any size costs a few dozen
    big-integer operations."""
    reachable = 1
    for weight, m in counts.items():
        if m <= 0:
            continue
        steps = (HIGH - LOW) * m  # extra multiples of `weight` beyond the lowest
        spread, covered = reachable, 0
        while covered < steps:
            step = min(covered + 1, steps - covered)
            spread |= spread << (weight * step)
            covered += step
        reachable = spread << (LOW * m * weight)
    return reachable


def _any(bits: int, first: int, last: int) -> bool:
    """Whether any bit from `first` to `last` (inclusive) is set."""
    first = max(first, 0)
    return last >= first and (bits >> first) & ((1 << (last - first + 1)) - 1) != 0


def mean_of_group_means(by_group: Mapping[int, Sequence[int]]) -> Fraction:
    """Exact arithmetic: the result must not depend on the order answers arrive in."""
    means = [Fraction(sum(answers), len(answers)) for answers in by_group.values()]
    return sum(means, Fraction(0)) / len(means)


def tenths(x: Fraction) -> Decimal:
    """Round half up to one decimal; Python's round() would round half to even."""
    return Decimal(math.floor(x * 10 + Fraction(1, 2))).scaleb(-1)
