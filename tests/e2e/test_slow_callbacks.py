"""No request holds the event loop for more than 100 ms (issue 16, "A stall"): the e2e
requests (a program's first steps in Slack and Teams, and the hostile ones that stalled
before: a 1,000,000-character word, bodies nested 10,000 deep) run with asyncio's debug
mode and `loop.slow_callback_duration = 0.1`, and any callback over it fails the test.

A callback's hold is counted in the CPU time of the loop's thread: wall-clock time would
also count the moments the OS gave the CPU to other processes (the machine is shared)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e import test_slack, test_teams
from tests.e2e.slack_world import TEAM, SlackWorld, buttons
from tests.e2e.teams_world import TeamsWorld
from tests.fakes.slack_api import event_body, slash_command_body

world = test_slack.world
teams_world = test_teams.world
LIMIT = 0.1  # seconds


class Holds:
    """Every callback the loop ran that held it longer than LIMIT of CPU time."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.original = asyncio.events.Handle._run

    def _run(self, handle: asyncio.Handle) -> None:
        started = time.thread_time()
        try:
            self.original(handle)
        finally:
            held = time.thread_time() - started
            if held > LIMIT:
                owner = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
                what = owner if isinstance(owner, asyncio.Task) else handle
                self.found.append(f"{held * 1000:.0f} ms: {what!r}"[:400])


@pytest.fixture
def holds(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[Holds]:
    found = Holds()
    monkeypatch.setattr(asyncio.events.Handle, "_run", lambda h: found._run(h))
    caplog.set_level(logging.WARNING, logger="asyncio")
    yield found


def watch() -> None:
    loop = asyncio.get_running_loop()
    loop.set_debug(True)  # asyncio logs each callback over slow_callback_duration, by wall time
    loop.slow_callback_duration = LIMIT


async def test_slack_requests_never_hold_the_loop(world: SlackWorld, holds: Holds) -> None:
    watch()
    await test_slack.pair_up(world)
    world.clock.advance(timedelta(days=15))
    await world.app.engine.tick()
    [invite] = [m for m in world.messages_to("U0AMY") if "private check-in" in m["text"]]
    modal = await world.opened_modal(await world.press("U0AMY", buttons(invite)[0]))
    assert (await world.submit("U0AMY", modal, {"met": "yes", "rating": "4"})).status == 200
    for text in ("status", "goals", "help", "goals add " + "x" * 1_000_000):
        await world.slash("U0AMY", text)
    deep = "[" * 10_000 + "]" * 10_000
    body = json.dumps(event_body({"type": "app_home_opened"}, team_id=TEAM, event_id="Ev9"))
    assert (
        await world.post(body[:-1] + ', "x": ' + deep + "}", content_type="application/json")
    ).status == 400
    word = slash_command_body(
        text="goals add " + "y" * 1_000_000,
        user_id="U0AMY",
        team_id=TEAM,
        trigger_id="9.9.t",
        response_url=world.slack.response_url("r9"),
    )
    assert (await world.post(word)).status == 200
    await world.app.engine.dispatch()
    assert holds.found == []


async def test_teams_requests_never_hold_the_loop(teams_world: TeamsWorld, holds: Holds) -> None:
    watch()
    await test_teams.pair_up(teams_world)
    # Teams caps a message at about 28 KB (and /api/messages takes 256 KB)
    for text in ("status", "goals", "help", "goals add " + "x" * 50_000):
        await teams_world.say(test_teams.MENTORS[0], text)
    deep: Any = "[" * 10_000 + "]" * 10_000
    activity = teams_world.activity(test_teams.MENTORS[0], text="help")
    raw = json.dumps(activity)[:-1] + ', "value": ' + deep + "}"
    response = await teams_world.client.post(
        "/api/messages", data=raw.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    await teams_world.app.engine.dispatch()
    assert holds.found == []
