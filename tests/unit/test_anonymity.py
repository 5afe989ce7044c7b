"""The admins' digest: pair-level counting, k-anonymity suppression and exclusions."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.messages import Fields, Heading, Text
from flows.anonymity import (
    ALWAYS_SHOWN,
    MENTOR_ROLES,
    CheckinFact,
    DigestInput,
    Figure,
    GoalFact,
    ReviewFact,
    compute_figures,
    render_digest,
)
from flows.disclosure import NOT_SHOWN, CountBands, count_text

TAXONOMY = {
    "workload": "Workload",
    "tools": "Tools and tech",
    "recognition": "Recognition",
    "growth": "Career growth",
    "inclusion": "Inclusion",
    "hybrid": "Hybrid work",
}
THEME_IDS = tuple(TAXONOMY)
ROLES = ("mentor", "mentee", "two_way")
ENROLMENT = frozenset({"participants", "active_pairs"})


# --- builders ---------------------------------------------------------------------------


def checkin(
    pair: int,
    *,
    participant: int | None = None,
    role: str = "mentor",
    met: bool = True,
    rating: int = 4,
    themes: Iterable[str] = (),
    energy: int | None = None,
) -> CheckinFact:
    if participant is None:
        participant = 1000 * pair + (1 if role == "mentor" else 2)
    if energy is None and role in MENTOR_ROLES:
        energy = 3
    return CheckinFact(pair, participant, role, met, rating, frozenset(themes), energy)


def both_partners(
    pair: int, *, met: bool = True, rating: int = 4, themes: Iterable[str] = ()
) -> list[CheckinFact]:
    """A mentor's and a mentee's check-in with the same answers."""
    return [
        checkin(pair, role=role, met=met, rating=rating, themes=themes)
        for role in ("mentor", "mentee")
    ]


def program(
    checkins: Iterable[CheckinFact],
    *,
    goals: Iterable[GoalFact] = (),
    reviews: Iterable[ReviewFact] = (),
    k: int = 5,
    exclude: Iterable[int] = (),
    participants: int = 20,
    active_pairs: int = 10,
) -> DigestInput:
    return DigestInput(
        k=k,
        participants=participants,
        active_pairs=active_pairs,
        checkins=tuple(checkins),
        goals=tuple(goals),
        reviews=tuple(reviews),
        themes=TAXONOMY,
        exclude_pairs=frozenset(exclude),
    )


def by_key(figures: Iterable[Figure]) -> dict[str, Figure]:
    return {f.key: f for f in figures}


def review(pair: int, before: int, now: int, again: bool = True, who: int = 1) -> ReviewFact:
    return ReviewFact(pair, 1000 * pair + who, before, now, again)


# --- examples ---------------------------------------------------------------------------


def test_six_pairs_show_meeting_rate_going_energy_and_common_themes() -> None:
    checkins = [
        *both_partners(1, met=False, rating=1, themes={"workload"}),
        checkin(1, role="mentor", met=False, rating=2, energy=4, themes={"tools"}),
    ]
    themes = {5: {"workload"}, 6: {"tools"}}  # each theme raised by 5 of the 6 pairs
    for pair in range(2, 7):
        checkins += both_partners(pair, rating=4, themes=themes.get(pair, {"workload", "tools"}))
    checkins.append(checkin(6, role="mentee", rating=5))

    figures = by_key(compute_figures(program(checkins, k=5)))

    assert figures["participants"].value == "20"
    assert figures["active_pairs"].value == "10"
    assert figures["responding_pairs"].value == "6"
    # 5 of 6 would leave a single pair on the other side: worded as a band.
    assert figures["meeting_rate"].value == "at least 5 of 6 pairs"
    # Pair means: pair 1 = (1 + 1 + 2) / 3, pair 6 = (4 + 4 + 5) / 3, others 4.
    assert figures["going"].value == "3.6 average"  # (4/3 + 13/3 + 16) / 6 = 3.61
    # Mentor energy only: pair 1 = (3 + 4) / 2, others 3.
    assert figures["energy"].value == "3.1 average"  # (3.5 + 15) / 6 = 3.08
    assert figures["theme:workload"].value == "raised in at least 5 of 6 pairs"
    assert figures["theme:workload"].label == "Workload"
    assert figures["theme:tools"].value == "raised in at least 5 of 6 pairs"
    # Always there, so it tells nothing; it names no theme.
    assert figures["themes_other"].value == "each raised in fewer than 5 of 6 pairs"
    assert "themes" not in figures


def test_figures_come_in_a_stable_order() -> None:
    themes = {1: {"tools"}, 2: {"workload"}}
    checkins = [
        c
        for pair in range(1, 7)
        for c in both_partners(pair, themes=themes.get(pair, {"tools", "workload"}))
    ]

    keys = [f.key for f in compute_figures(program(checkins, k=5))]

    assert keys == [
        "participants",
        "active_pairs",
        "responding_pairs",
        "meeting_rate",
        "going",
        "energy",
        "top_down",
        "theme:workload",  # taxonomy order, not the order answers arrived in
        "theme:tools",
        "themes_other",
        "goal_completion",
        "impact",
        "again",
    ]


def test_fewer_than_k_pairs_suppress_everything_but_the_counts() -> None:
    checkins = [c for pair in range(1, 5) for c in both_partners(pair, themes={"workload"})]
    goals = [GoalFact(pair, done=True) for pair in range(1, 5)]
    reviews = [review(pair, 2, 4) for pair in range(1, 5)]

    figures = compute_figures(program(checkins, goals=goals, reviews=reviews, k=5))

    shown = {f.key: f.value for f in figures if f.value is not None}
    assert shown == {"participants": "20", "active_pairs": "10", "responding_pairs": "fewer than 5"}
    suppressed = [f.key for f in figures if f.value is None]
    assert suppressed == [
        "meeting_rate",
        "going",
        "energy",
        "top_down",
        "themes",  # not even the names of the themes raised
        "goal_completion",
        "impact",
        "again",
    ]


def test_theme_placeholder_does_not_depend_on_whether_themes_were_raised() -> None:
    quiet = [checkin(pair) for pair in range(1, 3)]
    loud = [checkin(pair, themes={"workload"}) for pair in range(1, 3)]

    assert [f.key for f in compute_figures(program(quiet, k=3))] == [
        f.key for f in compute_figures(program(loud, k=3))
    ]


def test_theme_raised_in_two_pairs_appears_only_as_suppressed_other_themes() -> None:
    checkins = [checkin(pair, themes={"workload"}) for pair in range(1, 7)]
    checkins += [checkin(7)]  # raised nothing: workload isn't every pair's, so it can show
    checkins += [checkin(1, role="mentee", themes={"recognition"})]
    checkins += [checkin(2, role="mentee", themes={"recognition"})]

    figures = by_key(compute_figures(program(checkins, k=5)))

    assert figures["theme:workload"].value == "raised in at least 5 of 7 pairs"
    assert "theme:recognition" not in figures
    assert figures["themes_other"].value == "each raised in fewer than 5 of 7 pairs"
    assert "theme:growth" not in figures  # raised by nobody: omitted altogether


def test_themes_outside_the_taxonomy_are_ignored() -> None:
    checkins = [checkin(pair, themes={"my manager, Bob"}) for pair in range(1, 7)]

    figures = compute_figures(program(checkins, k=5))

    assert [f for f in figures if f.key.startswith("theme")] == [
        Figure("themes_other", "Other themes", "each raised in fewer than 5 of 6 pairs", 6)
    ]
    assert "Bob" not in repr(figures)


def test_excluded_pairs_are_not_counted() -> None:
    checkins = [c for pair in range(1, 7) for c in both_partners(pair, themes={"workload"})]
    goals = [GoalFact(pair, done=True) for pair in range(1, 7)]
    reviews = [review(pair, 2, 4) for pair in range(1, 7)]

    figures = by_key(
        compute_figures(program(checkins, goals=goals, reviews=reviews, k=5, exclude={2, 5}))
    )

    assert figures["responding_pairs"].value == "fewer than 5"
    for key in ("meeting_rate", "going", "energy", "goal_completion", "impact", "again"):
        assert figures[key].value is None
        assert figures[key].pairs == 4
    assert figures["themes"].value is None
    assert "theme:workload" not in figures


def test_exclusion_of_a_pair_that_did_not_answer_changes_nothing() -> None:
    checkins = [checkin(pair) for pair in range(1, 6)]

    assert compute_figures(program(checkins, exclude={99})) == compute_figures(program(checkins))


def test_two_checkins_from_the_same_pair_count_once() -> None:
    # Eight check-ins, but only four pairs: still below k = 5.
    four_pairs = [c for pair in range(1, 5) for c in both_partners(pair)]
    figures = by_key(compute_figures(program(four_pairs, k=5)))
    assert figures["responding_pairs"].value == "fewer than 5"
    assert figures["meeting_rate"].value is None

    # Partners disagree on whether they met: the pair met.
    checkins = [
        checkin(1, role="mentor", met=True),
        checkin(1, role="mentee", met=False),
        *(checkin(pair, met=False) for pair in range(2, 6)),
    ]
    figures = by_key(compute_figures(program(checkins, k=3)))
    assert figures["meeting_rate"].value == "fewer than 3 of 5 pairs"
    assert figures["meeting_rate"].pairs == 5
    six = [*checkins, checkin(6, met=True), checkin(7, met=True)]
    figures = by_key(compute_figures(program(six, k=3)))
    assert figures["meeting_rate"].value == "3 of 7 pairs (43%)"  # pair 1 counts once


def test_pair_means_weigh_each_pair_once() -> None:
    # Pair 1 answers five times with 1s; it still counts as one pair among five.
    checkins = [checkin(1, participant=i, rating=1) for i in range(5)]
    checkins += [checkin(pair, rating=5) for pair in range(2, 6)]

    figures = by_key(compute_figures(program(checkins, k=5)))

    assert figures["going"].value == "4.2 average"  # (1 + 4 * 5) / 5, not (5 + 20) / 9


def test_an_average_near_an_end_is_shown_in_a_band_that_fixes_no_answer() -> None:
    # 1, 1 and (1 + 2) / 2: "1.2 average" could only come from the two single answers
    # being 1 (Hypothesis found it in test_digest_inference). For pairs of these sizes
    # the lowest tenths are merged until each band leaves every answer two values, and
    # which band is shown depends on the answers only through the mean.
    leaky = [checkin(1, rating=1), checkin(2, rating=1)]
    leaky += [checkin(3, role="mentor", rating=1), checkin(3, role="mentee", rating=2)]
    # Move one answer up and many answer sets give the same average: it is shown.
    free = [checkin(1, rating=2), checkin(2, rating=1)]
    free += [checkin(3, role="mentor", rating=1), checkin(3, role="mentee", rating=2)]

    assert by_key(compute_figures(program(leaky, k=3)))["going"].value == "1.3 or lower"
    assert by_key(compute_figures(program(free, k=3)))["going"].value == "1.5 average"


def test_energy_counts_only_mentor_side_answers() -> None:
    checkins = [checkin(pair, role="two_way", energy=2) for pair in range(1, 5)]
    checkins += [checkin(5, role="mentee", energy=5)]  # a stray answer from the mentee side

    figures = by_key(compute_figures(program(checkins, k=5)))

    assert figures["responding_pairs"].value == "5"
    assert figures["energy"] == Figure("energy", "Energy it took mentors, 1–5", None, 4)


def test_goals_impact_and_again() -> None:
    goals = [GoalFact(pair, done=n < 3) for pair in range(1, 6) for n in range(4)]
    # Pair means before: 2, 2, 2, 3, 3.5 -> 2.5; now: 4, 4, 4, 4, 3.5 -> 3.9.
    reviews = [review(pair, 2, 4) for pair in range(1, 4)]
    reviews += [review(4, 3, 4), review(5, 3, 3, again=False), review(5, 4, 4, who=2)]

    figures = by_key(compute_figures(program([], goals=goals, reviews=reviews, k=5)))

    assert figures["goal_completion"].value == "15 of 20 goals (75%)"
    assert figures["goal_completion"].pairs == 5
    assert figures["impact"].value == "2.5 → 3.9 (+1.4)"
    assert figures["again"].value == "at least 5 of 6 answers"  # one "no" would stand alone
    assert figures["again"].pairs == 5


def test_impact_change_can_be_negative_and_adds_up_as_printed() -> None:
    reviews = [review(pair, 4, 3) for pair in range(1, 3)] + [review(3, 5, 5)]

    figures = by_key(compute_figures(program([], reviews=reviews, k=3)))

    assert figures["impact"].value == "4.3 → 3.7 (-0.6)"  # pair means 4, 4, 5 and 3, 3, 5


def test_goals_below_k_pairs_are_suppressed_however_many_goals() -> None:
    goals = [GoalFact(pair, done=True) for pair in range(1, 5) for _ in range(10)]

    figures = by_key(compute_figures(program([], goals=goals, k=5)))

    assert figures["goal_completion"] == Figure("goal_completion", "Goals due, done", None, 4)


@pytest.mark.parametrize("done", [False, True])
def test_goals_all_done_or_none_done_are_worded_as_bands_like_meetings(done: bool) -> None:
    goals = [GoalFact(pair, done=done) for pair in range(1, 7) for _ in range(2)]

    figures = by_key(compute_figures(program([], goals=goals, k=5)))

    expected = "at least 8 of 12 goals" if done else "fewer than 5 of 12 goals"
    assert figures["goal_completion"] == Figure("goal_completion", "Goals due, done", expected, 6)


def test_k_below_three_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        program([], k=2)


def test_rendering_shows_not_enough_and_never_a_participant_id() -> None:
    checkins = [checkin(pair, participant=987_650 + pair, themes={"workload"}) for pair in range(5)]
    checkins += [checkin(5, participant=987_655, met=False)]
    checkins += [checkin(0, participant=987_649, themes={"tools"})]
    reviews = [ReviewFact(pair, 876_540 + pair, 2, 4, True) for pair in range(2)]
    figures = compute_figures(program(checkins, reviews=reviews, k=5))

    message = render_digest("Upward digest", "March 2027", figures, k=5)

    assert message.summary == "Upward digest: March 2027"
    heading, text, fields, withheld = message.blocks
    assert heading == Heading(text="Upward digest")
    assert isinstance(text, Text)
    assert text.text.startswith("March 2027\n")
    assert "Figures over fewer than 5 pairs" in text.text
    assert isinstance(fields, Fields)
    items = dict(fields.items)
    assert items["Pairs who met"] == "at least 5 of 6 pairs"
    assert items["Workload"] == "raised in at least 5 of 6 pairs"
    assert items["Energy it took mentors, 1–5"] == "3.0 average"
    assert items["Other themes"] == "each raised in fewer than 5 of 6 pairs"
    for label in ("Confidence on learning topics, before → now", "Would do it again"):
        assert label not in items
    # One line for everything withheld, in one wording whatever the reason.
    assert withheld == Text(
        text="Not shown, to keep answers private: Pairs drifting top-down, Goals due, done, "
        "Confidence on learning topics, before → now, Would do it again."
    )
    assert NOT_SHOWN not in items.values()
    rendered = message.model_dump_json()
    assert "98765" not in rendered
    assert "87654" not in rendered


# --- properties -------------------------------------------------------------------------


@st.composite
def digest_inputs(draw: st.DrawFn) -> DigestInput:
    n_pairs = draw(st.integers(1, 12))
    pair_ids = draw(st.lists(st.integers(1, 500), min_size=n_pairs, max_size=n_pairs, unique=True))
    checkins: list[CheckinFact] = []
    goals: list[GoalFact] = []
    reviews: list[ReviewFact] = []
    for pair in pair_ids:
        members = st.sampled_from((2 * pair, 2 * pair + 1))
        for _ in range(draw(st.integers(0, 2))):
            checkins.append(
                CheckinFact(
                    pair_id=pair,
                    participant_id=draw(members),
                    role=draw(st.sampled_from(ROLES)),
                    met=draw(st.booleans()),
                    rating=draw(st.integers(1, 5)),
                    themes=draw(st.frozensets(st.sampled_from(THEME_IDS), max_size=3)),
                    energy=draw(st.none() | st.integers(1, 5)),
                    lead=draw(st.none() | st.sampled_from(("junior", "shared", "senior"))),
                )
            )
        goals += [GoalFact(pair, draw(st.booleans())) for _ in range(draw(st.integers(0, 3)))]
        for _ in range(draw(st.integers(0, 2))):
            before, now, again = (
                draw(st.integers(1, 5)),
                draw(st.integers(1, 5)),
                draw(st.booleans()),
            )
            reviews.append(ReviewFact(pair, draw(members), before, now, again))
    exclude = draw(st.frozensets(st.sampled_from(pair_ids)) | st.just(frozenset()))
    return DigestInput(
        k=draw(st.integers(3, 6)),
        participants=draw(st.integers(0, 30)),
        active_pairs=draw(st.integers(0, 15)),
        checkins=tuple(draw(st.permutations(checkins))),
        goals=tuple(draw(st.permutations(goals))),
        reviews=tuple(draw(st.permutations(reviews))),
        themes=TAXONOMY,
        exclude_pairs=exclude,
    )


def expected_pairs(data: DigestInput) -> dict[str, set[int]]:
    """An independent recomputation of which pairs each answer-derived figure covers."""
    out = data.exclude_pairs
    checkins = [c for c in data.checkins if c.pair_id not in out]
    responding = {c.pair_id for c in checkins}
    raised = {theme: {c.pair_id for c in checkins if theme in c.themes} for theme in data.themes}
    reviewing = {r.pair_id for r in data.reviews if r.pair_id not in out}
    return {
        "responding_pairs": responding,
        "meeting_rate": responding,
        "going": responding,
        "energy": {c.pair_id for c in checkins if c.role in MENTOR_ROLES and c.energy is not None},
        "top_down": {c.pair_id for c in checkins if c.lead is not None},
        "themes": responding,
        **{f"theme:{theme}": pairs for theme, pairs in raised.items()},
        "themes_other": responding,
        "goal_completion": {g.pair_id for g in data.goals if g.pair_id not in out},
        "impact": reviewing,
        "again": reviewing,
    }


def without_excluded(data: DigestInput) -> DigestInput:
    """The same program with the excluded pairs' facts deleted instead of excluded."""
    out = data.exclude_pairs
    return dataclasses.replace(
        data,
        checkins=tuple(c for c in data.checkins if c.pair_id not in out),
        goals=tuple(g for g in data.goals if g.pair_id not in out),
        reviews=tuple(r for r in data.reviews if r.pair_id not in out),
        exclude_pairs=frozenset(),
    )


