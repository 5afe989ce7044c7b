"""Parsing the text after `/mentoring` (or typed to the bot) into a command name and args."""

from __future__ import annotations

import re
import shlex

ALIASES = {
    "?": "help",
    "quit": "leave",
    "checkins": "checkin",
    "goal": "goals",
}
PREFIX = "mentoring"


def parse_command_text(text: str) -> tuple[str, tuple[str, ...]]:
    """`join` -> ("join", ()); `pause until 2027-01-10` -> ("pause", ("until", "2027-01-10")).

    Never raises. Any Unicode space (Teams sends `&nbsp;`) separates words; unbalanced quotes
    fall back to plain splitting; a leading `/mentoring` is ignored; empty text is `help`.
    """
    cleaned = re.sub(r"\s", " ", text).strip()
    try:
        words = shlex.split(cleaned)
    except ValueError:
        words = cleaned.split()
    while words and words[0].lower().lstrip("/") == PREFIX:
        words = words[1:]
    if words:  # a quoted first word (`"join now"`) must not become a name with a space
        words = words[0].split() + words[1:]
    if not words:
        return "help", ()
    name = words[0].lower().lstrip("/")
    return ALIASES.get(name, name) or "help", tuple(words[1:])
