"""Help names every command there is, and an unknown one says what was not understood."""

from __future__ import annotations

from bot.events import Actor, Command
from bot.routes import build_router
from flows import copy

PERSON = Actor(platform="console", tenant="acme", user_id="ann")


def test_help_lists_every_command_and_every_admin_command() -> None:
    router = build_router()
    listed = {cmd.split()[0] for cmd, _ in copy.HELP_LINES}
    assert set(router.commands) <= listed, set(router.commands) - listed
    admin = {cmd.split()[1] for cmd, _ in copy.ADMIN_HELP_LINES}
    assert set(router.admin_commands) <= admin, set(router.admin_commands) - admin


def test_an_unknown_admin_command_is_named_and_answered_with_the_admin_list() -> None:
    event = Command(actor=PERSON, name="admin frobnicate", args=())
    text = str(copy.unknown(event, admin=True).message)
    assert "admin command `frobnicate`" in text and "admin readiness" in text
    assert "only program admins" in str(copy.unknown(event, admin=False).message)
    plain = str(copy.unknown(Command(actor=PERSON, name="frob", args=()), admin=False).message)
    assert "command `frob`" in plain and "admin match" not in plain