@settings(max_examples=200, deadline=None)
@given(digest_inputs())
def test_every_shown_figure_covers_at_least_k_pairs(data: DigestInput) -> None:
    for figure in compute_figures(data):
        if figure.value is not None and figure.key not in ALWAYS_SHOWN:
            assert figure.pairs >= data.k, figure


@settings(max_examples=200, deadline=None)
@given(digest_inputs())
def test_no_figure_counts_an_excluded_pair(data: DigestInput) -> None:
    figures = compute_figures(data)
    expected = expected_pairs(data)

    for figure in figures:
        if figure.key in ENROLMENT:
            continue
        assert figure.pairs == len(expected[figure.key]), figure
        assert expected[figure.key].isdisjoint(data.exclude_pairs)
    # Excluding a pair is indistinguishable from that pair never having answered.
    assert figures == compute_figures(without_excluded(data))


@settings(max_examples=200, deadline=None)
@given(digest_inputs())
def test_every_shown_theme_covers_at_least_k_pairs(data: DigestInput) -> None:
    figures = compute_figures(data)
    expected = expected_pairs(data)
    themes = [f for f in figures if f.key.startswith("theme")]

    if len(expected["responding_pairs"]) < data.k:
        assert themes == [Figure("themes", "Themes", None, len(expected["responding_pairs"]))]
        return
    shown = [f for f in themes if f.key.startswith("theme:")]
    responding = len(expected["responding_pairs"])
    if not CountBands(responding, data.k).shown:
        assert themes == [Figure("themes", "Themes", None, responding)]
        return
    for figure in shown:
        assert figure.pairs >= data.k
        assert figure.value == f"raised in {count_text(figure.pairs, responding, data.k, 'pairs')}"
    assert [f.key for f in shown] == [
        f"theme:{theme}" for theme in TAXONOMY if data.k <= len(expected[f"theme:{theme}"])
    ]
    others = [f for f in themes if f.key == "themes_other"]
    other = f"each raised in fewer than {data.k} of {responding} pairs"
    assert [(f.value, f.pairs) for f in others] == [(other, responding)]


