"""A readiness pulse to 10,000 people (issue 16, "An ack that waits for the work"): the
admin's form is answered while the database's write lock is held elsewhere, i.e. before
any per-person work, and the invitations are queued after it, exactly once, on Slack and
on Teams."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import func, insert
from sqlmodel import select

from bot.app import App
from storage.models import OutboxItem, Person, ReadinessPulse
from tests.e2e import test_slack, test_teams
from tests.e2e.slack_world import TEAM, SlackWorld, flatten, until
from tests.e2e.teams_world import TENANT, TeamsWorld, settle

world = test_slack.world
teams_world = test_teams.world
PEOPLE = 10_000
CLOSES = "2027-01-18"


async def add_people(app: App, platform: str, tenant: str) -> None:
    rows = [
        {"platform": platform, "tenant": tenant, "user_id": f"U{n:07d}", "display_name": f"P{n}"}
        for n in range(PEOPLE)
    ]
    async with app.db.engine.begin() as connection:
        await connection.execute(insert(Person), rows)


async def invitations(app: App) -> int:
    async with app.db.read_session() as session:
        query = (
            select(func.count()).select_from(OutboxItem).where(OutboxItem.key.like("readiness:%"))
        )  # type: ignore[attr-defined]
        return (await session.exec(query)).one()


async def pulses(app: App) -> int:
    async with app.db.read_session() as session:
        return len((await session.exec(select(ReadinessPulse))).all())


@contextlib.contextmanager
def write_lock(path: Path | None) -> Iterator[None]:
    """Another connection holds SQLite's write lock (as a tick or a dispatch would)."""
    assert path is not None
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")


async def test_slack_acks_the_pulse_first_and_invites_everyone_once(world: SlackWorld) -> None:
    admin = test_slack.ADMIN
    await add_people(world.app, "slack", TEAM)
    trigger, _ = await world.slash(admin, "admin readiness")
    modal = await world.opened_modal(trigger)
    await settle()  # the tick `upward serve` starts with
    answers = {"audience": "everyone", "closes": CLOSES}
    with write_lock(world.app.db.sqlite_path):
        started = time.monotonic()
        response = await world.submit(admin, modal, answers)
        acked_in = time.monotonic() - started
        assert response.status == 200 and acked_in < 3.0
        assert await invitations(world.app) == 0  # acked before any per-person work
    assert world.app.slack is not None
    await world.app.slack.after_ack.idle()
    assert await invitations(world.app) == PEOPLE
    await until(lambda: any("Asked 10000" in flatten(m) for m in world.messages_to(admin)))
    # Slack retries a submission it thinks failed: the same view, answered, done once
    assert (await world.submit(admin, modal, answers)).status == 200
    await world.app.slack.after_ack.idle()
    assert await invitations(world.app) == PEOPLE and await pulses(world.app) == 1


async def test_teams_answers_the_pulse_turn_first_and_invites_everyone_once(
    teams_world: TeamsWorld,
) -> None:
    world, admin = teams_world, test_teams.ADMIN
    await add_people(world.app, "teams", TENANT)
    await world.say(admin, "admin readiness")
    form = world.last_form(admin)
    await settle()  # the tick `upward serve` starts with
    answers = {"audience": "everyone", "closes": CLOSES}
    with write_lock(world.app.db.sqlite_path):
        started = time.monotonic()
        response = await world.submit(admin, form, answers, wait=False)
        assert response.status in (200, 201) and time.monotonic() - started < 3.0
        assert await invitations(world.app) == 0
    assert world.app.teams is not None
    await world.app.teams.after_ack.idle()
    assert await invitations(world.app) == PEOPLE
    assert "Asked 10000" in world.texts_to(admin.chat)
    await world.submit(admin, form, answers)  # the same card again: a replay
    assert await invitations(world.app) == PEOPLE and await pulses(world.app) == 1
    assert "already sent" in world.texts_to(admin.chat)
