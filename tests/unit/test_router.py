"""The route table: duplicates are refused at start-up, admin sub-commands resolve."""

from __future__ import annotations

from typing import Any

import pytest

from bot.commands import parse_command_text
from bot.errors import DuplicateRouteError
from bot.events import Actor, ButtonAction, Command, FormSubmission
from bot.messages import Say, say
from bot.router import Router
from bot.routes import build_router

ACTOR = Actor(platform="console", tenant="acme", user_id="ana")


async def first(event: Any, ctx: Any) -> Say:
    return say("first")


async def second(event: Any, ctx: Any) -> Say:
    return say("second")


def command(text: str) -> Command:
    name, args = parse_command_text(text)
    return Command(actor=ACTOR, name=name, args=args)


# --- duplicates -----------------------------------------------------------------------------


def test_duplicate_command_is_refused() -> None:
    router = Router()
    router.command("join", first)
    with pytest.raises(DuplicateRouteError, match="join"):
        router.command("join", second)
    assert router.commands["join"].handler is first


def test_duplicate_admin_command_is_refused() -> None:
    router = Router()
    router.admin("match", first)
    with pytest.raises(DuplicateRouteError, match="admin match"):
        router.admin("match", second)


def test_duplicate_button_is_refused() -> None:
    router = Router()
    router.button("goal.done", first)
    with pytest.raises(DuplicateRouteError, match=r"goal\.done"):
        router.button("goal.done", second, admin=True)


def test_duplicate_form_is_refused() -> None:
    router = Router()
    router.form("checkin", first)
    with pytest.raises(DuplicateRouteError, match="checkin"):
        router.form("checkin", second)


def test_the_same_name_in_different_tables_is_fine() -> None:
    router = Router()
    router.command("status", first)
    router.admin("status", second)
    router.button("status", first)
    router.form("status", second)
    assert router.commands["status"].handler is first
    assert router.admin_commands["status"].handler is second


# --- the real table ---------------------------------------------------------------------------


def test_build_router_builds_the_real_table() -> None:
    router = build_router()
    for name in ("join", "leave", "pause", "status", "help", "checkin", "goals", "end"):
        assert name in router.commands, name
        assert router.commands[name].admin is False
    for name in ("status", "audit", "program", "match", "digest"):
        assert router.admin_commands[name].admin is True, name
    assert router.buttons["match.approve"].admin is True
    assert router.forms["admin.program"].admin is True
    assert router.buttons["goal.done"].admin is False


def test_admin_match_approve_resolves_to_the_admin_route_without_the_admin_word() -> None:
    router = build_router()
    route, event = router.resolve(command("admin match approve"))
    assert route is router.admin_commands["match"]
    assert route is not None
    assert route.admin is True
    assert route.name == "admin match"
    assert isinstance(event, Command)
    assert event.args == ("approve",)
    assert event.name == "admin match"
    assert event.actor == ACTOR


def test_admin_sub_command_is_case_insensitive() -> None:
    router = build_router()
    route, event = router.resolve(command("/mentoring ADMIN Match approve 3"))
    assert route is router.admin_commands["match"]
    assert event.args == ("approve", "3")


def test_plain_command_resolves_with_its_event_unchanged() -> None:
    router = build_router()
    event = command("pause until 2027-01-10")
    route, resolved = router.resolve(event)
    assert route is router.commands["pause"]
    assert resolved is event


@pytest.mark.parametrize("text", ["frobnicate", "admin frobnicate", "admin", "admin join"])
def test_unknown_commands_resolve_to_none(text: str) -> None:
    route, _ = build_router().resolve(command(text))
    assert route is None


def test_unknown_button_and_form_resolve_to_none() -> None:
    router = build_router()
    assert router.resolve(ButtonAction(actor=ACTOR, action_id="nope"))[0] is None
    assert router.resolve(FormSubmission(actor=ACTOR, form_id="nope"))[0] is None


def test_known_button_and_form_resolve() -> None:
    router = build_router()
    assert (
        router.resolve(ButtonAction(actor=ACTOR, action_id="goal.done"))[0]
        is (router.buttons["goal.done"])
    )
    assert (
        router.resolve(FormSubmission(actor=ACTOR, form_id="checkin"))[0]
        is (router.forms["checkin"])
    )
