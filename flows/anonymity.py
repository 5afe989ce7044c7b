"""Aggregate private check-ins into the admins' digest without exposing anyone.

Everything here is pure: facts in, figures out, no storage and no clock, so the anonymity
rules can be tested exhaustively. The wording of each figure comes from
`flows.disclosure`, which makes every figure safe on its own whatever the answers were;
`flows.digests` makes sure no answer is counted in two published periods, so that the
figures stay safe together. The rules here:

* Every answer-derived figure counts *distinct pairs*, never check-ins or people. Two
  partners (or one eager partner answering twice) must not make one pair look like two.
* `exclude_pairs` (every pair with an admin in it) is removed from every input before
  anything is counted, so an admin who is also a participant cannot subtract her own
  answers from a figure to isolate her partner's.
* Which figures are shown, and which wordings each could take, depend only on how many
  pairs answered, never on what they answered.
* Participant ids are never read: they can't leak into the output, and the output cannot
  follow an individual from one digest to the next.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol, TypeVar

from bot.messages import Fields, Heading, Message, Text
from flows.disclosure import (
    CountBands,
    count_text,
    mean_text,
    participation,
    withheld_line,
)

MIN_K = 3
MENTOR_ROLES = frozenset({"mentor", "two_way"})
ALWAYS_SHOWN = frozenset({"participants", "active_pairs", "responding_pairs"})
"""Keys of the plain counts that are always there ("fewer than k" when small): they
describe enrolment and turnout, not what anybody answered."""


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
    """All digest figures in display order, withheld (value None) where no wording is safe.

    Answer-derived figures are always present so that the digest's layout never hints at
    how many pairs answered a given question.
    """
    kept = _without_excluded(data)
    k = data.k
    return [
        *_enrolment_figures(data),
        _responding_figure(kept.checkins, k),
        _meeting_rate(kept.checkins, k),
        _going(kept.checkins, k),
        _energy(kept.checkins, k),
        _top_down(kept.checkins, k),
        *_theme_figures(kept.checkins, data.themes, k),
        _goal_completion(kept.goals, k),
        *_review_figures(kept.reviews, k),
    ]


def render_digest(title: str, period_label: str, figures: Sequence[Figure], k: int) -> Message:
    """The digest as a neutral message: the figures shown, then one line naming those
    withheld (one wording, whatever the reason)."""
    explanation = (
        f"Answers from pairs with an admin in them are never counted. Figures over fewer "
        f"than {k} pairs, or that could give one person's answer away, are not shown."
    )
    shown = tuple((f.label, f.value) for f in figures if f.value is not None)
    withheld = [f.label for f in figures if f.value is None]
    blocks: list[Heading | Text | Fields] = [
        Heading(text=title),
        Text(text=f"{period_label}\n{explanation}"),
        Fields(items=shown),  # type: ignore[arg-type]
    ]
    if withheld:
        blocks.append(Text(text=withheld_line(withheld)))
    return Message(summary=f"{title}: {period_label}", blocks=tuple(blocks))


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
    """Enrolment is known to admins anyway and says nothing about anyone's answers; small
    counts read "fewer than k", as every count below k does."""
    k = data.k
    return [
        Figure("participants", "People taking part", participation(data.participants, k), 0),
        Figure("active_pairs", "Active pairs", participation(data.active_pairs, k), 0),
    ]


def _responding_figure(checkins: Sequence[CheckinFact], k: int) -> Figure:
    """Turnout reveals that pairs answered, not what they answered."""
    pairs = len(_pair_ids(checkins))
    return Figure("responding_pairs", "Pairs who checked in", participation(pairs, k), pairs)


def _meeting_rate(checkins: Sequence[CheckinFact], k: int) -> Figure:
    """A pair met if either partner says so: partners may disagree, and the question is
    whether the pairing is alive, not who remembers it."""
    met = _group(checkins, lambda c: c.met)
    met_pairs = sum(any(answers) for answers in met.values())
    value = count_text(met_pairs, len(met), k, "pairs")
    return Figure("meeting_rate", "Pairs who met", value, len(met))


def _going(checkins: Sequence[CheckinFact], k: int) -> Figure:
    """Pair-level means first, so a pair whose partners both answer weighs the same as
    a pair where only one does."""
    ratings = _group(checkins, lambda c: c.rating)
    return Figure("going", "How it's going, 1–5", _average(ratings, k), len(ratings))


def _energy(checkins: Sequence[CheckinFact], k: int) -> Figure:
    """Only the mentor side is asked about the energy it took; a stray mentee answer is
    ignored rather than trusted."""
    mentor_checkins = [c for c in checkins if c.role in MENTOR_ROLES]
    energy = _group(mentor_checkins, lambda c: c.energy)
    return Figure("energy", "Energy it took mentors, 1–5", _average(energy, k), len(energy))


def _top_down(checkins: Sequence[CheckinFact], k: int) -> Figure:
    """Pairs drifting back into a top-down pattern: either partner said the senior one led.
    Only "senior" or not counts, so "junior" and "shared" are never told apart."""
    by_pair = _group((c for c in checkins if c.lead is not None), lambda c: int(c.lead == "senior"))
    drifting = sum(any(answers) for answers in by_pair.values())
    value = count_text(drifting, len(by_pair), k, "pairs")
    return Figure("top_down", "Pairs drifting top-down", value, len(by_pair))


def _theme_figures(
    checkins: Sequence[CheckinFact], taxonomy: Mapping[str, str], k: int
) -> list[Figure]:
    """One line per theme raised in at least k pairs (and not raised in at least k), in
    taxonomy order; the others are folded into one "Other themes" line, which is there
    whenever the themes can be shown at all, so its presence tells nothing. Ids outside
    the fixed taxonomy are ignored, because a label we don't know could carry anything.
    """
    responding = _pair_ids(checkins)
    bands = CountBands(len(responding), k)
    if not bands.shown:
        return [Figure("themes", "Themes", None, len(responding))]
    raised = _pairs_per_theme(checkins, taxonomy)
    shown = []
    for theme, label in taxonomy.items():
        count = len(raised.get(theme, ()))
        if count >= k:
            text = count_text(count, len(responding), k, "pairs")
            shown.append(Figure(f"theme:{theme}", label, f"raised in {text}", count))
    other = f"each raised in fewer than {k} of {len(responding)} pairs"
    shown.append(Figure("themes_other", "Other themes", other, len(responding)))
    return shown


def _goal_completion(goals: Sequence[GoalFact], k: int) -> Figure:
    """Goals are counted one by one (a pair may set several), but the threshold is on the
    number of pairs that set any, which is what identifies people."""
    pairs = len({g.pair_id for g in goals})
    done = sum(g.done for g in goals)
    value = count_text(done, len(goals), k, "goals") if pairs >= k else None
    return Figure("goal_completion", "Goals due, done", value, pairs)


def _review_figures(reviews: Sequence[ReviewFact], k: int) -> list[Figure]:
    """End-of-pairing impact: the average confidence before and now, each in its band; the
    change is given only when both are exact tenths, so the line adds up as printed."""
    before = _group(reviews, lambda r: r.confidence_before)
    now = _group(reviews, lambda r: r.confidence_now)
    yes = sum(r.again for r in reviews)
    was, is_now = mean_text(before, k), mean_text(now, k)
    impact = None
    if was is not None and is_now is not None:
        impact = f"{was} → {is_now}"
        if _exact(was) and _exact(is_now):
            impact += f" ({Decimal(is_now) - Decimal(was):+.1f})"
    again = count_text(yes, len(reviews), k, "answers") if len(before) >= k else None
    return [
        Figure("impact", "Confidence on learning topics, before → now", impact, len(before)),
        Figure("again", "Would do it again", again, len(before)),
    ]


def _average(by_pair: Mapping[int, Sequence[int]], k: int) -> str | None:
    text = mean_text(by_pair, k)
    return None if text is None else (f"{text} average" if _exact(text) else text)


def _exact(text: str) -> bool:
    return len(text) == 3 and text[1] == "."


# --- helpers ----------------------------------------------------------------------------


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
