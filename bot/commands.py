"""Parsing the text after `/mentoring` (or typed to the bot) into a command name and args."""

from __future__ import annotations

import shlex

ALIASES = {
    "?": "help",
    "quit": "leave",
    "checkins": "checkin",
    "goal": "goals",
    "my-data": "export",
}


def parse_command_text(text: str) -> tuple[str, tuple[str, ...]]:
    """`join` -> ("join", ()); `pause until 2027-01-10` -> ("pause", ("until", "2027-01-10")).

    Never raises: unbalanced quotes fall back to whitespace splitting; empty text is `help`.
    """
    cleaned = text.strip()
    try:
        words = shlex.split(cleaned)
    except ValueError:
        words = cleaned.split()
    words = [w for w in words if w.strip()]
    if not words:
        return "help", ()
    name = words[0].lower().lstrip("/")
    if name == "mentoring":
        return parse_command_text(" ".join(shlex.quote(w) for w in words[1:]))
    return ALIASES.get(name, name), tuple(words[1:])
