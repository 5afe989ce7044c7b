"""Aggregate private check-ins into the admins' digest without exposing anyone.

Everything here is pure: facts in, figures out, no storage and no clock, so the anonymity
rules can be tested exhaustively. The rules are deliberately few:

* Every answer-derived figure counts *distinct pairs*, never check-ins or people. Two
  partners (or one eager partner answering twice) must not make one pair look like two.
* A figure covering fewer than `k` pairs is suppressed (its value is None) rather than
  rounded, bucketed or approximated: small groups are where "who said what" can be guessed.
* `exclude_pairs` (typically the reader's own pair) is removed from every input before
  anything is counted, so an admin who is also a participant cannot subtract their own
  answers from a figure to isolate their partner's.
* A figure that would pin down answers even above `k` is suppressed the same way: when
  every covered pair answered alike at an end of the scale ("0 of 6 met", "6 of 6 met",
  an average of exactly 5.0), each pair's answer follows from the figure. Suppression
  looks the same for both ends, so it tells which answer nobody gave no more than it
  tells which everybody gave. An average is also suppressed when only one value of some
  answer could give it as shown ("1.2 average" over three pairs near the bottom of the
  scale): see `_mean_pins_an_answer`. A theme every responding pair raised is folded into
  "Other themes" for the same reason.
* Which figures appear depends only on counts, never on what the answers were, except for
  the "Other themes" line that the digest spec asks for.
* Participant ids are never read: they can't leak into the output, and the output cannot
  follow an individual from one digest to the next.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Protocol, TypeVar

from bot.messages import Fields, Heading, Message, Text
from flows.copy import ALIKE, NOT_ENOUGH

MIN_K = 3
MENTOR_ROLES = frozenset({"mentor", "two_way"})
ALWAYS_SHOWN = frozenset({"participants", "active_pairs", "responding_pairs"})
"""Keys of the plain counts that are shown whatever their size: they describe enrolment
and turnout, not what anybody answered."""


class _PairFact(Protocol):
    @property
    def pair_id(self) -> int: ...


F = TypeVar("F", bound=_PairFact)


# --- inputs and output ------------------------------------------------------------------


@dataclass(frozen=True)
class CheckinFact:
    pair_id: int
    participant_id: int
    role: str  # "mentor" | "mentee" | "two_way": the author's role
    met: bool
    rating: int  # 1..5, how it is going
    themes: frozenset[str]
    energy: int | None  # 1..5, mentors only: how much energy it took (emotional labour)
    lead: str | None = None  # junior | shared | senior: who led the conversation


@dataclass(frozen=True)
class GoalFact:
    pair_id: int
    done: bool


@dataclass(frozen=True)
class ReviewFact:
    pair_id: int
    participant_id: int
    confidence_before: int  # 1..5
    confidence_now: int  # 1..5
    again: bool  # would do it again


@dataclass(frozen=True)
class DigestInput:
    k: int  # anonymity threshold
    participants: int  # people enrolled (active or paused)
    active_pairs: int
    checkins: tuple[CheckinFact, ...]  # for the period being reported
    goals: tuple[GoalFact, ...]
    reviews: tuple[ReviewFact, ...]
    themes: Mapping[str, str]  # fixed taxonomy id -> label, in display order
    exclude_pairs: frozenset[int] = field(default_factory=frozenset)  # never counted

    def __post_init__(self) -> None:
        # Below 3 a pair-level figure can be undone by anyone who knows one other answer.
        if self.k < MIN_K:
            raise ValueError(f"the anonymity threshold k must be at least {MIN_K}, got {self.k}")


@dataclass(frozen=True)
class Figure:
    key: str  # stable id, e.g. "meeting_rate", "theme:workload"
    label: str  # human label
    value: str | None  # None = suppressed
    pairs: int  # distinct pairs the figure covers (after exclusion)


# --- the digest -------------------------------------------------------------------------


def compute_figures(data: DigestInput) -> list[Figure]:
    """All digest figures in display order, with small groups suppressed.

    Answer-derived figures are always present (value None when suppressed) so that the
    digest's layout never hints at how many pairs answered a given question.
    """
    kept = _without_excluded(data)
    k = data.k
    return [
        *_enrolment_figures(data),
        _responding_figure(kept.checkins),
        _meeting_rate(kept.checkins, k),
        _going(kept.checkins, k),
        _energy(kept.checkins, k),
        _top_down(kept.checkins, k),
        *_theme_figures(kept.checkins, data.themes, k),
        _goal_completion(kept.goals, k),
        *_review_figures(kept.reviews, k),
    ]


def render_digest(title: str, period_label: str, figures: Sequence[Figure], k: int) -> Message:
    """The digest as a neutral message; suppressed figures say why they are missing."""
    explanation = f"Figures cover at least {k} pairs; smaller groups are not shown."
    items = tuple((f.label, _shown(f, k)) for f in figures)
    return Message(
        summary=f"{title}: {period_label}",
        blocks=(
            Heading(text=title),
            Text(text=f"{period_label}\n{explanation}"),
            Fields(items=items),
        ),
    )


def _shown(figure: Figure, k: int) -> str:
    if figure.value is not None:
        return figure.value
    if figure.pairs >= k and not figure.key.startswith("theme"):
        return ALIKE
    return NOT_ENOUGH


# --- exclusion --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    checkins: tuple[CheckinFact, ...]
    goals: tuple[GoalFact, ...]
    reviews: tuple[ReviewFact, ...]


def _without_excluded(data: DigestInput) -> _Facts:
    """Drop excluded pairs from every input up front, so no figure can forget to."""
    excluded = data.exclude_pairs
    return _Facts(
        checkins=tuple(c for c in data.checkins if c.pair_id not in excluded),
        goals=tuple(g for g in data.goals if g.pair_id not in excluded),
        reviews=tuple(r for r in data.reviews if r.pair_id not in excluded),
    )


# --- figures ----------------------------------------------------------------------------


def _enrolment_figures(data: DigestInput) -> list[Figure]:
    """Enrolment is known to admins anyway and says nothing about anyone's answers, so
    these are passed through as given (exclusion applies to answers only)."""
    return [
        Figure("participants", "People taking part", str(data.participants), data.active_pairs),
        Figure("active_pairs", "Active pairs", str(data.active_pairs), data.active_pairs),
    ]


def _responding_figure(checkins: Sequence[CheckinFact]) -> Figure:
    """Turnout is a bare count: it reveals that pairs answered, not what they answered."""
    pairs = len(_pair_ids(checkins))
    return Figure("responding_pairs", "Pairs who checked in", str(pairs), pairs)


def _meeting_rate(checkins: Sequence[CheckinFact], k: int) -> Figure:
    """A pair met if either partner says so: partners may disagree, and the question is
    whether the pairing is alive, not who remembers it."""
    met = _group(checkins, lambda c: c.met)
    met_pairs = sum(any(answers) for answers in met.values())
    return _figure(
        "meeting_rate",
        "Pairs who met",
        len(met),
        k,
        lambda: f"{met_pairs} of {len(met)} pairs ({_percent(met_pairs, len(met))}%)",
        pins_answers=met_pairs in (0, len(met)),
    )


def _going(checkins: Sequence[CheckinFact], k: int) -> Figure:
    """Pair-level means first, so a pair whose partners both answer weighs the same as
    a pair where only one does."""
    ratings = _group(checkins, lambda c: c.rating)
    return _figure(
        "going",
        "How it's going, 1–5",
        len(ratings),
        k,
        lambda: f"{_format_tenths(_mean_of_pair_means(ratings))} average",
        pins_answers=_at_an_end(ratings) or _mean_pins_an_answer(ratings),
    )


def _energy(checkins: Sequence[CheckinFact], k: int) -> Figure:
    """Only the mentor side is asked about the energy it took; a stray mentee answer is
    ignored rather than trusted."""
    mentor_checkins = [c for c in checkins if c.role in MENTOR_ROLES]
    energy = _group(mentor_checkins, lambda c: c.energy)
    return _figure(
        "energy",
        "Energy it took mentors, 1–5",
        len(energy),
        k,
        lambda: f"{_format_tenths(_mean_of_pair_means(energy))} average",
        pins_answers=_at_an_end(energy) or _mean_pins_an_answer(energy),
    )


def _top_down(checkins: Sequence[CheckinFact], k: int) -> Figure:
    """Pairs drifting back into a top-down pattern: either partner said the senior one led.
    Only "senior" or not counts, so "junior" and "shared" are never told apart."""
    by_pair = _group((c for c in checkins if c.lead is not None), lambda c: int(c.lead == "senior"))
    drifting = sum(any(answers) for answers in by_pair.values())
    return _figure(
        "top_down",
        "Pairs drifting top-down",
        len(by_pair),
        k,
        lambda: f"{drifting} of {len(by_pair)} pairs ({_percent(drifting, len(by_pair))}%)",
        pins_answers=drifting in (0, len(by_pair)),
    )


def _theme_figures(
    checkins: Sequence[CheckinFact], taxonomy: Mapping[str, str], k: int
) -> list[Figure]:
    """One line per theme raised in at least k pairs, in taxonomy order.

    Rarer themes, and a theme every responding pair raised, are folded into a single,
    valueless "Other themes" line, which is always there: naming a theme only two pairs
    raised would point at them, and a missing line would say nobody raised anything. Ids
    outside the fixed taxonomy are ignored, because a label we don't know could carry
    anything. With fewer than k responding pairs
    even the list of theme names is withheld, and the placeholder appears whether or not
    any theme was raised, so its presence tells nothing.
    """
    responding = _pair_ids(checkins)
    if len(responding) < k:
        return [Figure("themes", "Themes", None, len(responding))]
    raised = _pairs_per_theme(checkins, taxonomy)
    telling = {t: p for t, p in raised.items() if k <= len(p) < len(responding)}
    shown = [
        Figure(f"theme:{theme}", taxonomy[theme], f"raised in {len(pairs)} pairs", len(pairs))
        for theme, pairs in telling.items()
    ]
    rare = [pairs for theme, pairs in raised.items() if theme not in telling]
    # Always there, even when empty: its absence would say that nobody raised anything.
    shown.append(Figure("themes_other", "Other themes", None, len(set[int]().union(*rare))))
    return shown


def _goal_completion(goals: Sequence[GoalFact], k: int) -> Figure:
    """Goals are counted one by one (a pair may set several), but the threshold is on the
    number of pairs that set any, which is what identifies people. None done, or all, tells
    every pair's outcome: suppressed like "0 of 6 met"."""
    by_pair = _group(goals, lambda g: g.done)
    done = sum(g.done for g in goals)
    total = len(goals)
    return _figure(
        "goal_completion",
        "Goals done",
        len(by_pair),
        k,
        lambda: f"{done} of {total} ({_percent(done, total)}%)",
        pins_answers=done in (0, total),
    )


