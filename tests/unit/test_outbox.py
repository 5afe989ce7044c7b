"""The outbox dispatcher: idempotent queueing, working hours, retries, holds and failures.

Real SQLite files, the real repositories and FlowContext; only the platform is faked, by a
small adapter written here that records what it was asked to deliver.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import TypeAdapter

from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.events import Actor
from bot.messages import Message, Text, ToChannel, ToPair, ToPerson
from bot.outbox import Dispatcher
from bot.ports import Capabilities, Receipt
from flows.context import FlowContext, Policy
from storage.crypto import Cipher
from storage.db import Database
from storage.models import OutboxItem
from storage.repositories import Repositories
from storage.repositories.outbox import Outbox

# Monday 4 January 2027, 09:00 UTC: 04:00 in New York (EST, UTC-5).
MONDAY_9_UTC = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
CIPHER = Cipher([Fernet.generate_key().decode()])

ANA = Actor(platform="console", tenant="acme", user_id="ana")
BOB = Actor(platform="console", tenant="acme", user_id="bob")
TO_ANA = ToPerson(person=ANA)
TO_BOB = ToPerson(person=BOB)
TO_ADMINS = ToChannel(platform="console", tenant="acme", channel_id="mentoring-admins")

Address = ToPerson | ToPair | ToChannel


class FakeAdapter:
    """Implements bot.ports.Adapter. `script[key]` is a list of exceptions raised by the
    next deliveries of that key (one per attempt); `always[key]` is raised every time."""

    def __init__(self, platform: str = "console") -> None:
        self.platform = platform
        self.capabilities = Capabilities(group_dm=True)
        self.attempts: list[str] = []
        self.delivered: list[tuple[Address, Message, str]] = []
        self.script: dict[str, list[BaseException]] = {}
        self.always: dict[str, BaseException] = {}

    async def deliver(self, address: Address, message: Message, *, key: str) -> Receipt:
        self.attempts.append(key)
        if key in self.always:
            raise self.always[key]
        if self.script.get(key):
            raise self.script[key].pop(0)
        self.delivered.append((address, message, key))
        return Receipt(platform_id=f"ts-{len(self.delivered)}")

    @property
    def delivered_keys(self) -> list[str]:
        return [key for _, _, key in self.delivered]


def note(text: str) -> Message:
    return Message(summary=text, blocks=(Text(text=text),))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}")
    await database.create_all()
    yield database
    await database.dispose()


@pytest.fixture
def adapter() -> FakeAdapter:
    return FakeAdapter()


@pytest.fixture
def dispatcher(db: Database, adapter: FakeAdapter) -> Dispatcher:
    return Dispatcher(db, {"console": adapter})


async def queue(
    db: Database,
    key: str,
    address: Address,
    message: Message | None = None,
    *,
    now: datetime = MONDAY_9_UTC,
    timezones: list[str] | None = None,
    at: datetime | None = None,
    expires_at: datetime | None = None,
) -> bool:
    async with db.session() as session:
        ctx = FlowContext(Repositories(session, CIPHER), now, Policy())
        queued = await ctx.send(
            key, address, message or note(key), timezones=timezones, at=at, expires_at=expires_at
        )
        await session.commit()
    return queued


async def item(db: Database, key: str) -> OutboxItem:
    async with db.session() as session:
        found = await Outbox(session).get(key)
    assert found is not None, key
    return found


async def all_items(db: Database) -> list[OutboxItem]:
    async with db.session() as session:
        return await Outbox(session).all()


# --- idempotency -------------------------------------------------------------------------


async def test_same_key_queued_twice_is_stored_once_and_delivered_once(
    db: Database, adapter: FakeAdapter, dispatcher: Dispatcher
) -> None:
    assert await queue(db, "prompt:7:1", TO_ANA, note("first wording")) is True
    assert await queue(db, "prompt:7:1", TO_ANA, note("second wording")) is False

    items = await all_items(db)
    assert [(i.key, i.message["summary"]) for i in items] == [("prompt:7:1", "first wording")]

    first = await dispatcher.run_once(MONDAY_9_UTC)
    second = await dispatcher.run_once(MONDAY_9_UTC + timedelta(hours=1))
    assert (first.sent, second.sent) == (1, 0)
    assert adapter.delivered_keys == ["prompt:7:1"]
    address, message, _ = adapter.delivered[0]
    assert address == TO_ANA
    assert message == note("first wording")

    sent = await item(db, "prompt:7:1")
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 1, MONDAY_9_UTC)
    assert sent.platform_id == "ts-1"


async def test_queueing_after_delivery_does_not_send_again(
    db: Database, adapter: FakeAdapter, dispatcher: Dispatcher
) -> None:
    await queue(db, "intro:3", TO_ANA)
    await dispatcher.run_once(MONDAY_9_UTC)
    assert await queue(db, "intro:3", TO_ANA, now=MONDAY_9_UTC + timedelta(days=1)) is False
    await dispatcher.run_once(MONDAY_9_UTC + timedelta(days=2))
    assert adapter.delivered_keys == ["intro:3"]


# --- working hours -------------------------------------------------------------------------


async def test_person_in_new_york_waits_for_local_working_hours_but_channel_goes_at_once(
    db: Database, adapter: FakeAdapter, dispatcher: Dispatcher
) -> None:
    await queue(db, "nudge:ana", TO_ANA, timezones=["America/New_York"])
    await queue(db, "digest:1", TO_ADMINS)

    person = await item(db, "nudge:ana")
    assert person.not_before == datetime(2027, 1, 4, 14, 0, tzinfo=UTC)  # 09:00 EST
    assert (await item(db, "digest:1")).not_before == MONDAY_9_UTC

    await dispatcher.run_once(MONDAY_9_UTC)
    assert adapter.delivered_keys == ["digest:1"]

    await dispatcher.run_once(datetime(2027, 1, 4, 13, 59, tzinfo=UTC))
    assert adapter.delivered_keys == ["digest:1"]

    report = await dispatcher.run_once(datetime(2027, 1, 4, 14, 0, tzinfo=UTC))
    assert report.sent == 1
    assert adapter.delivered_keys == ["digest:1", "nudge:ana"]


# --- transient errors ---------------------------------------------------------------------


async def test_transient_error_keeps_item_pending_and_waits_at_least_retry_after(
    db: Database, adapter: FakeAdapter, dispatcher: Dispatcher
) -> None:
    await queue(db, "checkin:ana:1", TO_ANA)
    adapter.script["checkin:ana:1"] = [TransientDeliveryError("service unavailable", 600)]

    report = await dispatcher.run_once(MONDAY_9_UTC)
    assert (report.sent, report.retried, report.failed) == (0, 1, 0)

    pending = await item(db, "checkin:ana:1")
    assert (pending.status, pending.attempts) == ("pending", 0)  # "not now" uses no attempt
    assert pending.not_before >= MONDAY_9_UTC + timedelta(seconds=600)
    assert pending.last_error == "service unavailable"

    await dispatcher.run_once(MONDAY_9_UTC + timedelta(seconds=599))
    assert adapter.attempts == ["checkin:ana:1"]  # not tried again before the wait is over

    report = await dispatcher.run_once(pending.not_before)
    assert report.sent == 1
    sent = await item(db, "checkin:ana:1")
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 1, None)
    assert adapter.delivered_keys == ["checkin:ana:1"]


async def test_repeated_rate_limits_never_exhaust_an_item(
    db: Database, adapter: FakeAdapter
) -> None:
    dispatcher = Dispatcher(db, {"console": adapter}, max_attempts=2)
    await queue(db, "prompt:1:1", TO_ANA)
    adapter.script["prompt:1:1"] = [TransientDeliveryError("ratelimited", retry_after=1)] * 5
    moment = MONDAY_9_UTC
    for _ in range(5):
        await dispatcher.run_once(moment)
        moment += timedelta(minutes=5)
    await dispatcher.run_once(moment)
    assert (await item(db, "prompt:1:1")).status == "sent"


async def test_transient_error_without_retry_after_backs_off(
    db: Database, adapter: FakeAdapter, dispatcher: Dispatcher
) -> None:
    await queue(db, "prompt:1:1", TO_ANA)
    adapter.script["prompt:1:1"] = [TransientDeliveryError("timeout")]
    await dispatcher.run_once(MONDAY_9_UTC)
    pending = await item(db, "prompt:1:1")
    assert pending.status == "pending"
    assert pending.not_before > MONDAY_9_UTC


async def test_gives_up_after_max_attempts_and_records_the_reason(
    db: Database, adapter: FakeAdapter
) -> None:
    dispatcher = Dispatcher(db, {"console": adapter}, max_attempts=3)
    await queue(db, "prompt:2:1", TO_ANA)
    adapter.always["prompt:2:1"] = TransientDeliveryError("gateway timeout")

    now = MONDAY_9_UTC
    for _ in range(3):
        await dispatcher.run_once(now)
        now = max(now, (await item(db, "prompt:2:1")).not_before)

    failed = await item(db, "prompt:2:1")
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert failed.last_error is not None
    assert "gateway timeout" in failed.last_error

    await dispatcher.run_once(now + timedelta(days=30))
    assert adapter.attempts == ["prompt:2:1"] * 3
    assert adapter.delivered == []


# --- permanent errors ---------------------------------------------------------------------


async def test_permanent_error_fails_at_once_and_is_never_retried(
    db: Database, adapter: FakeAdapter, dispatcher: Dispatcher
) -> None:
    await queue(db, "intro:9", TO_ANA)
    adapter.always["intro:9"] = PermanentDeliveryError("user_not_found: ana left the workspace")

    report = await dispatcher.run_once(MONDAY_9_UTC)
    assert (report.sent, report.retried, report.failed) == (0, 0, 1)

    failed = await item(db, "intro:9")
    assert failed.status == "failed"
    assert failed.attempts == 1
    assert failed.last_error == "user_not_found: ana left the workspace"

    for days in (1, 7, 60):
        await dispatcher.run_once(MONDAY_9_UTC + timedelta(days=days))
    assert adapter.attempts == ["intro:9"]
    async with db.session() as session:
        assert [f.key for f in await Outbox(session).failures()] == ["intro:9"]


# --- rate limits --------------------------------------------------------------------------


async def test_rate_limit_holds_that_destination_for_the_run_but_others_still_go(
    db: Database, adapter: FakeAdapter, dispatcher: Dispatcher
) -> None:
    await queue(db, "a:ana:1", TO_ANA)
    await queue(db, "b:ana:2", TO_ANA)
    await queue(db, "c:bob:1", TO_BOB)
    await queue(db, "d:channel", TO_ADMINS)
    adapter.script["a:ana:1"] = [TransientDeliveryError("ratelimited", retry_after=30)]

    report = await dispatcher.run_once(MONDAY_9_UTC)

    assert adapter.attempts == ["a:ana:1", "c:bob:1", "d:channel"]  # b:ana:2 was held
    assert report.sent == 2
    held = await item(db, "b:ana:2")
    assert (held.status, held.attempts) == ("pending", 0)
    limited = await item(db, "a:ana:1")
    assert limited.not_before >= MONDAY_9_UTC + timedelta(seconds=30)

    await dispatcher.run_once(limited.not_before)
    assert sorted(adapter.delivered_keys) == ["a:ana:1", "b:ana:2", "c:bob:1", "d:channel"]


# --- unexpected errors ----------------------------------------------------------------------

SECRET = "I worry the reorg will sideline my team"


def _formatted(records: list[logging.LogRecord]) -> str:
    """What our own loggers wrote, as a log handler renders it (traceback included)."""
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
    ours = [r for r in records if r.name.split(".")[0] in {"bot", "flows", "storage"}]
    return "\n".join(formatter.format(record) for record in ours)


async def test_unexpected_exception_is_retried_and_logged_without_message_text(
    db: Database, adapter: FakeAdapter, dispatcher: Dispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    await queue(db, "checkin:ana:2", TO_ANA, note(SECRET))
    adapter.script["checkin:ana:2"] = [RuntimeError("connection reset by peer")]

    with caplog.at_level(logging.DEBUG):
        report = await dispatcher.run_once(MONDAY_9_UTC)

    assert report.retried == 1
    pending = await item(db, "checkin:ana:2")
    assert (pending.status, pending.attempts) == ("pending", 1)
    assert pending.last_error is not None
    assert SECRET not in pending.last_error
    assert any(r.name == "bot.outbox" for r in caplog.records), "the error is logged"
    assert SECRET not in _formatted(caplog.records)

    await dispatcher.run_once(pending.not_before)
    assert adapter.delivered_keys == ["checkin:ana:2"]


class RenderingAdapter(FakeAdapter):
    """An adapter whose rendering step trips over the content: pydantic, json and HTTP
    client errors routinely quote the offending input in their message."""

    async def deliver(self, address: Address, message: Message, *, key: str) -> Receipt:
        self.attempts.append(key)
        TypeAdapter(int).validate_python(message.summary)
        raise AssertionError("unreachable")


async def test_unexpected_exception_quoting_the_message_does_not_leak_it_into_logs(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher = Dispatcher(db, {"console": RenderingAdapter()})
    await queue(db, "checkin:ana:3", TO_ANA, note(SECRET))

    with caplog.at_level(logging.DEBUG):
        await dispatcher.run_once(MONDAY_9_UTC)

    assert (await item(db, "checkin:ana:3")).status == "pending"
    assert SECRET not in _formatted(caplog.records)


# --- configuration --------------------------------------------------------------------------


async def test_a_platform_served_by_another_process_is_left_queued(
    db: Database, adapter: FakeAdapter, dispatcher: Dispatcher
) -> None:
    """`upward tick` from cron has no Teams adapter: the item waits for `upward serve`."""
    teams_user = ToPerson(person=Actor(platform="teams", tenant="t1", user_id="29:abc"))
    await queue(db, "intro:teams", teams_user)
    await queue(db, "intro:console", TO_ANA)

    report = await dispatcher.run_once(MONDAY_9_UTC)
    assert (report.sent, report.failed, report.waiting) == (1, 0, {"teams"})
    waiting = await item(db, "intro:teams")
    assert (waiting.status, waiting.attempts) == ("pending", 0)
    assert adapter.attempts == ["intro:console"]


# --- cancellation ---------------------------------------------------------------------------


async def test_cancel_pending_for_cancels_only_that_recipients_pending_items(
    db: Database, adapter: FakeAdapter, dispatcher: Dispatcher
) -> None:
    later = MONDAY_9_UTC + timedelta(days=3)
    await queue(db, "ana:sent", TO_ANA)
    await queue(db, "ana:failed", TO_ANA)
    adapter.always["ana:failed"] = PermanentDeliveryError("user left")
    await dispatcher.run_once(MONDAY_9_UTC)

    await queue(db, "ana:later:1", TO_ANA, at=later)
    await queue(db, "ana:later:2", TO_ANA, at=later)
    await queue(db, "bob:later", TO_BOB, at=later)
    pair = ToPair(pair_id=7, members=(ANA, BOB), names=("Ana", "Bob"))
    await queue(db, "pair:later", pair, at=later)
    await queue(db, "channel:later", TO_ADMINS, at=later)

    async with db.session() as session:
        cancelled = await Outbox(session).cancel_pending_for(ANA.key)
        await session.commit()
    assert cancelled == 2

    statuses = {i.key: i.status for i in await all_items(db)}
    assert statuses == {
        "ana:sent": "sent",
        "ana:failed": "failed",
        "ana:later:1": "cancelled",
        "ana:later:2": "cancelled",
        "bob:later": "pending",
        "pair:later": "pending",
        "channel:later": "pending",
    }

    async with db.session() as session:
        assert await Outbox(session).cancel_pending_for("pair:7") == 1
        await session.commit()

    await dispatcher.run_once(later)
    assert adapter.delivered_keys == ["ana:sent", "bob:later", "channel:later"]


# --- concurrency ----------------------------------------------------------------------------


class SlowAdapter(FakeAdapter):
    """Delivery takes a moment, long enough for another dispatcher to look at the queue."""

    def __init__(self) -> None:
        super().__init__()
        self.both_arrived = asyncio.Event()

    async def deliver(self, address: Address, message: Message, *, key: str) -> Receipt:
        self.attempts.append(key)
        if len(self.attempts) >= 2:
            self.both_arrived.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.both_arrived.wait(), timeout=0.5)
        self.delivered.append((address, message, key))
        return Receipt(platform_id="ts")


async def test_two_dispatchers_never_send_the_same_item_twice(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    first_db, second_db = Database(url), Database(url)
    try:
        await first_db.create_all()
        await queue(first_db, "prompt:5:1", TO_ANA)
        adapter = SlowAdapter()
        await asyncio.gather(
            Dispatcher(first_db, {"console": adapter}).run_once(MONDAY_9_UTC),
            Dispatcher(second_db, {"console": adapter}).run_once(MONDAY_9_UTC),
        )
        assert adapter.delivered_keys == ["prompt:5:1"]
    finally:
        await first_db.dispose()
        await second_db.dispose()


async def test_drain_lets_the_send_under_way_finish_and_claims_nothing_more(
    db: Database, adapter: FakeAdapter
) -> None:
    """Graceful shutdown: the message being sent is recorded as sent; the rest stay
    pending, unclaimed, for the next process."""
    for name in ("a", "b", "c"):
        await queue(db, name, TO_ADMINS)
    started, release = asyncio.Event(), asyncio.Event()
    deliver = adapter.deliver

    async def slow(address: Address, message: Message, *, key: str) -> Receipt:
        started.set()
        await release.wait()
        return await deliver(address, message, key=key)

    adapter.deliver = slow  # type: ignore[method-assign]
    dispatcher = Dispatcher(db, {"console": adapter})
    run = asyncio.create_task(dispatcher.run_once(MONDAY_9_UTC))
    await started.wait()
    drained = asyncio.create_task(dispatcher.drain())
    await asyncio.sleep(0.05)
    assert not drained.done()  # waits for the send under way
    release.set()
    await drained
    report = await run
    assert report.sent == 1
    statuses = sorted((i.key, i.status, i.claimed_until) for i in await all_items(db))
    assert statuses == [("a", "sent", None), ("b", "pending", None), ("c", "pending", None)]
