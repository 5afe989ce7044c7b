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


def parse_date(text: str) -> date | None:
    """An ISO date (YYYY-MM-DD), or None for empty or malformed text."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None