def _review_figures(reviews: Sequence[ReviewFact], k: int) -> list[Figure]:
    """End-of-pairing impact. The before/now means are rounded first and the change is
    taken between the rounded values, so the line always adds up as printed."""
    before = _group(reviews, lambda r: r.confidence_before)
    now = _group(reviews, lambda r: r.confidence_now)
    yes = sum(r.again for r in reviews)

    def impact() -> str:
        was = _tenths(_mean_of_pair_means(before))
        is_now = _tenths(_mean_of_pair_means(now))
        return f"{was:.1f} → {is_now:.1f} ({is_now - was:+.1f})"

    label = "Confidence on learning topics, before → now"

    def again() -> str:
        return f"{yes} of {len(reviews)} answers"

    return [
        _figure(
            "impact",
            label,
            len(before),
            k,
            impact,
            pins_answers=_at_an_end(before, now)
            or _mean_pins_an_answer(before)
            or _mean_pins_an_answer(now),
        ),
        _figure(
            "again",
            "Would do it again",
            len(before),
            k,
            again,
            pins_answers=yes in (0, len(reviews)),
        ),
    ]


# --- helpers ----------------------------------------------------------------------------


def _figure(
    key: str,
    label: str,
    pairs: int,
    k: int,
    value: Callable[[], str],
    *,
    pins_answers: bool = False,
) -> Figure:
    """The single place suppression is applied. The value is computed lazily so nothing
    is even formatted for a group that is too small, or for one whose figure would give
    away every pair's answer."""
    shown = pairs >= k and not pins_answers
    return Figure(key, label, value() if shown else None, pairs)


