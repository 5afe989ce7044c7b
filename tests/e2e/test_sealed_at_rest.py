"""Every answer is sealed at rest: after a program's run (joins, check-ins, a readiness pulse,
reviews), nothing anybody answered can be read from the database's own bytes. On SQLite
that is the file and its WAL; on PostgreSQL every table's pages (and TOAST), after a
CHECKPOINT, as a DBA or a file-level backup would read them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlmodel import SQLModel

from adapters.console.adapter import ConsoleAdapter
from adapters.console.harness import ConsoleSession
from bot.app import App, build_app
from bot.clock import FrozenClock
from bot.settings import load_settings
from tests.conftest import ADMIN
from tests.helpers import matched, opened_checkins, opened_reviews, pilot
from tests.pg import fresh_schema, table_pages


# What the stored answers would look like in the clear: a JSON document's keys with their
# values (compact or spaced: a published digest names its figures "themes", "again", … as
# values, which is fine), theme ids and who-led values as JSON strings, and the readiness
# questions' ids (before the pulse closes: its published totals are aggregates).
def _keyed(*keys: str) -> tuple[bytes, ...]:
    return tuple(f'"{key}"{sep}'.encode() for key in keys for sep in (":", ": "))


CHECKIN_MARKERS = (
    *_keyed("met", "rating", "themes", "energy", "lead"),
    b'"psychological_safety"',
    b'"power_dynamics"',
    b'"unclear_goals"',
    b'"senior"',
)
REVIEW_MARKERS = _keyed("confidence_before", "confidence_now", "again")
READINESS_MARKERS = (b"leaders_listen", b"safe_to_speak", b"time_given", b'"sponsor"')
THEMES = ["power_dynamics", "psychological_safety", "unclear_goals"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def app(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock, console: ConsoleAdapter
) -> AsyncIterator[App]:
    """Overrides conftest's `app`: the same program on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        async for application in _app(f"sqlite+aiosqlite:///{tmp_path / 'u.db'}", clock, console):
            yield application
        return
    async with fresh_schema() as pg:
        async for application in _app(pg.url, clock, console):
            yield application


async def _app(url: str, clock: FrozenClock, console: ConsoleAdapter) -> AsyncIterator[App]:
    settings = load_settings(
        database_url=url,
        encryption_keys=[Fernet.generate_key().decode()],
        admins=[f"console:acme:{ADMIN}"],
        admin_channels=["console:acme:mentoring-admins"],
    )
    application = build_app(settings, clock=clock, adapters={"console": console})
    try:
        await application.db.create_all()
        yield application
    finally:
        await application.close()


async def raw_bytes(app: App) -> bytes:
    path = app.db.sqlite_path
    if path is not None:
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    return await table_pages(app.db, sorted(SQLModel.metadata.tables))


def readable(found: bytes, markers: tuple[bytes, ...]) -> list[bytes]:
    return [marker for marker in markers if marker in found]


async def press_and_submit(session: ConsoleSession, console: ConsoleAdapter, action: str, answers):  # type: ignore[no-untyped-def]
    answered = 0
    for user, buttons in list(console.buttons.items()):
        for button in buttons:
            if button.action_id == action:
                await session.press(user, button.label)
                await session.submit(user, answers(user))
                console.buttons[user] = ()
                answered += 1
                break
    return answered


async def test_no_answer_can_be_read_from_the_database_files(
    app: App, session: ConsoleSession, program: int, clock: FrozenClock, console: ConsoleAdapter
) -> None:
    await pilot(session, app)
    await matched(session, app)
    clock.advance(timedelta(days=15))  # a week after the first prompt: check-ins
    await app.engine.tick()
    checked_in = await press_and_submit(
        session,
        console,
        "checkin.open",
        lambda user: {
            "met": "yes",
            "rating": "2",
            "themes": THEMES,
            "energy": "5",
            "lead": "senior",
            "note": "",
        },
    )
    assert checked_in == 6

    # A readiness pulse to everyone, answered by five, not yet closed.
    await session.say(ADMIN, "admin readiness new")
    closes = (clock.now() + timedelta(days=3)).date().isoformat()
    await session.submit(ADMIN, {"audience": "everyone", "closes": closes})
    await app.engine.dispatch()
    for user in ("ann", "bob", "cat", "sam", "tom"):
        await session.press(user, "Answer anonymously")
        replies = await session.submit(
            user,
            {"leaders_listen": "2", "safe_to_speak": "1", "time_given": "5", "sponsor": "unsure"},
        )
        assert replies
    async with app.db.session() as s:
        from storage.repositories import Repositories

        tallies = await Repositories(s, app.engine.cipher).readiness.tallies(1)
    assert tallies["sponsor"]["unsure"] == 5  # counted, and readable with the key

    found = await raw_bytes(app)
    assert readable(found, CHECKIN_MARKERS + READINESS_MARKERS) == []

    # On to the midpoint reviews.
    reviewed = 0
    for _ in range(16):
        clock.advance(timedelta(days=7))
        await app.engine.tick()
        reviewed += await press_and_submit(
            session,
            console,
            "review.open",
            lambda user: {
                "confidence_before": "1",
                "confidence_now": "5",
                "again": "no",
                "changed": "",
            },
        )
    assert reviewed >= 6

    # Readable with the key, through the repositories, as the flows read them.
    checkins = await opened_checkins(app)
    assert len(checkins) == 6 and all(c.themes == THEMES and c.lead == "senior" for c in checkins)
    reviews = await opened_reviews(app)
    assert reviews and all((r.confidence_before, r.again) == (1, False) for r in reviews)

    # Not without it. (The pulse has closed by now: its published totals are aggregates.)
    found = await raw_bytes(app)
    assert readable(found, CHECKIN_MARKERS + REVIEW_MARKERS) == []
