"""Crash safety: several dispatcher processes on PostgreSQL fan out to the loopback Slack,
are killed with SIGKILL at random moments and restarted; afterwards every message has
been delivered exactly once. Slack answers slowly on purpose (it records the message, then
waits), so kills land both before a message reaches Slack and after Slack has it but
before the dispatcher could record that: the outbox key in the message metadata lets the
next dispatcher reconcile instead of posting again."""

from __future__ import annotations

import asyncio
import random
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlmodel import select

from bot.app import App, build_app
from bot.events import Actor
from bot.messages import Message, Text, ToPerson
from bot.settings import load_settings
from storage.migrate import upgrade_async
from storage.models import OutboxItem
from tests.fakes.slack_api import FakeSlack
from tests.pg import fresh_schema

pytestmark = pytest.mark.postgres
UPWARD = str(Path(sys.executable).with_name("upward"))
PEOPLE = [f"U{n:04d}" for n in range(1, 41)]
WORKERS = 3


async def test_killed_dispatchers_deliver_everything_exactly_once() -> None:
    rng = random.Random(20271)
    key = Fernet.generate_key().decode()
    async with fresh_schema() as pg, FakeSlack(token="xoxb-crash") as slack:
        for user in PEOPLE:
            slack.add_user(user, user.lower(), user)
        slack.slow_answers("chat.postMessage", 0.15)
        await upgrade_async(pg.url)
        env = slack.upward_env(pg.url, key, "s" * 32, UPWARD_OUTBOX_LEASE_SECONDS="1")
        settings = load_settings(
            database_url=pg.url,
            encryption_keys=[key],
            slack_bot_token="xoxb-crash",
            slack_signing_secret="s" * 32,
            slack_api_url=slack.base_url,
        )
        app = build_app(settings)
        try:
            await crash_and_restart(app, slack, env, rng)
        finally:
            await app.close()


async def crash_and_restart(
    app: App, slack: FakeSlack, env: dict[str, str], rng: random.Random
) -> None:
    async def fan_out(ctx):  # type: ignore[no-untyped-def]
        for user in PEOPLE:
            actor = Actor(platform="slack", tenant="T0001", user_id=user)
            message = Message(summary=f"prompt for {user}", blocks=(Text(text=user),))
            await ctx.send(f"prompt:{user}", ToPerson(person=actor), message)

    await app.engine.run(fan_out)

    async def all_sent() -> bool:
        async with app.db.session() as s:
            items = (await s.exec(select(OutboxItem))).all()
        return all(i.status == "sent" for i in items)

    running: list[asyncio.subprocess.Process] = []
    kills, deadline = 0, time.monotonic() + 120
    try:
        while not await all_sent():
            assert time.monotonic() < deadline, "the fan-out never completed"
            running = [p for p in running if p.returncode is None]
            while len(running) < WORKERS:
                running.append(
                    await asyncio.create_subprocess_exec(
                        UPWARD,
                        "dispatch",
                        "--until-empty",
                        env=env,
                        stdout=asyncio.subprocess.DEVNULL,
                        stderr=asyncio.subprocess.DEVNULL,
                    )
                )
            await asyncio.sleep(rng.uniform(0.3, 1.2))
            # A dispatcher that ran out of work has exited on its own: only a live one dies.
            alive = [p for p in running if p.returncode is None]
            if kills < 12 and alive:
                victim = rng.choice(alive)
                victim.send_signal(signal.SIGKILL)
                await victim.wait()
                kills += 1
        for process in running:
            await asyncio.wait_for(process.wait(), 60)
    finally:  # a failed check must not leave dispatchers running into the next test
        for process in running:
            if process.returncode is None:
                process.kill()
                await process.wait()

    delivered = Counter(m["channel"] for m in slack.messages)
    assert kills >= 3, "the test must actually kill dispatchers mid-fan-out"
    assert sorted(delivered) == sorted(slack.dm_id(u) for u in PEOPLE), "none lost"
    assert set(delivered.values()) == {1}, f"sent twice: {delivered}"
