"""JSON serialised once and filled in per row: the same text `json.dumps` would give."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.jsontext import Hole, JsonText, Template, dumps, loads


def test_a_filled_template_is_the_json_of_the_value_with_its_holes_filled() -> None:
    template = Template(
        {"kind": "pair", "id": Hole("id"), "names": [Hole("a"), Hole("b")], "only": Hole("only")}
    )
    values = {"id": 7, "a": 'Zoë "Z" \\ 100%', "b": "line\nbreak\u2028", "only": None}
    filled = template.fill(**values)
    assert isinstance(filled, JsonText)
    expected = {"kind": "pair", "id": 7, "names": [values["a"], values["b"]], "only": None}
    assert filled == json.dumps(expected)
    assert template.fill(id=1, a="", b="x", only=0) == json.dumps(
        {"kind": "pair", "id": 1, "names": ["", "x"], "only": 0}
    )


def test_a_template_without_holes_is_its_value() -> None:
    assert Template({"a": [1, "b"]}).fill() == json.dumps({"a": [1, "b"]})


def test_a_hole_may_appear_once() -> None:
    with pytest.raises(ValueError, match="twice"):
        Template([Hole("x"), Hole("x")])


def test_json_text_is_not_encoded_twice() -> None:
    text = dumps({"a": 1})
    assert dumps(text) is text
    assert loads(text) == {"a": 1}
    assert loads("plain") == "plain"  # only JsonText is decoded


SCALARS = st.one_of(st.text(), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False))


@given(first=SCALARS, second=SCALARS)
def test_any_scalar_fills_a_hole_as_json_dumps_would_write_it(first: Any, second: Any) -> None:
    template = Template({"first": Hole("first"), "rest": [Hole("second"), "fixed"]})
    filled = template.fill(first=first, second=second)
    assert filled == json.dumps({"first": first, "rest": [second, "fixed"]})
