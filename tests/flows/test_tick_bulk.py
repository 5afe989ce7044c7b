"""The tick's bulk paths: the same items as one message at a time, each queued once even
when two ticks run at the same moment, and nothing for a partner who is paused."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlmodel import select

from adapters.console.adapter import ConsoleAdapter
from adapters.console.harness import ConsoleSession
from bot.app import App, build_app
from bot.clock import FrozenClock
from bot.events import Actor
from bot.messages import ToPair, ToPerson
from bot.settings import load_settings
from flows import prompts
from flows.context import FlowContext, Policy, recipient_of, to_person
from flows.prompts import Prompt, choose, library, prompt_message, prompt_message_json
from storage import jsontext
from storage.models import OutboxItem, PairPrompt, Participant
from storage.repositories.participants import Member
from tests.conftest import ADMIN
from tests.helpers import matched, pilot
from tests.pg import fresh_schema

NOW = datetime(2027, 3, 17, 10, 0, tzinfo=UTC)


def reference_choose(
    prompts: tuple[Prompt, ...],
    *,
    pair_id: int,
    topics: set[str],
    focus: str,
    used: set[str],
    off_limits: set[str],
    senior_leads: bool,
) -> Prompt | None:
    """`choose` as it was before the tick worked in bulk: every prompt scored and hashed."""

    def score(prompt: Prompt) -> tuple[int, str]:
        points = 3 * len(prompt.topics & topics)
        points += 2 if prompt.focus == focus else (1 if prompt.focus == "general" else 0)
        tiebreak = hashlib.sha256(f"{pair_id}:{prompt.id}".encode()).hexdigest()
        return points, tiebreak

    allowed = [p for p in prompts if p.id not in used and not (p.topics & off_limits)]
    if senior_leads:
        allowed = [p for p in allowed if p.lead == "either"] or allowed
    return max(allowed, key=score, default=None)


def test_choose_picks_what_scoring_every_prompt_picked() -> None:
    prompts = library()
    topics = sorted({t for p in prompts for t in p.topics})
    ids = [p.id for p in prompts]
    rng = random.Random(7)
    for pair_id in range(1, 600):
        kwargs = {
            "pair_id": pair_id,
            "topics": set(rng.sample(topics, rng.randint(0, 3))),
            "focus": rng.choice(["technology", "inclusion", "general", "other"]),
            "used": set(rng.sample(ids, rng.choice([0, 1, 5, 30, len(ids)]))),
            "off_limits": set(rng.sample(topics, rng.choice([0, 0, 1, 2]))),
            "senior_leads": rng.random() < 0.5,
        }
        assert choose(prompts, **kwargs) == reference_choose(prompts, **kwargs), kwargs


def member(number: int, *, platform: str = "slack", timezone: str = "UTC") -> Member:
    return Member(
        id=number,
        platform=platform,
        tenant="T1",
        user_id=f"U{number}",
        display_name=f"Person {number}",
        timezone=timezone,
        status="active",
        role="mentor",
        off_limits=[],
    )


@pytest.mark.parametrize("two_way", [False, True])
@pytest.mark.parametrize("cadence", ["monthly", "weekly", "quarterly"])
def test_a_prompt_message_built_from_its_template_is_the_dumped_message(
    two_way: bool, cadence: str
) -> None:
    lead = member(3)
    for cycle, prompt in enumerate(library()[:12], start=1):
        expected = prompt_message(
            prompt, cycle, lead, pair_id=40 + cycle, two_way=two_way, cadence=cadence
        ).model_dump(mode="json")
        built = prompt_message_json(
            prompt, cycle, lead, pair_id=40 + cycle, two_way=two_way, cadence=cadence
        )
        assert json.loads(built) == expected


@pytest.mark.parametrize("one_by_one", [False, True])
def test_items_built_for_the_tick_address_exactly_what_send_would(one_by_one: bool) -> None:
    policy = Policy(one_by_one=frozenset({"teams"}) if one_by_one else frozenset())
    ctx = FlowContext(None, NOW, policy)  # type: ignore[arg-type]
    first = member(1, platform="teams", timezone="America/New_York")
    second = member(2, platform="teams", timezone="Asia/Kolkata")
    message = prompt_message(library()[0], 1, first, pair_id=9, two_way=False, cadence="monthly")

    [person] = [ctx.person_item("k", first, message, pair_id=9)]
    address = to_person(first)
    assert decoded(person) == decoded(
        ctx.item("k", address, message, timezones=[first.timezone], pair_id=9)
    )
    dumped = json.loads(person["address"])
    assert dumped == ToPerson.model_validate(dumped).model_dump(mode="json")
    assert person["recipient"] == recipient_of(address) == "teams:T1:U1"
    assert person["platform"] == "teams"

    items = ctx.pair_items("p", first, second, 9, message)
    pair = ToPair(
        pair_id=9,
        members=tuple(Actor(platform="teams", tenant="T1", user_id=f"U{n}") for n in (1, 2)),
        names=("Person 1", "Person 2"),
    )
    if not one_by_one:
        zones = [first.timezone, second.timezone]
        assert decoded(*items) == decoded(ctx.item("p", pair, message, timezones=zones))
        assert items[0]["recipient"] == "pair:9"
    else:
        assert [i["key"] for i in items] == ["p:0", "p:1"]
        for index, (item, partner) in enumerate(zip(items, (first, second), strict=True)):
            copy = pair.model_copy(update={"only": index})
            expected = ctx.item(item["key"], copy, message, timezones=[partner.timezone])
            assert decoded(item) == decoded(expected)
            assert item["recipient"] == recipient_of(copy)


def decoded(*items: dict[str, object]) -> list[dict[str, object]]:
    """Items with their address and message (JSON text) decoded."""
    return [{name: jsontext.loads(value) for name, value in item.items()} for item in items]


# ---- ticks over a real database


async def prompts_and_records(app: App) -> tuple[list[OutboxItem], list[PairPrompt]]:
    async with app.db.session() as s:
        items = (await s.exec(select(OutboxItem).where(OutboxItem.key.startswith("prompt:")))).all()  # type: ignore[attr-defined]
        records = (await s.exec(select(PairPrompt))).all()
    return list(items), list(records)


async def two_ticks_at_once_queue_each_prompt_once(
    session: ConsoleSession, app: App, clock: FrozenClock
) -> None:
    await pilot(session, app)
    await matched(session, app)
    clock.advance(timedelta(days=8))
    first, second = await asyncio.gather(app.engine.tick(), app.engine.tick())
    assert first.queued["prompts"] + second.queued["prompts"] == 3
    items, records = await prompts_and_records(app)
    assert sorted(i.key for i in items) == sorted(f"prompt:{r.pair_id}:1" for r in records)
    assert len(items) == len(records) == 3
    texts = {p.id: p.text for p in library()}
    for record in records:  # what was recorded is what was queued
        [item] = [i for i in items if i.key == f"prompt:{record.pair_id}:1"]
        assert texts[record.prompt_id] in item.message["summary"]
    again = await app.engine.tick()
    assert again.queued["prompts"] == 0


@pytest.mark.parametrize("chunk", [prompts.CHUNK, 1])
async def test_two_ticks_at_once_queue_each_prompt_once(
    session: ConsoleSession,
    program: int,
    app: App,
    clock: FrozenClock,
    chunk: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prompts, "CHUNK", chunk)
    await two_ticks_at_once_queue_each_prompt_once(session, app, clock)


@pytest.fixture
async def pg_app(clock: FrozenClock, console: ConsoleAdapter) -> AsyncIterator[App]:
    async with fresh_schema() as pg:
        settings = load_settings(
            database_url=pg.url,
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


@pytest.mark.postgres
@pytest.mark.parametrize("chunk", [prompts.CHUNK, 1])
async def test_two_ticks_at_once_queue_each_prompt_once_on_postgres(
    pg_app: App,
    clock: FrozenClock,
    console: ConsoleAdapter,
    chunk: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a chunk per pair, each chunk's write runs while the next chunk is built."""
    from flows.programs import SAMPLE_PROGRAM, read_program_file, save_program

    monkeypatch.setattr(prompts, "CHUNK", chunk)

    await pg_app.engine.run(lambda ctx: save_program(ctx, read_program_file(SAMPLE_PROGRAM)))
    session = ConsoleSession(engine=pg_app.engine, adapter=console, tenant="acme")
    await two_ticks_at_once_queue_each_prompt_once(session, pg_app, clock)


