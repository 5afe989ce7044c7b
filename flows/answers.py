"""Reading submitted form values, which arrive as a string or a list depending on the field."""

from __future__ import annotations

from datetime import date


def one(value: str | list[str] | None) -> str | None:
    """The single answer of a field (the first, for a list)."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def many(value: str | list[str] | None) -> list[str]:
    """All answers of a multi-choice field, de-duplicated and sorted."""
    if value is None:
        return []
    items = value if isinstance(value, list) else value.split(",")
    return sorted({item.strip() for item in items if item.strip()})


def whole_number(text: object, *, digits: int = 9) -> int | None:
    """A non-negative whole number of at most `digits` ASCII digits (ids in buttons and form
    state, cycles, levels); None for anything else. `str.isdigit` alone accepts "²" and other
    digits that `int` refuses."""
    if not isinstance(text, str) or not (0 < len(text) <= digits):
        return None
    return int(text) if text.isascii() and text.isdigit() else None


def parse_date(text: str) -> date | None:
    """An ISO date (YYYY-MM-DD), or None for empty or malformed text."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None
