"""`upward dispatch` as an operator runs it: a real process, a real SQLite file, and the
loopback Slack Web API it sends to."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlmodel import select

from bot.app import App, build_app
from bot.events import Actor
from bot.messages import Message, Text, ToPerson
from bot.settings import load_settings
from flows.context import FlowContext
from storage.migrate import upgrade_async
from storage.models import Sender
from tests.e2e.slack_world import until
from tests.fakes.slack_api import FakeSlack

UPWARD = str(Path(sys.executable).with_name("upward"))
TOKEN = "xoxb-test"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
PEOPLE = ("U0AMY", "U0BEN", "U0CAT")


@dataclass
class Outside:
    """The database and Slack as a dispatcher process sees them."""

    slack: FakeSlack
    app: App
    env: dict[str, str]

    async def queue(self, *users: str) -> None:
        async def send(ctx: FlowContext) -> None:
            for user in users:
                person = Actor(platform="slack", tenant="T0001", user_id=user)
                message = Message(summary="A prompt", blocks=(Text(text="What surprised you?"),))
                await ctx.send(f"test:prompt:{user}", ToPerson(person=person), message)

        await self.app.engine.run(send)

    async def dispatch(self, *args: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            UPWARD,
            "dispatch",
            *args,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    async def senders(self) -> list[Sender]:
        async with self.app.db.session() as session:
            return list((await session.exec(select(Sender))).all())

    async def counts(self) -> dict[str, int]:
        return await self.app.engine.run(lambda ctx: ctx.repos.outbox.counts())


@pytest.fixture
async def outside(tmp_path: Path) -> AsyncIterator[Outside]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'upward.db'}"
    await upgrade_async(url)
    key = Fernet.generate_key().decode()
    async with FakeSlack(token=TOKEN) as slack:
        for user in PEOPLE:
            slack.add_user(user, user.lower(), f"Person {user}")
        settings = load_settings(
            database_url=url,
            encryption_keys=[key],
            slack_bot_token=TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=slack.base_url,
            slack_pacing_seconds=0,
        )
        app = build_app(settings)
        env = slack.upward_env(url, key, SECRET)
        try:
            yield Outside(slack, app, env)
        finally:
            await app.close()


async def finished(process: asyncio.subprocess.Process, within: float = 60) -> str:
    stdout, stderr = await asyncio.wait_for(process.communicate(), within)
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


async def test_until_empty_waits_out_a_retry_after_instead_of_leaving_messages_held(
    outside: Outside,
) -> None:
    await outside.queue(*PEOPLE)
    outside.slack.fail("chat.postMessage", retry_after=1)

    output = await finished(await outside.dispatch("--until-empty", "--wait", "10"))

    assert "Sent 3" in output
    assert await outside.counts() == {"sent": 3}
    assert await outside.senders() == []  # it took a share of the rate, and gave it back
    assert {m["channel"] for m in outside.slack.messages} == {
        outside.slack.dm_id(user) for user in PEOPLE
    }


async def test_until_empty_stops_rather_than_wait_longer_than_asked(outside: Outside) -> None:
    await outside.queue(PEOPLE[0])
    outside.slack.fail("chat.postMessage", retry_after=30)

    output = await finished(await outside.dispatch("--until-empty", "--wait", "1"))

    assert "Sent 0, retrying 1" in output
    assert await outside.counts() == {"pending": 1}


async def test_follow_says_when_it_is_ready_sends_what_falls_due_and_stops_on_sigterm(
    outside: Outside, tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    process = await outside.dispatch("--follow", "--ready-file", str(ready))
    try:
        await until(ready.exists, within=60)
        await outside.queue(PEOPLE[0])
        await until(lambda: len(outside.slack.messages) == 1, within=10)
        await outside.queue(PEOPLE[1])
        await until(lambda: len(outside.slack.messages) == 2, within=10)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    output = await finished(process)

    assert "Sent 2" in output
    assert await outside.counts() == {"sent": 2}


async def test_dispatch_does_not_load_the_matching_solver_nor_the_teams_sdk(
    outside: Outside,
) -> None:
    await outside.queue(PEOPLE[0])
    probe = (
        "import sys\n"
        "from bot.cli import cli\n"
        "try:\n"
        "    cli(['dispatch'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(sorted(m for m in ('scipy', 'numpy', 'botbuilder') if m in sys.modules))\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        probe,
        env=outside.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output = await finished(process)

    assert "Sent 1" in output
    assert output.strip().endswith("[]")
