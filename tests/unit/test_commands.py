"""Parsing what people type after `/mentoring` (or to the bot) into a command and its args."""

from __future__ import annotations

import shlex
import string
import sys
import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.commands import ALIASES, parse_command_text, split_words

COMMANDS = ("join", "leave", "pause", "status", "help", "checkin", "goals", "end", "admin")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("join", ("join", ())),
        ("/mentoring join", ("join", ())),
        ("mentoring join", ("join", ())),
        ("mentoring pause until 2027-01-10", ("pause", ("until", "2027-01-10"))),
        ("/mentoring pause until 2027-01-10", ("pause", ("until", "2027-01-10"))),
        ("  pause   until\t2027-01-10  ", ("pause", ("until", "2027-01-10"))),
        ("admin match approve", ("admin", ("match", "approve"))),
        ('goals add "ship the AI pilot"', ("goals", ("add", "ship the AI pilot"))),
        ("", ("help", ())),
        ("   \t\n ", ("help", ())),
        ("/mentoring", ("help", ())),
        ("/mentoring   ", ("help", ())),
        ("JOIN", ("join", ())),
        ("/Mentoring Pause Until 2027-01-10", ("pause", ("Until", "2027-01-10"))),
        ("/join", ("join", ())),
    ],
)
def test_examples(text: str, expected: tuple[str, tuple[str, ...]]) -> None:
    assert parse_command_text(text) == expected


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("?", "help"),
        ("quit", "leave"),
        ("QUIT", "leave"),
        ("checkins", "checkin"),
        ("goal", "goals"),
        ("/mentoring quit", "leave"),
    ],
)
def test_aliases(alias: str, name: str) -> None:
    assert parse_command_text(alias) == (name, ())


def test_alias_keeps_its_arguments() -> None:
    assert parse_command_text("goal add x") == ("goals", ("add", "x"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('pause "until', ("pause", ('"until',))),
        ('goals add "ship it', ("goals", ("add", '"ship', "it"))),
        ("end it's over", ("end", ("it's", "over"))),
        ("/mentoring end it's over", ("end", ("it's", "over"))),
        ("pause until\\", ("pause", ("until\\",))),
    ],
)
def test_unbalanced_quotes_fall_back_to_whitespace_splitting(
    text: str, expected: tuple[str, tuple[str, ...]]
) -> None:
    assert parse_command_text(text) == expected


# --- properties -------------------------------------------------------------------------


@given(st.text())
@example("/")
@example('"')
@example("mentoring mentoring mentoring")
@example("İSTANBUL")
def test_never_raises_and_the_name_is_lowercase(text: str) -> None:
    name, args = parse_command_text(text)
    assert isinstance(name, str)
    assert name == name.lower()
    assert all(isinstance(arg, str) for arg in args)


def test_never_raises_even_for_a_long_run_of_mentoring_words() -> None:
    # Python's default limit (1000) needs ~1000 words, and each level re-splits the whole
    # text (quadratic, ~9 s). Lowering the limit shows the same failure in a blink.
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    saved = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 150)
    try:
        parsed = parse_command_text("mentoring " * 300 + "join")
    finally:
        sys.setrecursionlimit(saved)
    assert parsed == ("join", ())


# Printable ASCII without the two whitespace characters shlex doesn't split on (\v, \f).
ASCII_CHARS = [c for c in string.printable if c not in "\x0b\x0c"]
ASCII_TEXT = st.text(alphabet=st.sampled_from(ASCII_CHARS), max_size=60)


@given(st.text(alphabet=st.sampled_from([c for c in ASCII_CHARS if c not in "'\"\\"])))
def test_name_has_no_whitespace_for_unquoted_ascii_text(text: str) -> None:
    name, _ = parse_command_text(text)
    assert not any(c.isspace() for c in name)


@given(st.text())
@example("pause\u00a0until 2027-01-10")
@example('"join now"')
def test_name_has_no_whitespace(text: str) -> None:
    name, _ = parse_command_text(text)
    assert not any(c.isspace() for c in name)


SAFE_WORDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,15}", fullmatch=True)


@given(name=st.sampled_from(COMMANDS), args=st.lists(SAFE_WORDS, max_size=6))
def test_round_trip_of_known_commands_and_safe_words(name: str, args: list[str]) -> None:
    assert parse_command_text(" ".join([name, *args])) == (name, tuple(args))


@given(
    alias=st.sampled_from(sorted(ALIASES)),
    args=st.lists(SAFE_WORDS, max_size=4),
    upper=st.booleans(),
)
def test_round_trip_through_an_alias(alias: str, args: list[str], upper: bool) -> None:
    typed = alias.upper() if upper else alias
    assert parse_command_text(" ".join([typed, *args])) == (ALIASES[alias], tuple(args))


@given(ASCII_TEXT)
@example('pause "until')
@example("/")
@example("mentoring join")
def test_prefixing_mentoring_changes_nothing(text: str) -> None:
    assert parse_command_text("/mentoring " + text) == parse_command_text(text)
    assert parse_command_text("mentoring " + text) == parse_command_text(text)


@given(st.text())
@example("\u00a0join")
def test_prefixing_mentoring_changes_nothing_for_any_text(text: str) -> None:
    assert parse_command_text("/mentoring " + text) == parse_command_text(text)


# --- the linear-time splitter (issue 16: shlex.split is quadratic on a long word) ----------


@given(st.text(alphabet="ab '\"\\", max_size=12))
@settings(max_examples=300, deadline=None)
def test_split_words_agrees_with_shlex_on_short_inputs(text: str) -> None:
    try:
        expected: list[str] | None = shlex.split(text)
    except ValueError:
        expected = None
    try:
        got: list[str] | None = split_words(text)
    except ValueError:
        got = None
    assert got == expected


def test_a_million_character_word_takes_under_100_ms_of_cpu() -> None:
    for text in ("goals add " + "x" * 1_000_000, 'goals add "' + "x" * 1_000_000):
        started = time.process_time()
        name, args = parse_command_text(text)
        assert time.process_time() - started < 0.1
        assert name == "goals"
        assert len(args[-1]) >= 1_000_000  # an unclosed quote is kept, as before