def _at_an_end(*by_pairs: Mapping[int, Sequence[int]], low: int = 1, high: int = 5) -> bool:
    """Every answer at the bottom, or every answer at the top, of the 1–5 scale."""
    for by_pair in by_pairs:
        answers = [a for answers in by_pair.values() for a in answers]
        if answers and (all(a == low for a in answers) or all(a == high for a in answers)):
            return True
    return False


def _mean_pins_an_answer(by_pair: Mapping[int, Sequence[int]], low: int = 1, high: int = 5) -> bool:
    """Whether the mean of pair means, as shown (to tenths), leaves some answer only one
    possible value: with few pairs near an end of the scale, "1.2 average" can only come
    from the single-answer pairs having said 1.

    Exact, not a rule of thumb: in units of 1/(L*n) (n pairs, L the lcm of the pairs'
    answer counts) an answer a in a pair of c answers adds a*L/c to the total, and the
    shown value fixes the total to a range. An answer is free if some other value for it,
    with some values for all the others, keeps the total in that range. Answers of the
    same weight are interchangeable, so the others' reachable totals are found once per
    weight.
    """
    if not by_pair:
        return False
    n = len(by_pair)
    scale = math.lcm(*(len(answers) for answers in by_pair.values()))
    counts: Counter[int] = Counter()
    values: dict[int, set[int]] = defaultdict(set)
    for answers in by_pair.values():
        weight = scale // len(answers)
        counts[weight] += len(answers)
        values[weight].update(answers)
    shown = Fraction(_tenths(_mean_of_pair_means(by_pair)))
    first = math.ceil((shown - Fraction(1, 20)) * scale * n)
    last = math.ceil((shown + Fraction(1, 20)) * scale * n) - 1
    for weight, answers in values.items():
        reachable = _reachable_totals(counts - Counter({weight: 1}), low, high)
        for answer in answers:
            if not any(
                _any_bit(reachable, first - v * weight, last - v * weight)
                for v in range(low, high + 1)
                if v != answer
            ):
                return True
    return False


