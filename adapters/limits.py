"""Limits at the edge, shared by the platform adapters: how deep a payload may nest.

Pure functions over already-parsed JSON. A platform never sends anything deeper than a
dozen levels; a payload far deeper is refused before any code walks it recursively.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64  # containers inside containers; Slack and Teams payloads stay under 20


class TooDeep(ValueError):
    """A payload nested deeper than MAX_DEPTH."""


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads`, refusing absurd nesting: ValueError (TooDeep, or JSONDecodeError) for
    anything that isn't JSON of a sane depth, never RecursionError."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise TooDeep("nested too deep") from None
    check_depth(data, max_depth=max_depth)
    return data


def check_depth(data: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Raise TooDeep if `data` nests more than `max_depth` containers. Iterative, linear."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= max_depth:
            raise TooDeep("nested too deep")
        stack.extend((child, depth + 1) for child in children)
