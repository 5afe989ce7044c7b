"""JSON serialised once, for rows written in bulk.

A tick queues an outbox row per pair, and every row's address and message have the same
shape: only a few values (ids, names) differ. Encoding 100,000 dicts one by one (which the
driver would do for each JSON column) costs more than the rest of building the rows, so the
tick serialises each shape once as a `Template` and fills in the differing values as text.
The bulk writers store a `JsonText` as it is instead of encoding it again.
"""

from __future__ import annotations

import json
from typing import Any

# The standard encoder, bound once: for a single value it skips `json.dumps`'s keyword
# handling (same output).
_encode = json.JSONEncoder().encode
_encode_str = json.encoder.encode_basestring_ascii  # what `_encode` does for a str, in C


class JsonText(str):
    """A value already serialised as JSON text."""

    __slots__ = ()


def dumps(value: Any) -> JsonText:
    """`value` as JSON text (what the database driver would have written for it)."""
    return value if isinstance(value, JsonText) else JsonText(_encode(value))


def loads(value: Any) -> Any:
    """The value of a `JsonText`; anything else as it is."""
    return json.loads(value) if isinstance(value, JsonText) else value


class Hole(str):
    """Where a template takes a value: `Hole("name")` in place of any JSON value."""

    __slots__ = ()


class Template:
    """A JSON value with holes, serialised once; `fill` gives the JSON text with each hole
    replaced by the JSON of a value (a string, number, bool or None)."""

    __slots__ = ("_first", "_rest")

    def __init__(self, value: Any) -> None:
        markers: dict[str, str] = {}
        text = json.dumps(_marked(value, markers))
        names = sorted(markers, key=lambda name: text.index(markers[name]))  # in text order
        parts = []
        for name in names:
            before, text = text.split(markers[name], 1)
            parts.append(before)
        parts.append(text)
        self._first = parts[0]
        self._rest = tuple(zip(names, parts[1:], strict=True))

    def fill(self, **values: Any) -> JsonText:
        out = [self._first]
        for name, part in self._rest:
            out.append(_scalar(values[name]))
            out.append(part)
        return JsonText("".join(out))


def _scalar(value: Any) -> str:
    """`_encode(value)`, with the common cases first: a template is filled per row of a bulk
    write, so the encoder's own checks add up."""
    kind = type(value)
    if kind is str:
        return _encode_str(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    return _encode(value)


def _marked(value: Any, markers: dict[str, str]) -> Any:
    """`value` with each hole replaced by a unique string, whose JSON is noted in `markers`."""
    if isinstance(value, Hole):
        if value in markers:
            raise ValueError(f"hole {value!r} appears twice in a template")
        marker = f"\x00hole:{value}\x00"
        markers[str(value)] = json.dumps(marker)
        return marker
    if isinstance(value, dict):
        return {key: _marked(item, markers) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_marked(item, markers) for item in value]
    return value