def _reachable_totals(counts: Mapping[int, int], low: int, high: int) -> int:
    """Bit t set iff answers in [low, high], `counts[w]` of them with weight w, can add up
    to t. m answers of weight w reach exactly the multiples of w from low*m*w to high*m*w."""
    reachable = 1
    for weight, m in counts.items():
        steps = (high - low) * m + 1
        multiples = int(("0" * (weight - 1) + "1") * steps, 2) << (low * m * weight)
        reachable = _sumset(reachable, multiples)
    return reachable


def _sumset(a: int, b: int) -> int:
    """The bitset of sums x + y for bits x of `a` and y of `b`."""
    out = 0
    while a:
        lowest = a & -a
        out |= b << (lowest.bit_length() - 1)
        a ^= lowest
    return out


def _any_bit(bits: int, first: int, last: int) -> bool:
    """Whether any bit from `first` to `last` (inclusive) is set."""
    first = max(first, 0)
    return last >= first and (bits >> first) & ((1 << (last - first + 1)) - 1) != 0


def _pair_ids(facts: Iterable[_PairFact]) -> set[int]:
    return {f.pair_id for f in facts}


def _group(facts: Iterable[F], answer: Callable[[F], int | None]) -> dict[int, list[int]]:
    """Answers grouped by pair, the unit every figure counts; unanswered (None) skipped,
    so a pair with no answer to a question is not covered by its figure."""
    grouped: dict[int, list[int]] = defaultdict(list)
    for fact in facts:
        value = answer(fact)
        if value is not None:
            grouped[fact.pair_id].append(int(value))
    return dict(grouped)


def _pairs_per_theme(
    checkins: Sequence[CheckinFact], taxonomy: Mapping[str, str]
) -> dict[str, set[int]]:
    """Theme id -> pairs where any partner chose it, in taxonomy order, unraised omitted."""
    raised: dict[str, set[int]] = {theme: set() for theme in taxonomy}
    for checkin in checkins:
        for theme in checkin.themes:
            if theme in raised:
                raised[theme].add(checkin.pair_id)
    return {theme: pairs for theme, pairs in raised.items() if pairs}


def _mean_of_pair_means(by_pair: Mapping[int, Sequence[int]]) -> Fraction:
    """Exact arithmetic: the result must not depend on the order facts arrive in, which
    float sums would (and a last-digit wobble can flip a rounded figure)."""
    means = [Fraction(sum(answers), len(answers)) for answers in by_pair.values()]
    return sum(means, Fraction(0)) / len(means)


def _tenths(x: Fraction) -> Decimal:
    """Round half up to one decimal; Python's round() would round half to even."""
    return Decimal(math.floor(x * 10 + Fraction(1, 2))).scaleb(-1)


def _format_tenths(x: Fraction) -> str:
    return f"{_tenths(x):.1f}"


def _percent(part: int, whole: int) -> int:
    """Whole percent, half up."""
    return math.floor(Fraction(100 * part, whole) + Fraction(1, 2))
