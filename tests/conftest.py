"""Shared fixtures: a real SQLite file per test, a frozen clock, and the console harness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.console.adapter import ConsoleAdapter
from adapters.console.harness import ConsoleSession
from bot.app import App, build_app
from bot.clock import FrozenClock
from bot.settings import load_settings
from flows.programs import SAMPLE_PROGRAM, read_program_file, save_program

# A Monday morning in London (UTC in winter): inside everyone's working hours.
START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
ADMIN = "boss"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def console() -> ConsoleAdapter:
    return ConsoleAdapter(tenant="acme", echo=None)


@pytest.fixture
async def app(tmp_path: Path, clock: FrozenClock, console: ConsoleAdapter) -> AsyncIterator[App]:
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'upward.db'}",
        admins=[f"console:acme:{ADMIN}"],
        admin_channels=["console:acme:mentoring-admins"],
    )
    application = build_app(settings, clock=clock, adapters={"console": console})
    await application.db.create_all()
    yield application
    await application.close()


@pytest.fixture
async def session(app: App, console: ConsoleAdapter) -> ConsoleSession:
    return ConsoleSession(engine=app.engine, adapter=console, tenant="acme")


@pytest.fixture
async def program(app: App, clock: FrozenClock) -> int:
    saved, _ = await app.engine.run(
        lambda ctx: save_program(ctx, read_program_file(SAMPLE_PROGRAM))
    )
    return saved.id  # type: ignore[return-value]
