"""Upward in Microsoft Teams, end to end: Bot Framework activities into `upward serve`'s
aiohttp app, botbuilder's real CloudAdapter, and a loopback Bot Connector recording what it
received. Authentication is off here (UPWARD_TEAMS_LOCAL_DEV); test_teams_auth.py turns it on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet
from sqlmodel import select

from bot.app import build_app
from bot.clock import FrozenClock
from bot.server import SCHEDULER, build_web_app
from bot.settings import load_settings
from flows.programs import SAMPLE_PROGRAM, read_program_file, save_program
from storage.models import (
    AuditEntry,
    CheckIn,
    ContactAddress,
    OutboxItem,
    Participant,
    ProcessedEvent,
)
from tests.e2e.teams_world import BOT, TEAM_CHANNEL, TENANT, Member, TeamsWorld, settle
from tests.fakes.teams_connector import FakeConnector, activity_text
from tests.helpers import opened_checkins

START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)  # a Monday morning in London
ADMIN = Member("Ada", "Ada Admin", 1)
MENTORS = [Member(n, f"Mentor {n}", i) for i, n in enumerate(["Amy", "Ben", "Cat"], 10)]
MENTEES = [Member(n, f"Leader {n}", i) for i, n in enumerate(["Vic", "Wen", "Xav"], 20)]
EVERYONE = [ADMIN, *MENTORS, *MENTEES]

JOIN = {
    "role": "mentor",
    "offers": ["ai_tools"],
    "wants": ["career_growth"],
    "timezone": "Europe/London",
    "agree": "yes",
}


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[TeamsWorld]:
    async with FakeConnector() as connector:
        for member in EVERYONE:
            connector.add_member(
                member.bf_id, member.name, member.aad, f"{member.handle.lower()}@example.com"
            )
        settings = load_settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'upward.db'}",
            encryption_keys=[Fernet.generate_key().decode()],
            teams_local_dev=True,
            teams_pacing_seconds=0,
            admins=[f"teams:{ADMIN.aad}"],
        )
        clock = FrozenClock(START)
        app = build_app(settings, clock=clock)
        await app.db.create_all()
        await app.engine.run(lambda ctx: save_program(ctx, read_program_file(SAMPLE_PROGRAM)))
        web_app = build_web_app(app)
        web_app.on_cleanup.clear()
        async with TestClient(TestServer(web_app)) as client:
            yield TeamsWorld(connector, client, app, clock)
            web_app[SCHEDULER].shutdown(wait=False)
        await settle()
        await app.close()


async def rows(world: TeamsWorld, model):  # type: ignore[no-untyped-def]
    async with world.app.db.session() as s:
        return list((await s.exec(select(model))).all())


def channel_texts(world: TeamsWorld) -> str:
    """Everything the bot said in the admin channel, in threads or as new posts."""
    return "\n".join(
        activity_text(r.json or {})
        for r in world.connector.posted()
        if (r.conversation_id or "").startswith(TEAM_CHANNEL)
    )


async def join(world: TeamsWorld, member: Member, **answers) -> None:  # type: ignore[no-untyped-def]
    await world.install(member)
    await world.say(member, "join")
    form = world.last_form(member)
    response = await world.submit(member, form, {**JOIN, **answers})
    assert response.status in (200, 201), await response.text()
    await world.read_cards(member)


# --- the whole program ---------------------------------------------------------------------


async def test_a_whole_program_in_teams(world: TeamsWorld) -> None:
    connector, engine, clock = world.connector, world.app.engine, world.clock
    for member in MENTORS:
        await join(world, member)
    for member in MENTEES:
        await join(world, member, role="mentee", offers=["career_growth"], wants=["ai_tools"])
    assert len(await rows(world, Participant)) == 6
    assert "You're in" in world.texts_to(MENTORS[0].chat)

    await world.install(ADMIN)
    await world.say(ADMIN, "admin match 3")
    assert "Proposed 3 pairs" in world.texts_to(ADMIN.chat)
    await world.press(ADMIN, "Approve")
    assert "3 pairs introduced" in world.texts_to(ADMIN.chat)
    await engine.dispatch()
    for member in [*MENTORS, *MENTEES]:  # no group chat on Teams: each partner, 1:1
        intro = world.texts_to(member.chat)
        assert "Why you were matched" in intro
        assert re.search(r"Your mentoring pair with (Mentor|Leader) \w+", intro)

    await world.say(ADMIN, "admin channel here", channel=TEAM_CHANNEL)
    assert "digests will be posted in this channel" in channel_texts(world)

    clock.advance(timedelta(days=15))  # the first prompt, then a week later the check-ins
    await engine.tick()
    amy = MENTORS[0]
    assert "private check-in" in world.texts_to(amy.chat)
    await world.press(amy, "Check in")
    form = world.last_form(amy)
    answers = {
        "met": "yes",
        "rating": "5",
        "themes": ["great_progress"],
        "energy": "2",
        "note": "only mine",
    }
    assert (await world.submit(amy, form, answers)).status in (200, 201)
    assert len(await rows(world, CheckIn)) == 1
    assert "your partner won't see it" in world.texts_to(amy.chat)

    clock.set(datetime(2027, 2, 1, 9, 0, tzinfo=UTC))
    await engine.tick()
    digests = connector.texts(TEAM_CHANNEL)
    assert len(digests) == 1
    assert "monthly digest" in digests[0] and "January 2027" in digests[0]
    assert not re.search(r"(Mentor|Leader) [A-Z]", digests[0]), "no name in a digest"
    everything_sent = str([r.json for r in connector.received])
    assert "only mine" not in everything_sent


async def test_commands_in_a_channel_answer_privately_in_the_1to1_chat(world: TeamsWorld) -> None:
    amy, _vic = await pair_up(world)
    before = len(world.connector.posted(amy.chat))
    await world.say(amy, "status", channel=TEAM_CHANNEL)
    await world.say(amy, "checkin", channel=TEAM_CHANNEL)
    said_in_channel = channel_texts(world)
    assert said_in_channel.count("I've answered you in our 1:1 chat.") == 2
    assert said_in_channel.replace("I've answered you in our 1:1 chat.", "").strip() == ""
    private = "\n".join(world.connector.texts(amy.chat)[before:])
    assert "Your partner: Leader Vic" in private  # status, in her own chat
    assert "How did it go" in private or "check-in" in private.lower()  # and the form


# --- forms, buttons and bad input ----------------------------------------------------------


async def test_an_invalid_card_is_shown_again_with_errors_and_nothing_is_stored(
    world: TeamsWorld,
) -> None:
    amy = MENTORS[0]
    await world.install(amy)
    await world.say(amy, "join")
    form = world.last_form(amy)
    response = await world.submit(amy, form, {**JOIN, "agree": "", "timezone": "Mars/Olympus"})
    assert response.status in (200, 201)
    assert await rows(world, Participant) == []
    [update] = world.connector.updates(amy.chat)
    shown = str(update)
    assert "Attention" in shown and "Mars/Olympus" in shown  # errors, and what was typed
    fixed = {"id": form["id"], "card": update["attachments"][0]["content"]}
    assert (await world.submit(amy, fixed, JOIN)).status in (200, 201)
    assert len(await rows(world, Participant)) == 1


async def test_unknown_commands_and_non_admins_get_a_kind_answer(world: TeamsWorld) -> None:
    amy = MENTORS[0]
    await world.install(amy)
    await world.say(amy, "frobnicate")
    await world.say(amy, "admin match")
    texts = world.texts_to(amy.chat)
    assert "frobnicate" in texts and "help" in texts
    assert "admins" in texts.lower()


async def test_the_same_activity_delivered_twice_is_handled_once(world: TeamsWorld) -> None:
    amy = MENTORS[0]
    await world.install(amy)
    before = len(world.connector.posted(amy.chat))
    activity = world.activity(amy, text="status")
    for _ in range(2):
        assert (await world.post(activity)).status in (200, 201)
    assert len(world.connector.posted(amy.chat)) == before + 1
    assert len(await rows(world, ProcessedEvent)) >= 1


async def test_a_card_submitted_twice_stores_one_answer(world: TeamsWorld) -> None:
    amy, _vic = await pair_up(world)
    world.clock.advance(timedelta(days=15))
    await world.app.engine.tick()
    await world.press(amy, "Check in")
    form = world.last_form(amy)
    answers = {"met": "yes", "rating": "4", "themes": ["great_progress"], "energy": "3"}
    await world.submit(amy, form, answers)
    thanked = len(world.connector.posted(amy.chat))
    await world.submit(amy, form, answers | {"rating": "1"})  # the same card, clicked again
    assert [c.rating for c in await opened_checkins(world.app)] == [4]
    [replay] = world.connector.texts(amy.chat)[thanked:]
    assert replay == "That form was already sent."


# --- conversation references ---------------------------------------------------------------


async def test_references_are_stored_refreshed_and_dropped(world: TeamsWorld) -> None:
    amy = MENTORS[0]
    await world.install(amy)
    [contact] = await rows(world, ContactAddress)
    assert contact.tenant == TENANT and contact.user_id == amy.aad
    assert contact.address["serviceUrl"] == world.connector.service_url
    assert contact.address["conversation"]["id"] == amy.chat
    moved = world.activity(amy, text="help", serviceUrl="https://smba.example/emea/")
    await world.post(moved)
    [contact] = await rows(world, ContactAddress)
    assert contact.address["serviceUrl"] == "https://smba.example/emea/"
    await world.post(world.activity(amy, "installationUpdate", action="remove"))
    assert await rows(world, ContactAddress) == []


async def test_one_hello_per_install_and_none_on_upgrade(world: TeamsWorld) -> None:
    amy = MENTORS[0]
    added = world.activity(amy, "conversationUpdate", membersAdded=[{"id": BOT}])
    assert (await world.post(added)).status in (200, 201)
    assert len(await rows(world, ContactAddress)) == 1  # remembered ...
    assert world.connector.posted(amy.chat) == []  # ... without a second hello
    await world.install(amy)
    await world.post(world.activity(amy, "installationUpdate", action="add-upgrade"))
    assert [t for t in world.connector.texts(amy.chat) if "reverse-mentoring" in t] != []
    assert len(world.connector.posted(amy.chat)) == 1


async def test_someone_who_comes_back_is_reachable_again(world: TeamsWorld) -> None:
    _, vic = await pair_up(world)
    world.connector.fail(403, conversation_id=vic.chat)
    await world.app.engine.dispatch()
    contacts = {c.user_id: c for c in await rows(world, ContactAddress)}
    assert contacts[vic.aad].unreachable_since is not None
    await world.say(vic, "status")  # the same reference as before
    contacts = {c.user_id: c for c in await rows(world, ContactAddress)}
    assert contacts[vic.aad].unreachable_since is None


async def test_activities_from_another_tenant_are_ignored(tmp_path: Path) -> None:
    async with FakeConnector() as connector:
        settings = load_settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'u.db'}",
            encryption_keys=[Fernet.generate_key().decode()],
            teams_local_dev=True,
        )
        app = build_app(settings, clock=FrozenClock(START))
        await app.db.create_all()
        assert app.teams is not None
        app.teams.tenants = frozenset({"our-tenant"})
        app.teams.attach(app.engine)
        web_app = build_web_app(app)
        web_app.on_cleanup.clear()
        async with TestClient(TestServer(web_app)) as client:
            world = TeamsWorld(connector, client, app, app.engine.clock)  # type: ignore[arg-type]
            await world.install(MENTORS[0])
            await world.say(MENTORS[0], "join")
            web_app[SCHEDULER].shutdown(wait=False)
        await settle()
        assert connector.received == []
        assert await rows(world, ContactAddress) == [] and await rows(world, Participant) == []
        await app.close()


async def pair_up(world: TeamsWorld) -> tuple[Member, Member]:
    amy, vic = MENTORS[0], MENTEES[0]
    await join(world, amy)
    await join(world, vic, role="mentee", offers=["career_growth"], wants=["ai_tools"])
    await world.install(ADMIN)
    await world.say(ADMIN, "admin match 3")
    await world.press(ADMIN, "Approve")
    return amy, vic


async def outbox(world: TeamsWorld) -> dict[str, OutboxItem]:
    return {item.key: item for item in await rows(world, OutboxItem)}


@pytest.mark.parametrize(
    ("status", "code"), [(403, "BotNotInConversationRoster"), (404, "ConversationNotFound")]
)
async def test_a_person_who_removed_the_app_is_unreachable_not_retried(
    world: TeamsWorld, status: int, code: str
) -> None:
    amy, vic = await pair_up(world)
    world.connector.fail(status, conversation_id=vic.chat, code=code)
    await world.app.engine.dispatch()
    intros = {i.recipient: i for k, i in (await outbox(world)).items() if k.startswith("intro:")}
    vics = intros[f"teams:{TENANT}:{vic.aad}"]
    assert vics.status == "failed" and str(status) in (vics.last_error or "")
    assert intros[f"teams:{TENANT}:{amy.aad}"].status == "sent"
    assert "Why you were matched" in world.texts_to(amy.chat)  # the other half went out
    contacts = {c.user_id: c for c in await rows(world, ContactAddress)}
    assert contacts[vic.aad].unreachable_since is not None
    attempts = len(world.connector.received)
    world.clock.advance(timedelta(hours=2))
    await world.app.engine.dispatch()
    assert len(world.connector.received) == attempts  # not retried
    await world.say(ADMIN, "admin status")
    assert "Can't be reached" in world.texts_to(ADMIN.chat)
    assert vic.name in world.texts_to(ADMIN.chat)


async def test_a_person_never_installed_is_unreachable(world: TeamsWorld) -> None:
    _, vic = await pair_up(world)
    async with world.app.db.session() as s:
        for contact in (await s.exec(select(ContactAddress))).all():
            if contact.user_id == vic.aad:
                await s.delete(contact)
        await s.commit()
    await world.app.engine.dispatch()
    contacts = {c.user_id: c for c in await rows(world, ContactAddress)}
    assert "isn't installed" in (contacts[vic.aad].unreachable_reason or "")


@pytest.mark.parametrize("status", [429, 412, 502])
async def test_throttling_and_server_errors_are_retried(world: TeamsWorld, status: int) -> None:
    amy, vic = await pair_up(world)
    world.connector.fail(status, conversation_id=vic.chat, retry_after=600)
    report = await world.app.engine.dispatch()
    assert report.retried == 1 and report.sent == 1  # Amy's copy went; Vic's waits
    items = await outbox(world)
    [vics] = [
        i for k, i in items.items() if k.startswith("intro:") and i.recipient.endswith(vic.aad)
    ]
    assert vics.status == "pending"
    assert vics.not_before == world.clock.now() + timedelta(seconds=600)  # Retry-After, not backoff
    world.clock.advance(timedelta(minutes=10))
    await world.app.engine.dispatch()
    assert {i.status for k, i in (await outbox(world)).items() if k.startswith("intro:")} == {
        "sent"
    }
    assert len([t for t in world.connector.texts(amy.chat) if "Why you were matched" in t]) == 1
    assert len([t for t in world.connector.texts(vic.chat) if "Why you were matched" in t]) == 1


# --- the edge ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[]", "application/json", 400),
        (b'{"type": "message"}', "text/plain", 415),
    ],
)
async def test_malformed_requests_are_refused_without_a_500(
    world: TeamsWorld, body: bytes, content_type: str, status: int
) -> None:
    response = await world.client.post(
        "/api/messages", data=body, headers={"Content-Type": content_type}
    )
    assert response.status == status
    await asyncio.sleep(0)
    assert world.connector.received == []


async def test_a_roster_keyed_by_email_applies_to_teams_users(world: TeamsWorld) -> None:
    """Vic manages Amy. The HR export only has emails; the join looks the sender up in the
    Teams roster for their email, so matching keeps them apart."""
    from flows.roster import import_roster

    roster = (
        "email,name,job_level,department,manager\n"
        "amy@example.com,Amy,1,Ops,vic@example.com\n"
        "vic@example.com,Vic,6,Ops,\n"
    )
    report = await world.app.engine.run(
        lambda ctx: import_roster(ctx, roster, platform="teams", tenant=TENANT)
    )
    assert report.imported == 2
    await join(world, MENTORS[0])
    await join(world, MENTEES[0], role="mentee", offers=["career_growth"], wants=["ai_tools"])
    await world.install(ADMIN)
    await world.say(ADMIN, "admin match 1")
    text = world.texts_to(ADMIN.chat)
    assert "Proposed 0 pairs" in text
    assert "no job level in the roster" not in text


async def test_leak_sweep_no_note_anywhere_but_its_authors_own_chat(
    world: TeamsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """Everyone writes a unique marker in their check-in; after a whole month, the digest
    and the admin views, each marker is found only in its author's own chat (if at all):
    not in another chat, a channel, a log line at any level, the audit, or the database
    file's raw bytes."""
    caplog.set_level(logging.DEBUG)
    connector, engine, clock = world.connector, world.app.engine, world.clock
    for member in MENTORS:
        await join(world, member)
    for member in MENTEES:
        await join(world, member, role="mentee", offers=["career_growth"], wants=["ai_tools"])
    await world.install(ADMIN)
    await world.say(ADMIN, "admin match 3")
    await world.press(ADMIN, "Approve")
    await world.say(ADMIN, "admin channel here", channel=TEAM_CHANNEL)
    await engine.dispatch()
    clock.advance(timedelta(days=15))
    await engine.tick()
    markers = {m.handle: f"zq-{m.handle}-leak-7e1" for m in [*MENTORS, *MENTEES]}
    for member in [*MENTORS, *MENTEES]:
        await world.press(member, "Check in")
        answers = {"met": "yes", "rating": "4", "themes": ["great_progress"], "energy": "3"}
        await world.submit(
            member, world.last_form(member), answers | {"note": markers[member.handle]}
        )
    assert len(await rows(world, CheckIn)) == 6
    clock.set(datetime(2027, 2, 1, 9, 0, tzinfo=UTC))
    await engine.tick()
    for command in ("admin status", "admin audit", "admin digest"):
        await world.say(ADMIN, command)
    assert "monthly digest" in channel_texts(world)

    for request in connector.received:
        seen = str(request.json)
        for handle, marker in markers.items():
            own_chat = request.conversation_id == f"a:1{handle}PersonalChat"
            assert own_chat or marker not in seen, f"{handle}'s note reached {request.path}"
    key = world.app.settings.encryption_keys[0]  # a secret setting: nowhere either
    assert key not in caplog.text and key not in str([r.json for r in connector.received])
    for marker in markers.values():
        assert marker not in caplog.text
    audit = [e.model_dump_json() for e in await rows(world, AuditEntry)]
    assert audit and not any(m in row for m in markers.values() for row in audit)

    db = world.app.db
    await db.engine.dispose()  # then fold the write-ahead log into the file
    with contextlib.closing(sqlite3.connect(db.sqlite_path)) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    on_disk = b"".join(
        f.read_bytes() for f in db.sqlite_path.parent.iterdir() if f.name.startswith("upward.db")
    )
    assert on_disk and not any(m.encode() in on_disk for m in markers.values())
    assert key.encode() not in on_disk


async def test_a_mentor_circle_reaches_each_mentor_one_to_one_naming_the_others(
    world: TeamsWorld,
) -> None:
    """Bots can't start group chats in Teams: each circle member gets a copy in their own
    chat, naming the others; no senior partner hears of it."""
    for member in MENTORS:
        await join(world, member)
    for member in MENTEES:
        await join(world, member, role="mentee", offers=["career_growth"], wants=["ai_tools"])
    await world.install(ADMIN)
    await world.say(ADMIN, "admin match 3")
    await world.press(ADMIN, "Approve")
    await world.app.engine.tick()
    for member in MENTORS:
        await world.press(member, "Join this month's circle")
        assert "You're in this month's mentor circle" in world.texts_to(member.chat)
    world.clock.advance(timedelta(days=4))  # Friday the 8th: circles form
    await world.app.engine.tick()
    for member in MENTORS:
        chat = world.texts_to(member.chat)
        assert "Your mentor circle" in chat
        others = [m.name for m in MENTORS if m is not member]
        assert all(name in chat for name in others), chat
    for member in MENTEES:
        assert "mentor circle" not in world.texts_to(member.chat)
