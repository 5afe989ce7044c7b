"""Upward in Slack, end to end: signed requests into `upward serve`'s aiohttp app, the real
bolt AsyncApp and slack_sdk client, and a loopback Slack Web API recording what it received."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlmodel import select

from bot.app import build_app
from bot.clock import FrozenClock
from bot.server import SCHEDULER, build_web_app
from bot.settings import load_settings
from flows.programs import SAMPLE_PROGRAM, read_program_file, save_program
from storage.models import CheckIn, Goal, OutboxItem, Participant, ProcessedEvent
from tests.e2e.slack_world import SECRET, TEAM, SlackWorld, buttons, flatten, until
from tests.fakes.slack_api import FakeSlack, signed_headers, slash_command_body

START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)  # a Monday morning in London
ADMIN, ADMIN_CHANNEL = "U0ADMIN", "C0ADMIN"
MENTORS = ["U0AMY", "U0BEN", "U0CAT", "U0DAN", "U0EVE"]
MENTEES = ["U0VIC", "U0WEN", "U0XAV", "U0YAS", "U0ZOE"]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with FakeSlack(team_id=TEAM, token="xoxb-test") as slack:
        for user in [ADMIN, *MENTORS, *MENTEES]:
            slack.add_user(user, user.lower(), f"Person {user[2:].title()}", tz="Europe/London")
        slack.add_channel(ADMIN_CHANNEL, "mentoring-admins")
        settings = load_settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'upward.db'}",
            encryption_keys=[Fernet.generate_key().decode()],
            slack_bot_token="xoxb-test",
            slack_signing_secret=SECRET,
            slack_api_url=slack.base_url,
            slack_admin_channel=ADMIN_CHANNEL,
            slack_admin_users=[ADMIN],
            slack_pacing_seconds=0,
        )
        clock = FrozenClock(START)
        app = build_app(settings, clock=clock)
        await app.db.create_all()
        await app.engine.run(lambda ctx: save_program(ctx, read_program_file(SAMPLE_PROGRAM)))
        web_app = build_web_app(app)
        web_app.on_cleanup.clear()
        async with TestClient(TestServer(web_app)) as client:
            yield SlackWorld(slack, client, app, clock)
            web_app[SCHEDULER].shutdown(wait=False)
        # bolt finishes listeners after the ack: let them end before the database closes
        # (not the fake's handlers of idle keep-alive connections: they last until closed)
        others = [
            t
            for t in asyncio.all_tasks()
            if t is not asyncio.current_task() and "RequestHandler.start" not in repr(t.get_coro())
        ]
        if others:
            await asyncio.wait(others, timeout=10)
        await app.close()


def outbound(world: SlackWorld) -> list:
    """Web API calls made because of requests (the start-up token check aside)."""
    return [c for c in world.slack.calls if c.method != "auth.test"]


async def rows(world: SlackWorld, model):  # type: ignore[no-untyped-def]
    async with world.app.db.session() as s:
        return list((await s.exec(select(model))).all())


JOIN = {
    "role": "mentor",
    "offers": ["ai_tools"],
    "wants": ["career_growth"],
    "timezone": "Europe/London",
    "agree": ["yes"],
}


async def join(world: SlackWorld, user: str, **answers) -> None:  # type: ignore[no-untyped-def]
    trigger, _ = await world.slash(user, "join")
    modal = await world.opened_modal(trigger)
    response = await world.submit(user, modal, {**JOIN, **answers})
    assert response.status == 200 and await response.text() == ""  # the modal closes
    await world.read_cards(user)


# --- the whole program ---------------------------------------------------------------------


async def test_a_whole_program_in_slack(
    world: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    slack, engine, clock = world.slack, world.app.engine, world.clock
    for user in MENTORS:
        await join(world, user)
    for user in MENTEES:
        await join(world, user, role="mentee", offers=["career_growth"], wants=["ai_tools"])
    assert len(await rows(world, Participant)) == 10

    _, preview = await world.slash(ADMIN, "admin match 3")
    assert "Proposed 5 pairs" in await world.answer(preview)
    _, approved = await world.slash(ADMIN, "admin match approve")
    assert "5 pairs introduced" in await world.answer(approved)
    await engine.dispatch()
    opened = slack.calls_to("conversations.open")
    assert len(opened) == 5 and all(len(c.args["users"].split(",")) == 2 for c in opened)
    intros = [
        c.args for c in slack.calls_to("chat.postMessage") if c.args["channel"].startswith("G")
    ]
    assert len(intros) == 5 and all("Why you were matched" in flatten(i) for i in intros)

    clock.advance(timedelta(days=15))  # the first prompt, then a week later the check-ins
    await engine.tick()
    amy_dm = world.messages_to("U0AMY")
    [invite] = [m for m in amy_dm if "private check-in" in m["text"]]
    trigger = await world.press("U0AMY", buttons(invite)[0])
    modal = await world.opened_modal(trigger)
    answers = {
        "met": "yes",
        "rating": "5",
        "themes": ["great_progress"],
        "energy": "2",
        "note": "only mine",
    }
    assert (await world.submit("U0AMY", modal, answers)).status == 200
    await until(
        lambda: any("your partner won't see it" in m["text"] for m in world.messages_to("U0AMY"))
    )
    assert len(await rows(world, CheckIn)) == 1

    trigger, _ = await world.slash("U0VIC", "goals add")
    modal = await world.opened_modal(trigger)
    goal = {
        "text": "I will shadow a support shift",
        "kind": "commitment",
        "owner": "me",
        "due": None,
    }
    assert (await world.submit("U0VIC", modal, goal)).status == 200
    assert len(await rows(world, Goal)) == 1
    published = len(slack.calls_to("views.publish"))
    opened = {"type": "app_home_opened", "user": "U0VIC", "channel": "D0VIC", "tab": "home"}
    assert (await world.event(opened, "Ev1")).status == 200
    await until(lambda: len(slack.calls_to("views.publish")) > published)
    home = slack.home_views["U0VIC"]
    assert "Your partner: Person Ben" in flatten(home)
    [done] = [b for b in buttons(home) if b["label"].startswith("Done:")]
    await world.press("U0VIC", done, view=home)
    for _ in range(300):  # the listener finishes after the ack
        [stored_goal] = await rows(world, Goal)
        if stored_goal.done_at is not None:
            break
        await asyncio.sleep(0.01)
    assert stored_goal.done_at is not None

    clock.set(datetime(2027, 2, 1, 9, 0, tzinfo=UTC))
    await engine.tick()
    [digest] = world.messages_to(ADMIN_CHANNEL)
    text = flatten(digest)
    assert "monthly digest" in text and "January 2027" in text
    assert not re.search(r"\bU0[A-Z]+", text), "no user id in a digest"
    assert not re.search(r"Person [A-Z]", text), "no name in a digest"
    assert "only mine" not in str(slack.calls)
    # The leak sweep: the note and every secret setting, in every log line and on disk.
    secrets = ["only mine", SECRET, "xoxb-test", world.app.settings.encryption_keys[0]]
    assert not [s for s in secrets if s in caplog.text]
    assert not [s for s in secrets[1:] if s in str([c.args for c in slack.calls])]
    db = world.app.db
    await db.engine.dispose()  # then fold the write-ahead log into the file
    with contextlib.closing(sqlite3.connect(db.sqlite_path)) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    on_disk = b"".join(
        f.read_bytes() for f in db.sqlite_path.parent.iterdir() if f.name.startswith("upward.db")
    )
    assert on_disk and not [s for s in secrets if s.encode() in on_disk]


# --- forms and replies ---------------------------------------------------------------------


async def test_join_modal_answers_field_errors_and_stores_nothing(world: SlackWorld) -> None:
    trigger, _ = await world.slash("U0AMY", "join")
    modal = await world.opened_modal(trigger)
    response = await world.submit("U0AMY", modal, {**JOIN, "agree": [], "timezone": "Mars/Base"})
    body = await response.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) >= {"agree", "timezone"}
    assert await rows(world, Participant) == []


async def test_time_zone_comes_from_users_info(world: SlackWorld) -> None:
    world.slack.add_user("U0NYC", "nyc", "New Yorker", tz="America/New_York")
    trigger, _ = await world.slash("U0NYC", "join")
    modal = await world.opened_modal(trigger)
    [tz] = [b for b in modal["blocks"] if b.get("block_id") == "timezone"]
    assert tz["element"]["initial_value"] == "America/New_York"


async def test_unknown_commands_and_non_admins_get_a_kind_answer(world: SlackWorld) -> None:
    _, reply = await world.slash("U0AMY", "dance")
    assert "don't know the command `dance`" in await world.answer(reply)
    _, reply = await world.slash("U0AMY", "admin match")
    assert "only program admins" in await world.answer(reply)
    assert world.slack.responses(reply)[-1].args["response_type"] == "ephemeral"


async def test_user_written_text_stays_inert(world: SlackWorld) -> None:
    await join(world, "U0AMY")
    await join(world, "U0VIC", role="mentee", offers=["career_growth"], wants=["ai_tools"])
    _, preview = await world.slash(ADMIN, "admin match 1")
    assert "Proposed 1 pair" in await world.answer(preview)
    _, approved = await world.slash(ADMIN, "admin match approve")
    await world.answer(approved)
    trigger, _ = await world.slash("U0VIC", "goals add")
    modal = await world.opened_modal(trigger)
    await world.submit(
        "U0VIC",
        modal,
        {
            "text": "<!channel> ping <@U0AMY> <https://evil.example|click>",
            "kind": "goal",
            "owner": "me",
        },
    )
    await world.app.engine.dispatch()
    [notice] = [m for m in world.messages_to("U0AMY") if "added a goal" in m["text"]]
    sent = flatten(notice)
    assert "<!channel>" not in sent and "<@U0AMY>" not in sent and "<https://" not in sent
    assert "&lt;!channel&gt;" in sent


# --- the edge: signatures, retries, slowness -------------------------------------------------


def sign_bytes(body: bytes) -> dict[str, str]:
    """Slack signs the raw bytes, whatever they are."""
    timestamp = str(int(datetime.now(UTC).timestamp()))
    digest = hmac.new(SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=" + digest.hexdigest()}


def command_body(text: str = "status") -> str:
    return slash_command_body(
        text=text,
        user_id="U0AMY",
        team_id=TEAM,
        trigger_id="1.1.t",
        response_url="http://127.0.0.1:9/none",
    )


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({**signed_headers(command_body(), "wrong-secret")}, id="forged"),
        pytest.param(
            signed_headers(
                command_body(), SECRET, timestamp=int(datetime.now(UTC).timestamp()) - 600
            ),
            id="stale",
        ),
        pytest.param(
            {"X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": "v0=abc"},
            id="non-numeric timestamp",
        ),
        pytest.param(
            {"X-Slack-Request-Timestamp": "1700000000", "X-Slack-Signature": "v0=ñ"},
            id="non-ascii signature",
        ),
        pytest.param({}, id="missing"),
    ],
)
async def test_bad_signatures_get_401_and_touch_nothing(world: SlackWorld, headers: dict) -> None:
    response = await world.client.post(
        "/slack/events",
        data=command_body().encode(),
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 401
    await asyncio.sleep(0.05)
    assert outbound(world) == []
    assert await rows(world, ProcessedEvent) == [] and await rows(world, Participant) == []


async def test_a_retried_event_is_handled_once(world: SlackWorld) -> None:
    event = {"type": "app_home_opened", "user": "U0AMY", "channel": "D0AMY", "tab": "home"}
    assert (await world.event(event, "Ev42")).status == 200
    assert (await world.event(event, "Ev42", retry=1)).status == 200
    await until(lambda: len(world.slack.calls_to("views.publish")) == 1)
    await asyncio.sleep(0.1)
    assert len(world.slack.calls_to("views.publish")) == 1
    assert len(await rows(world, ProcessedEvent)) == 1


async def test_commands_are_acked_before_a_slow_web_api(world: SlackWorld) -> None:
    world.slack.delay("users.info", 1.0)
    trigger, _ = await world.slash("U0AMY", "join")  # returns the 200 ack ...
    assert world.slack.calls_to("views.open") == []  # ... before the slow lookup has finished
    await world.opened_modal(trigger)


# --- delivery --------------------------------------------------------------------------------


async def pair_up(world: SlackWorld) -> None:
    await join(world, "U0AMY")
    await join(world, "U0VIC", role="mentee", offers=["career_growth"], wants=["ai_tools"])
    _, preview = await world.slash(ADMIN, "admin match 1")
    assert "Proposed 1 pair" in await world.answer(preview)
    _, approved = await world.slash(ADMIN, "admin match approve")
    await world.answer(approved)


async def outbox(world: SlackWorld) -> dict[str, OutboxItem]:
    return {item.key: item for item in await rows(world, OutboxItem)}


async def test_permanent_slack_errors_are_recorded_once_and_shown_to_admins(
    world: SlackWorld,
) -> None:
    await pair_up(world)
    world.slack.fail("chat.postMessage", error="account_inactive")
    await world.app.engine.dispatch()
    [intro] = [i for k, i in (await outbox(world)).items() if k.startswith("intro:")]
    assert (intro.status, intro.last_error) == ("failed", "account_inactive")
    world.clock.advance(timedelta(hours=1))
    await world.app.engine.dispatch()
    sends = [
        c for c in world.slack.calls_to("chat.postMessage") if c.args["channel"].startswith("G")
    ]
    assert len(sends) == 1  # recorded once, never retried
    _, reply = await world.slash(ADMIN, "admin status")
    assert "account_inactive" in await world.answer(reply)


async def test_rate_limits_are_retried_after_retry_after(world: SlackWorld) -> None:
    await pair_up(world)
    world.slack.fail("chat.postMessage", error="ratelimited", retry_after=30)
    await world.app.engine.dispatch()
    [intro] = [i for k, i in (await outbox(world)).items() if k.startswith("intro:")]
    assert intro.status == "pending" and intro.not_before >= world.clock.now() + timedelta(
        seconds=30
    )
    world.clock.advance(timedelta(minutes=1))
    await world.app.engine.dispatch()
    [intro] = [i for k, i in (await outbox(world)).items() if k.startswith("intro:")]
    assert intro.status == "sent"


async def test_a_missing_admin_channel_never_sends_the_digest_elsewhere(world: SlackWorld) -> None:
    del world.slack.channels[ADMIN_CHANNEL]
    await pair_up(world)
    world.clock.set(datetime(2027, 2, 1, 9, 0, tzinfo=UTC))
    await world.app.engine.tick()
    digests = [i for k, i in (await outbox(world)).items() if k.startswith("digest:")]
    assert [(d.status, d.last_error) for d in digests] == [("failed", "channel_not_found")]
    posted = [c.args["channel"] for c in world.slack.calls_to("chat.postMessage")]
    assert all(not channel.startswith("C") or channel == ADMIN_CHANNEL for channel in posted)


async def test_a_replayed_view_submission_stores_one_answer(world: SlackWorld) -> None:
    await pair_up(world)
    world.clock.advance(timedelta(days=15))
    await world.app.engine.tick()
    [invite] = [m for m in world.messages_to("U0AMY") if "private check-in" in m["text"]]
    modal = await world.opened_modal(await world.press("U0AMY", buttons(invite)[0]))
    answers = {"met": "yes", "rating": "4"}
    for _ in range(2):  # Slack retried, or the person double-clicked Submit
        assert (await world.submit("U0AMY", modal, answers)).status == 200
    assert len(await rows(world, CheckIn)) == 1


async def test_a_double_click_on_end_ends_once(world: SlackWorld) -> None:
    await pair_up(world)
    _, reply = await world.slash("U0VIC", "end")
    await world.answer(reply)
    [end] = [
        b for b in buttons(world.slack.responses(reply)[-1].args) if b["label"] == "End our pairing"
    ]
    for _ in range(2):
        await world.press("U0VIC", end)
    await until(
        lambda: (
            len(
                [
                    m
                    for m in world.messages_to("U0VIC")
                    if "Nothing was changed" in m["text"] or "Done." in m["text"]
                ]
            )
            == 2
        )
    )
    texts = [m["text"] for m in world.messages_to("U0VIC")]
    assert sum("Done. Your pairing has ended" in t for t in texts) == 1
    assert sum("already ended" in t for t in texts) == 1


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe not utf-8", b"{not json", b"payload=%7Bnope", b"[]"],
    ids=["not utf-8", "broken json", "broken payload", "json array"],
)
async def test_junk_bodies_never_cause_a_500(world: SlackWorld, body: bytes) -> None:
    forged = {
        "X-Slack-Request-Timestamp": str(int(datetime.now(UTC).timestamp())),
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    response = await world.client.post("/slack/events", data=body, headers=forged)
    assert response.status == 401
    signed = sign_bytes(body)
    response = await world.client.post(
        "/slack/events", data=body, headers={**signed, "Content-Type": "application/json"}
    )
    assert response.status in (400, 401, 404) and response.status != 500
    huge = {"X-Slack-Request-Timestamp": "9" * 5000, "X-Slack-Signature": "v0=abc"}
    assert (await world.client.post("/slack/events", data=body, headers=huge)).status == 401
    assert outbound(world) == []


async def test_modal_submissions_are_acked_before_a_slow_web_api(world: SlackWorld) -> None:
    trigger, _ = await world.slash("U0AMY", "join")
    modal = await world.opened_modal(trigger)
    world.slack.delay("users.info", 1.5)
    world.slack.delay("chat.postMessage", 1.5)
    publishes = len(world.slack.calls_to("views.publish"))
    response = await world.submit("U0AMY", modal, JOIN)
    assert response.status == 200 and await response.text() == ""
    assert world.slack.calls_to("views.publish")[publishes:] == []  # follow-up work still running
    await until(lambda: len(world.slack.calls_to("views.publish")) > publishes, within=5)
    assert len(await rows(world, Participant)) == 1


async def refuse_writes(world: SlackWorld, table: str) -> None:
    """From now on, the database refuses new rows in `table` (a disk full, a constraint)."""
    async with world.app.db.session() as session:
        await session.exec(  # type: ignore[call-overload]
            text(
                f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )
        await session.commit()


async def dms_to(world: SlackWorld, user: str) -> list[str]:
    channel = world.slack.dm_id(user)
    return [
        flatten(c.args)
        for c in world.slack.calls_to("chat.postMessage")
        if c.args.get("channel") in (user, channel)
    ]


async def test_a_join_acked_then_not_stored_is_told_by_dm(world: SlackWorld) -> None:
    trigger, _ = await world.slash("U0AMY", "join")
    modal = await world.opened_modal(trigger)
    await refuse_writes(world, "participant")

    response = await world.submit("U0AMY", modal, JOIN)

    assert response.status == 200 and await response.text() == ""  # the modal has closed
    await until(lambda: bool(world.slack.calls_to("chat.postMessage")), within=5)
    [dm] = await dms_to(world, "U0AMY")
    assert "something went wrong" in dm and "nothing was changed" in dm
    assert await rows(world, Participant) == []


async def test_a_graceful_stop_stores_every_join_already_acked(world: SlackWorld) -> None:
    """SIGTERM right after a burst of joins: the process stops taking events, then stores
    the joins it has answered (two at a time) before the database closes."""
    engine = world.app.engine
    stored_after_ack = engine.handle_acked

    async def slowly(event):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.5)
        return await stored_after_ack(event)

    engine.handle_acked = slowly  # type: ignore[method-assign]
    modals = {}
    for user in MENTORS:
        trigger, _ = await world.slash(user, "join")
        modals[user] = await world.opened_modal(trigger)
    answers = await asyncio.gather(*(world.submit(u, m, JOIN) for u, m in modals.items()))
    assert {(r.status, await r.text()) for r in answers} == {(200, "")}  # all acked
    assert len(await rows(world, Participant)) < len(MENTORS)  # not all stored yet

    assert world.app.slack is not None
    await world.app.slack.stop()

    stored = await rows(world, Participant)
    assert sorted(p.user_id for p in stored) == sorted(MENTORS)


async def test_when_that_dm_fails_too_it_is_queued_in_the_outbox(world: SlackWorld) -> None:
    trigger, _ = await world.slash("U0AMY", "join")
    modal = await world.opened_modal(trigger)
    await refuse_writes(world, "participant")
    world.slack.fail("chat.postMessage", error="fatal_error")

    await world.submit("U0AMY", modal, JOIN)

    async def queued() -> list[OutboxItem]:
        return [i for i in await rows(world, OutboxItem) if i.key.startswith("reply:view:")]

    for _ in range(100):
        if await queued():
            break
        await asyncio.sleep(0.05)
    [item] = await queued()
    assert item.recipient == f"slack:{TEAM}:U0AMY"
    assert "something went wrong" in str(item.message)
    await world.app.engine.dispatch()  # unless the scheduler's dispatch has sent it already
    assert any("something went wrong" in dm for dm in await dms_to(world, "U0AMY"))


async def test_failing_that_an_error_is_logged_without_what_anyone_wrote(
    world: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    trigger, _ = await world.slash("U0AMY", "join")
    modal = await world.opened_modal(trigger)
    await refuse_writes(world, "participant")
    await refuse_writes(world, "outboxitem")
    world.slack.fail("chat.postMessage", error="fatal_error")

    with caplog.at_level(logging.INFO):
        response = await world.submit("U0AMY", modal, JOIN)
        assert await response.text() == ""
        await until(lambda: "could not be sent directly" in caplog.text, within=5)

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("queueing a reply" in r.getMessage() for r in errors)
    for written in ("U0AMY", "Person Amy", "something went wrong"):
        assert written not in caplog.text


async def test_a_retry_can_be_the_first_copy_that_arrives(world: SlackWorld) -> None:
    event = {"type": "app_home_opened", "user": "U0AMY", "channel": "D0AMY", "tab": "home"}
    assert (await world.event(event, "Ev7", retry=2)).status == 200
    await until(lambda: len(world.slack.calls_to("views.publish")) == 1)


async def test_an_expired_trigger_gets_a_kind_word_not_silence(world: SlackWorld) -> None:
    world.slack.delay("users.info", 3.5)  # longer than our 1 s profile budget, so not waited on
    trigger, reply = await world.slash("U0AMY", "join")
    await world.opened_modal(trigger)  # opened in time: the slow lookup was abandoned
    world.slack.delay("users.info", 0)
    world.slack.expire_trigger("2.2.trigger")
    trigger, reply = await world.slash("U0BEN", "join")
    assert trigger == "2.2.trigger"
    assert "took too long to open" in await world.answer(reply)


async def test_a_roster_keyed_by_email_applies_to_slack_users(world: SlackWorld) -> None:
    """Vic manages Amy. The HR export only has emails; the join links them to Slack ids,
    so matching keeps them apart (without the link they'd be a perfect pair)."""
    from flows.roster import import_roster

    roster = (
        "email,name,job_level,department,manager\n"
        "u0amy@example.com,Amy,1,Ops,u0vic@example.com\n"
        "u0vic@example.com,Vic,6,Ops,\n"
    )
    report = await world.app.engine.run(
        lambda ctx: import_roster(ctx, roster, platform="slack", tenant=TEAM)
    )
    assert report.imported == 2
    await join(world, "U0AMY")
    await join(world, "U0VIC", role="mentee", offers=["career_growth"], wants=["ai_tools"])
    _, preview = await world.slash(ADMIN, "admin match 1")
    text = await world.answer(preview)
    assert "Proposed 0 pairs" in text
    assert "no job level in the roster" not in text


async def test_admin_channel_here_said_in_a_slack_channel(world: SlackWorld) -> None:
    world.slack.add_channel("C0LEADS", "mentoring-leads")
    _, refused = await world.slash("U0AMY", "admin channel here", channel="C0LEADS")
    assert "only program admins" in await world.answer(refused)
    _, in_dm = await world.slash(ADMIN, "admin channel here")
    assert "in the channel itself" in await world.answer(in_dm)
    _, done = await world.slash(ADMIN, "admin channel here", channel="C0LEADS")
    assert "digests will be posted in this channel" in await world.answer(done)
    _, listing = await world.slash(ADMIN, "admin channel")
    text = await world.answer(listing)
    assert "C0LEADS" in text and ADMIN_CHANNEL in text