async def test_a_paused_partner_gets_no_checkin_and_their_pair_no_prompt(
    session: ConsoleSession, program: int, app: App, clock: FrozenClock
) -> None:
    await pilot(session, app)
    await matched(session, app)
    await session.say("sam", "pause 2027-03-01")
    async with app.db.session() as s:
        sam = (await s.exec(select(Participant).where(Participant.user_id == "sam"))).one()
    clock.advance(timedelta(days=15))  # prompt after a week, check-in a week later
    report = await app.engine.tick()
    assert report.queued["prompts"] == 2
    assert report.queued["checkins"] == 5  # both partners of two pairs, sam's partner alone
    async with app.db.session() as s:
        keys = (await s.exec(select(OutboxItem.key))).all()
    assert not [k for k in keys if k.startswith("checkin:") and k.endswith(f":{sam.id}")]
    again = await app.engine.tick()
    assert again.queued == {name: 0 for name in again.queued}


async def a_failed_write_queues_nothing_and_the_next_tick_queues_all(
    session: ConsoleSession, app: App, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await pilot(session, app)
    await matched(session, app)
    clock.advance(timedelta(days=8))
    monkeypatch.setattr(prompts, "CHUNK", 1)
    write, calls = prompts._write, []

    async def failing_second(*args: object) -> int:
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return await write(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(prompts, "_write", failing_second)
    assert (await app.engine.tick()).queued["prompts"] == 0  # the job's transaction rolled back
    assert await prompts_and_records(app) == ([], [])
    monkeypatch.setattr(prompts, "_write", write)
    assert (await app.engine.tick()).queued["prompts"] == 3


async def test_a_failed_write_queues_nothing_and_the_next_tick_queues_all(
    session: ConsoleSession,
    program: int,
    app: App,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await a_failed_write_queues_nothing_and_the_next_tick_queues_all(
        session, app, clock, monkeypatch
    )


@pytest.mark.postgres
async def test_a_failed_write_queues_nothing_and_the_next_tick_queues_all_on_postgres(
    pg_app: App, clock: FrozenClock, console: ConsoleAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk's write fails while the next chunk is built (writes in the background)."""
    from flows.programs import SAMPLE_PROGRAM, read_program_file, save_program

    await pg_app.engine.run(lambda ctx: save_program(ctx, read_program_file(SAMPLE_PROGRAM)))
    session = ConsoleSession(engine=pg_app.engine, adapter=console, tenant="acme")
    await a_failed_write_queues_nothing_and_the_next_tick_queues_all(
        session, pg_app, clock, monkeypatch
    )
