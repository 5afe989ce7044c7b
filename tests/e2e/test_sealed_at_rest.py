"""Every answer is sealed at rest: after a program's run (joins, check-ins, a readiness pulse,
reviews), nothing anybody answered can be read from the database's own bytes. On SQLite
that is the file and its WAL; on PostgreSQL every table's pages (and TOAST), after a
CHECKPOINT, as a DBA or a file-level backup would read them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlmodel import SQLModel

from adapters.console.adapter import ConsoleAdapter
from adapters.console.harness import ConsoleSession
from bot.app import App, build_app
from bot.clock import FrozenClock
from bot.settings import load_settings
from storage.crypto import Cipher
from storage.db import Database
from storage.models import ReadinessPulse
from storage.repositories import Repositories
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


@pytest.mark.postgres
async def test_answers_at_the_same_moment_are_all_counted_in_the_sealed_tally() -> None:
    """Each answer reads, counts and reseals the pulse's one document: on PostgreSQL, where
    answers really run at once, none may overwrite another."""
    async with fresh_schema() as pg:
        await _answer_at_once(pg.database())


async def _answer_at_once(db: Database) -> None:
    cipher = Cipher([Fernet.generate_key().decode()])
    now = datetime(2027, 1, 4, 9, tzinfo=UTC)
    people = [("console", "acme", f"u{i}") for i in range(8)]
    try:
        await db.create_all()
        async with db.session() as s:
            pulse = ReadinessPulse(
                platform="console", tenant="acme", created_by="x", created_at=now,
                closes_at=now + timedelta(days=3),
            )  # fmt: skip
            await Repositories(s, cipher).readiness.create(
                pulse, people, [("sponsor", "yes"), ("sponsor", "no")]
            )
            await s.commit()
            pulse_id = pulse.id

        async def answer(user_id: str, said: str) -> bool:
            async with db.session() as s:
                repos = Repositories(s, cipher)
                invite = await repos.readiness.invite(pulse_id, "console", "acme", user_id)  # type: ignore[arg-type]
                assert invite is not None
                counted = await repos.readiness.answer(invite, {"sponsor": said}, now=now)
                await s.commit()
                return counted

        said = ["yes" if i % 3 else "no" for i in range(len(people))]
        results = await asyncio.gather(
            *(answer(p[2], a) for p, a in zip(people, said, strict=True))
        )
        assert all(results)
        async with db.session() as s:
            tallies = await Repositories(s, cipher).readiness.tallies(pulse_id)  # type: ignore[arg-type]
        assert tallies == {"sponsor": {"yes": said.count("yes"), "no": said.count("no")}}
    finally:
        await db.dispose()
