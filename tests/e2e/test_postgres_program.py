"""The same engine on PostgreSQL: a short program from opt-in to the first check-in.

Each test runs in its own schema (see tests/pg.py); the app reaches it through nothing but
`Settings.database_url`, exactly as `upward serve` would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, text
from sqlmodel import select

from adapters.console.adapter import ConsoleAdapter
from adapters.console.harness import ConsoleSession
from bot.app import App, build_app
from bot.clock import FrozenClock
from bot.commands import parse_command_text
from bot.events import Actor, Command, FormSubmission
from bot.messages import Message, Say, ShowForm, ToChannel, ToPair, ToPerson
from bot.ports import Capabilities, Receipt
from bot.settings import load_settings
from flows import circles
from flows.context import FlowContext
from storage.models import (
    AcceptedForm,
    AuditEntry,
    CheckIn,
    OutboxItem,
    Pair,
    Participant,
    ProcessedEvent,
)
from storage.repositories import Repositories
from tests.conftest import ADMIN
from tests.helpers import JOIN_DEFAULTS, join, matched, pilot, text_of
from tests.pg import fresh_schema

pytestmark = pytest.mark.postgres

MENTORS = ("amara", "ben")
MENTEES = ("victor", "wendy")
EVERYONE = MENTORS + MENTEES


@pytest.fixture
async def app(clock: FrozenClock, console: ConsoleAdapter) -> AsyncIterator[App]:
    """Overrides the SQLite `app` of conftest (so its `session` and `program` run here)."""
    async with fresh_schema() as pg:
        settings = load_settings(
            database_url=pg.url,
            encryption_keys=[Fernet.generate_key().decode()],
            admins=[f"console:acme:{ADMIN}"],
            admin_channels=["console:acme:mentoring-admins"],
        )
        application = build_app(settings, clock=clock, adapters={"console": console})
        try:
            async with application.db.engine.connect() as conn:
                assert (await conn.execute(text("SELECT current_schema()"))).scalar() == pg.schema
            await application.db.create_all()
            yield application
        finally:
            await application.close()


async def count(app: App, model: Any, *where: Any) -> int:
    async with app.db.session() as s:
        return (await s.exec(select(func.count()).select_from(model).where(*where))).one()


def seen(console: ConsoleAdapter, user: str, summary_part: str) -> list[str]:
    return [d.message.summary for d in console.seen_by(user) if summary_part in d.message.summary]


def command(user: str, line: str, event_id: str) -> Command:
    name, args = parse_command_text(line)
    actor = Actor(platform="console", tenant="acme", user_id=user)
    return Command(actor=actor, name=name, args=args, event_id=event_id)


async def start_pairs(session: ConsoleSession, app: App) -> None:
    for user in MENTORS:
        assert "Welcome to" in text_of(await join(session, user))
    for user in MENTEES:
        replies = await join(
            session, user, role="mentee", offers=["career_growth"], wants=["ai_tools"]
        )
        assert "Welcome to" in text_of(replies)
    assert "Proposed 2 pairs" in text_of(await session.say(ADMIN, "/mentoring admin match 7"))
    assert "2 pairs introduced" in text_of(
        await session.say(ADMIN, "/mentoring admin match approve")
    )


async def test_a_short_program_runs_on_postgres(
    app: App,
    session: ConsoleSession,
    program: int,
    clock: FrozenClock,
    console: ConsoleAdapter,
) -> None:
    await start_pairs(session, app)
    assert await count(app, Pair, Pair.status == "active") == 2

    # Introductions go out at once (Monday 09:00 in London).
    report = await app.engine.dispatch()
    assert (report.sent, report.failed) == (2, 0)  # one group DM per pair
    for user in EVERYONE:
        assert len(seen(console, user, "Meet your mentoring partner")) == 1, user

    # A week later cycle 1 starts: each pair gets its conversation starter.
    clock.advance(timedelta(days=7))
    report = await app.engine.tick()
    assert report.queued["prompts"] == 2
    assert report.dispatched.sent == 2
    for user in EVERYONE:
        assert len(seen(console, user, "Conversation starter for month 1")) == 1, user

    # Another week: a private check-in for each partner, separately.
    clock.advance(timedelta(days=7))
    report = await app.engine.tick()
    assert report.queued["checkins"] == 4
    assert report.dispatched.sent == 4
    for user in EVERYONE:
        [invite] = [d for d in console.seen_by(user) if "private check-in" in d.message.summary]
        assert invite.where == f"DM to @{user}"

    # A second tick at the same moment (a retry, or a second replica) queues nothing new:
    # the check-in keys hit the unique constraint (INSERT … ON CONFLICT DO NOTHING).
    delivered, queued = len(console.delivered), await count(app, OutboxItem)
    report = await app.engine.tick()
    assert sum(report.queued.values()) == 0, report.queued
    assert report.dispatched.sent == 0
    assert (len(console.delivered), await count(app, OutboxItem)) == (delivered, queued)
    assert await count(app, OutboxItem, OutboxItem.status != "sent") == 0

    # One partner checks in; the note is stored encrypted and only for them.
    replies = await session.press("ben", "Check in privately")
    assert any(isinstance(r, ShowForm) and r.form.form_id == "checkin" for r in replies)
    note = "Told the VP the rollout confused customers."
    answers = {"met": "yes", "rating": "4", "themes": ["new_perspective"], "energy": "2"}
    replies = await session.submit("ben", {**answers, "note": note})
    assert "This check-in is yours alone" in text_of(replies)
    async with app.db.session() as s:
        [checkin] = await Repositories(s, app.engine.cipher).checkins.for_pairs(
            [p.id for p in (await s.exec(select(Pair))).all()]
        )
        [row] = (await s.exec(select(CheckIn))).all()
    assert (checkin.cycle, checkin.met, checkin.rating) == (1, True, 4)
    assert checkin.themes == ["new_perspective"] and "new_perspective" not in row.answers_enc
    assert checkin.note_enc and note not in checkin.note_enc
    assert app.engine.cipher.decrypt(checkin.note_enc, checkin.note_context) == note


async def test_an_event_id_is_processed_once(app: App, program: int) -> None:
    audited = await count(app, AuditEntry)
    event = command(ADMIN, "/mentoring admin status", event_id="E1")

    first = await app.engine.handle(event)
    again = await app.engine.handle(event)

    assert first and all(isinstance(r, Say) for r in first)
    assert again == []
    assert await count(app, AuditEntry) == audited + 1  # the admin action ran (and was logged) once
    assert await count(app, ProcessedEvent, ProcessedEvent.key == "console:E1") == 1


async def test_the_same_event_delivered_twice_at_once_is_processed_once(
    app: App, program: int
) -> None:
    """Two replicas receiving one platform retry: the second insert of the event id waits
    for the first transaction, then finds the row and does nothing."""
    audited = await count(app, AuditEntry)
    event = command(ADMIN, "/mentoring admin status", event_id="E2")

    results = await asyncio.gather(app.engine.handle(event), app.engine.handle(event))

    assert sorted(bool(r) for r in results) == [False, True]
    assert await count(app, AuditEntry) == audited + 1


@dataclass
class AnotherReplicaCutsIn:
    """An adapter whose first send waits while another replica runs a whole dispatch."""

    inner: ConsoleAdapter
    other_replica: Callable[[], Awaitable[object]]
    platform: str = "console"
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(group_dm=True))
    _cut_in: bool = False

    async def deliver(
        self, address: ToPerson | ToPair | ToChannel, message: Message, *, key: str
    ) -> Receipt:
        if not self._cut_in:
            self._cut_in = True
            await self.other_replica()
        return await self.inner.deliver(address, message, key=key)


async def test_two_replicas_dispatching_at_once_send_each_message_once(
    app: App, session: ConsoleSession, program: int, clock: FrozenClock, console: ConsoleAdapter
) -> None:
    await start_pairs(session, app)  # two introductions are now queued
    second_console = ConsoleAdapter(tenant="acme", echo=None)
    adapter = AnotherReplicaCutsIn(second_console, other_replica=app.engine.dispatch)
    replica = build_app(app.settings, clock=clock, adapters={"console": adapter})
    try:
        await replica.engine.dispatch()
    finally:
        await replica.close()

    for user in EVERYONE:
        intros = seen(console, user, "Meet your mentoring partner") + seen(
            second_console, user, "Meet your mentoring partner"
        )
        assert len(intros) == 1, (user, intros)


# --- mentor circles: a join and the tick that forms the circles, at the same moment -------


@contextlib.asynccontextmanager
async def circle_join_under_way(
    app: App, user: str, now: datetime
) -> AsyncIterator[tuple[Say, Callable[[], Awaitable[None]]]]:
    """`user` says `circle` at `now` in a transaction left open: its answer, and its commit."""
    async with app.db.session() as s:
        ctx = FlowContext(Repositories(s, app.engine.cipher), now, app.engine.policy)
        answer = await circles.circle_command(command(user, "circle", f"circle-{user}"), ctx)
        yield answer, s.commit


async def circles_pilot(session: ConsoleSession, app: App) -> None:
    await pilot(session, app)
    await matched(session, app)
    await app.engine.tick()  # this month's invitations
    assert "You're in" in text_of(await session.press("bob", "Join this month's circle"))


def in_a_circle(console: ConsoleAdapter, user: str) -> bool:
    return any(d.message.summary.startswith("Your mentor circle") for d in console.seen_by(user))


async def test_the_forming_tick_waits_for_a_circle_join_under_way(
    session: ConsoleSession, program: int, app: App, clock: FrozenClock, console: ConsoleAdapter
) -> None:
    await circles_pilot(session, app)
    last_evening = clock.now() + timedelta(days=3, hours=14, minutes=59)  # the 7th, 23:59

    async with circle_join_under_way(app, "ann", last_evening) as (answer, commit):
        clock.advance(timedelta(days=4))  # the 8th: the next tick forms the circles
        forming = asyncio.ensure_future(app.engine.run(circles.due))
        await asyncio.sleep(0.5)
        assert not forming.done()  # it waits for ann's join to end
        await commit()
    await forming
    await app.engine.dispatch()

    assert "You're in" in text_of([answer])
    assert in_a_circle(console, "ann") and in_a_circle(console, "bob")


async def test_a_circle_join_after_the_circles_formed_is_told_so(
    session: ConsoleSession, program: int, app: App, clock: FrozenClock, console: ConsoleAdapter
) -> None:
    await circles_pilot(session, app)
    last_evening = clock.now() + timedelta(days=3, hours=14, minutes=59)
    clock.advance(timedelta(days=4))
    async with app.db.session() as s:  # the forming tick, not committed yet
        ctx = FlowContext(Repositories(s, app.engine.cipher), clock.now(), app.engine.policy)
        await circles.due(ctx)
        joining = asyncio.ensure_future(enter_and_answer(app, "ann", last_evening))
        await asyncio.sleep(0.5)
        assert not joining.done()  # it waits for the circles to be formed
        await s.commit()

    assert "have formed" in text_of([await joining])
    await app.engine.dispatch()
    assert not in_a_circle(console, "ann")


async def enter_and_answer(app: App, user: str, now: datetime) -> Say:
    async with circle_join_under_way(app, user, now) as (answer, commit):
        await commit()
    return answer


# --- a join acked, then the process dies before storing it ---------------------------------


async def acked_join(session: ConsoleSession, app: App, user: str, **answers: Any) -> Any:
    """What the Slack edge does up to the ack: the form, its read-only check (which keeps
    the answers on PostgreSQL), and nothing more, as if the process died right there."""
    await session.say(user, "/mentoring join")
    form = session.open_forms[user]
    event = FormSubmission(
        actor=session.actor(user),
        display_name=user.capitalize(),
        form_id=form.form_id,
        values={**JOIN_DEFAULTS, **answers},
        state=form.state,
        event_id=f"view:V{user}",
    )
    assert app.engine.acks_first(event)
    assert await app.engine.check(event) == []  # accepted: the platform is told so
    return event


async def test_a_join_acked_by_a_process_that_died_is_stored_by_a_later_tick(
    session: ConsoleSession, program: int, app: App, clock: FrozenClock, console: ConsoleAdapter
) -> None:
    await acked_join(session, app, "amara")
    async with app.db.session() as s:
        [kept] = (await s.exec(select(AcceptedForm))).all()
    assert '"ai_tools"' not in kept.answers_enc  # sealed at rest
    assert await count(app, Participant) == 0

    await app.engine.tick()  # moments later: its own process may still be storing it
    assert await count(app, Participant) == 0
    clock.advance(timedelta(minutes=3))
    await app.engine.tick()
    await app.engine.tick()

    [amara] = await app.engine.run(lambda ctx: ctx.repos.participants.in_program(program))
    assert amara.user_id == "amara" and amara.status == "active"
    assert await count(app, AcceptedForm) == 0
    assert len(seen(console, "amara", "Welcome to")) == 1  # told once, through the outbox


async def test_the_process_that_acked_a_join_and_the_recovery_store_it_once(
    session: ConsoleSession, program: int, app: App, clock: FrozenClock, console: ConsoleAdapter
) -> None:
    event = await acked_join(session, app, "amara")
    clock.advance(timedelta(minutes=3))  # a slow process, and a tick that thinks it died

    late, _ = await asyncio.gather(app.engine.handle_acked(event), app.engine.tick())

    assert await count(app, Participant) == 1
    assert await count(app, AcceptedForm) == 0
    welcomes = [r for r in late if "Welcome to" in text_of([r])]
    await app.engine.dispatch()
    assert len(welcomes) + len(seen(console, "amara", "Welcome to")) == 1
    assert "went wrong" not in text_of(late)  # the second waited for the first, then let go
    assert seen(console, "amara", "went wrong") == []


async def test_a_kept_form_that_cannot_be_read_is_dropped_without_stopping_the_tick(
    session: ConsoleSession,
    program: int,
    app: App,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await acked_join(session, app, "amara")
    async with app.db.session() as s:  # sealed with a key no longer configured
        s.add(
            AcceptedForm(
                key="slack:view:Vlost", answers_enc="gAAAA-not-ours", accepted_at=clock.now()
            )
        )
        await s.commit()
    clock.advance(timedelta(minutes=3))

    report = await app.engine.tick()

    assert await count(app, AcceptedForm) == 0
    assert await count(app, Participant) == 1  # amara's, behind the unreadable one or not
    assert "prompts" in report.queued  # the jobs ran
    assert "an accepted form that can't be read was dropped: DecryptionError" in caplog.text


async def test_erasing_yourself_drops_a_join_still_to_be_stored(
    session: ConsoleSession, program: int, app: App, clock: FrozenClock, console: ConsoleAdapter
) -> None:
    await acked_join(session, app, "amara")
    await session.say("amara", "forget")
    assert "erased" in text_of(await session.press("amara", "Erase my data"))
    clock.advance(timedelta(minutes=3))

    await app.engine.tick()

    assert await count(app, Participant) == 0
    assert await count(app, AcceptedForm) == 0


async def test_a_join_stored_as_usual_leaves_nothing_to_recover(
    session: ConsoleSession, program: int, app: App
) -> None:
    event = await acked_join(session, app, "amara")
    assert await count(app, AcceptedForm) == 1

    replies = await app.engine.handle_acked(event)

    assert "Welcome to" in text_of(replies)
    assert await count(app, AcceptedForm) == 0