@settings(max_examples=200, deadline=None)
@given(digest_inputs(), st.randoms(use_true_random=False))
def test_what_is_withheld_depends_on_who_answered_never_on_what(
    data: DigestInput, rng: random.Random
) -> None:
    """The attacker knows who answered: if withholding followed the answers, "not shown"
    would tell her something about them."""
    answered_otherwise = dataclasses.replace(
        data,
        checkins=tuple(
            dataclasses.replace(
                c,
                met=rng.random() < 0.5,
                rating=rng.randint(1, 5),
                themes=frozenset(t for t in THEME_IDS if rng.random() < 0.5),
                energy=None if c.energy is None else rng.randint(1, 5),
                lead=None if c.lead is None else rng.choice(("junior", "shared", "senior")),
            )
            for c in data.checkins
        ),
        goals=tuple(dataclasses.replace(g, done=rng.random() < 0.5) for g in data.goals),
        reviews=tuple(
            dataclasses.replace(
                r,
                confidence_before=rng.randint(1, 5),
                confidence_now=rng.randint(1, 5),
                again=rng.random() < 0.5,
            )
            for r in data.reviews
        ),
    )

    def withheld(figures: list[Figure]) -> set[str]:
        return {f.key for f in figures if f.value is None}

    assert withheld(compute_figures(data)) == withheld(compute_figures(answered_otherwise))


@settings(max_examples=200, deadline=None)
@given(digest_inputs(), st.randoms(use_true_random=False))
def test_output_is_invariant_under_relabelling_participants(
    data: DigestInput, rng: random.Random
) -> None:
    ids = sorted(
        {c.participant_id for c in data.checkins} | {r.participant_id for r in data.reviews}
    )
    relabel = dict(zip(ids, rng.sample(range(10_000, 20_000), len(ids)), strict=True))
    relabelled = dataclasses.replace(
        data,
        checkins=tuple(
            dataclasses.replace(c, participant_id=relabel[c.participant_id]) for c in data.checkins
        ),
        reviews=tuple(
            dataclasses.replace(r, participant_id=relabel[r.participant_id]) for r in data.reviews
        ),
    )

    figures = compute_figures(data)
    assert compute_figures(relabelled) == figures
    assert render_digest("Digest", "May", figures, data.k) == render_digest(
        "Digest", "May", compute_figures(relabelled), data.k
    )
