"""Whatever a check-in form carries, the answer is a field error naming the field, or
answers of the right types: never an exception (which would lose the check-in)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flows.checkins import LEADS, THEMES, _validate

ANY_TEXT = st.text(max_size=20) | st.sampled_from(["1", "5", "high", "²", "٣", "0", "6", ""])
VALUES = st.fixed_dictionaries(
    {},
    optional={
        "met": ANY_TEXT | st.sampled_from(["yes", "no"]),
        "rating": ANY_TEXT,
        "energy": ANY_TEXT,
        "lead": ANY_TEXT | st.sampled_from(list(LEADS)),
        "themes": st.lists(ANY_TEXT | st.sampled_from(list(THEMES)), max_size=3) | ANY_TEXT,
        "note": st.text(max_size=3000),
    },
)


@settings(max_examples=300, deadline=None)
@given(VALUES, st.booleans())
def test_every_value_gets_a_field_error_or_well_typed_answers(values, mentor) -> None:
    answers, errors = _validate(values, mentor=mentor)
    assert set(errors) <= {"met", "rating", "themes", "energy", "lead", "note"}
    if not errors:
        assert answers["rating"] in range(1, 6)
        assert answers["energy"] is None or answers["energy"] in range(1, 6)
        assert answers["lead"] is None or answers["lead"] in LEADS
        assert set(answers["themes"]) <= set(THEMES)


def test_energy_that_is_not_a_number_is_a_field_error() -> None:
    _, errors = _validate({"met": "yes", "rating": "4", "energy": "high"}, mentor=True)
    assert errors == {"energy": "Choose a number from 1 to 5."}
