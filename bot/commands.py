"""Parsing the text after `/mentoring` (or typed to the bot) into a command name and args."""

from __future__ import annotations

import re

ALIASES = {
    "?": "help",
    "quit": "leave",
    "checkins": "checkin",
    "goal": "goals",
}
PREFIX = "mentoring"
# Slack caps slash-command text at 4,000 characters; nothing Upward asks for is longer.
# Longer text (from any platform) is answered with TOO_LONG instead of being parsed.
MAX_COMMAND_TEXT = 4000
TOO_LONG = (
    "That's longer than I can read: please keep a command under 4,000 characters "
    "(a long goal or note fits in the form that `/mentoring goals add` opens)."
)

# One word, shell-style: bare characters, '…' (taken as is), "…" (where \" and \\ are
# escapes), and \x (x itself). Possessive quantifiers, and pieces that differ by their first
# character, keep matching linear however long the word.
_PIECE = r"""[^ '"\\]++|'[^']*+'|"(?:[^"\\]++|\\.)*+"|\\."""
_WORD = re.compile(rf"(?:{_PIECE})++", re.DOTALL)
_PIECES = re.compile(_PIECE, re.DOTALL)
_DOUBLE_QUOTED_ESCAPE = re.compile(r'\\(["\\])')
_SPACE = re.compile(r"\s")


def split_words(text: str) -> list[str]:
    """`shlex.split(text)` for text whose only whitespace is " ", in linear time (shlex is
    quadratic on a long word). Raises ValueError for an unclosed quote or a trailing
    backslash, as shlex does."""
    words: list[str] = []
    end = 0
    for match in _WORD.finditer(text):
        if text[end : match.start()].strip(" "):
            raise ValueError("unbalanced quotes or a trailing escape")
        words.append("".join(_unquote(p) for p in _PIECES.findall(match.group())))
        end = match.end()
    if text[end:].strip(" "):
        raise ValueError("unbalanced quotes or a trailing escape")
    return words


def _unquote(piece: str) -> str:
    if piece[0] == "'":
        return piece[1:-1]
    if piece[0] == '"':
        return _DOUBLE_QUOTED_ESCAPE.sub(r"\1", piece[1:-1])
    if piece[0] == "\\":
        return piece[1:]
    return piece


def parse_command_text(text: str) -> tuple[str, tuple[str, ...]]:
    """`join` -> ("join", ()); `pause until 2027-01-10` -> ("pause", ("until", "2027-01-10")).

    Never raises. Any Unicode space (Teams sends `&nbsp;`) separates words; unbalanced quotes
    fall back to plain splitting; a leading `/mentoring` is ignored; empty text is `help`.
    Linear in the length of the text (callers refuse more than MAX_COMMAND_TEXT anyway).
    """
    cleaned = _SPACE.sub(" ", text).strip()
    try:
        words = split_words(cleaned)
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
