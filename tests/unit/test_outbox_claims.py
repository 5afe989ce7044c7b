"""Claiming and the persisted states of the outbox: batch claims (one statement), leases
that run out (`sending` -> `ambiguous` -> reconciled, never sent twice), and several
dispatchers at once, on SQLite and, when UPWARD_TEST_POSTGRES_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from bot.errors import TransientDeliveryError
from bot.events import Actor
from bot.messages import Message, ToPerson
from bot.outbox import FIRST_CLAIM, Dispatcher
from bot.ports import Receipt
from storage.db import Database
from storage.models import OutboxItem
from storage.repositories.outbox import Outbox
from storage.repositories.senders import Senders
from tests.conftest import ADMIN
from tests.helpers import text_of
from tests.pg import fresh_schema
from tests.unit.test_outbox import (
    MONDAY_9_UTC,
    TO_ADMINS,
    TO_ANA,
    Address,
    FakeAdapter,
    all_items,
    item,
    queue,
)

LEASE = timedelta(minutes=5)
AFTER_LEASE = MONDAY_9_UTC + LEASE + timedelta(seconds=1)


class ReconcilingAdapter(FakeAdapter):
    """Like Slack: `reconcile` looks for the key among what the platform already has and
    posts only if it is missing."""

    def __init__(self) -> None:
        super().__init__()
        self.reconciled: list[str] = []

    async def reconcile(self, address: Address, message: Message, *, key: str) -> Receipt:
        self.reconciled.append(key)
        if key in self.delivered_keys:
            return Receipt(platform_id="already-there")
        return await self.deliver(address, message, key=key)


class SlowAdapter(ReconcilingAdapter):
    """Each send takes a moment, so that rival dispatchers overlap."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    async def deliver(self, address: Address, message: Message, *, key: str) -> Receipt:
        await asyncio.sleep(self.seconds)
        return await super().deliver(address, message, key=key)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'claims.db'}")
    await database.create_all()
    yield database
    await database.dispose()


@contextlib.asynccontextmanager
async def postgres_replicas(count: int) -> AsyncIterator[list[Database]]:
    """`count` connections to one fresh PostgreSQL schema with the tables, as replicas."""
    async with fresh_schema() as pg:
        replicas = [pg.database() for _ in range(count)]
        try:
            await replicas[0].create_all()
            yield replicas
        finally:
            for db in replicas:
                await db.dispose()


def person(n: int) -> ToPerson:
    return ToPerson(person=Actor(platform="console", tenant="acme", user_id=f"u{n:03d}"))


async def claim(db: Database, limit: int, moment=MONDAY_9_UTC) -> list[OutboxItem]:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        claimed = await Outbox(session).claim(moment, LEASE, limit, ("console",))
        await session.commit()
    return claimed


async def crash_mid_send(db: Database, adapter: FakeAdapter, key: str, *, arrived: bool) -> None:
    """A dispatcher claims `key` and dies while sending it: the platform got it or not."""
    [claimed] = await claim(db, 1)
    assert (claimed.key, claimed.status) == (key, "sending")
    if arrived:
        await adapter.deliver(TO_ANA, Message.model_validate(claimed.message), key=key)


# --- batch claims ---------------------------------------------------------------------------


async def test_a_claim_takes_the_oldest_due_items_in_one_go_and_leaves_the_rest(
    db: Database,
) -> None:
    for n in range(10):
        await queue(db, f"p:{n}", person(n), at=MONDAY_9_UTC + timedelta(seconds=n))
    await queue(db, "later", TO_ANA, at=MONDAY_9_UTC + timedelta(days=1))

    claimed = await claim(db, 4, MONDAY_9_UTC + timedelta(minutes=1))

    assert [c.key for c in claimed] == ["p:0", "p:1", "p:2", "p:3"]
    lease_end = MONDAY_9_UTC + timedelta(minutes=1) + LEASE
    assert {(c.status, c.attempts, c.claimed_until) for c in claimed} == {("sending", 1, lease_end)}
    statuses = Counter(i.status for i in await all_items(db))
    assert statuses == {"sending": 4, "pending": 7}
    again = await claim(db, 100, MONDAY_9_UTC + timedelta(minutes=1))
    assert [c.key for c in again] == [f"p:{n}" for n in range(4, 10)]


async def test_a_dispatcher_claims_a_few_at_a_time_not_the_whole_queue(db: Database) -> None:
    """While the first message is on its way, rivals can still take the rest."""
    for n in range(30):
        await queue(db, f"p:{n}", person(n))
    adapter = FakeAdapter()
    in_flight: list[int] = []
    deliver = adapter.deliver

    async def looking(address: Address, message: Message, *, key: str) -> Receipt:
        if key == "p:0":
            in_flight.append(sum(i.status == "sending" for i in await all_items(db)))
        return await deliver(address, message, key=key)

    adapter.deliver = looking  # type: ignore[method-assign]
    report = await Dispatcher(db, {"console": adapter}).run_once(MONDAY_9_UTC)

    assert in_flight == [FIRST_CLAIM]
    assert report.sent == 30  # the claims grew with the pace it measured
    assert sorted(adapter.delivered_keys) == sorted(f"p:{n}" for n in range(30))


async def test_items_whose_lease_is_nearly_over_are_given_back_not_sent(db: Database) -> None:
    for name in ("a", "b", "c"):
        await queue(db, name, TO_ADMINS)
    adapter = SlowAdapter(0.3)
    dispatcher = Dispatcher(db, {"console": adapter}, lease=timedelta(seconds=0.3), batch=3)

    report = await dispatcher.run_once(MONDAY_9_UTC)

    assert (report.sent, adapter.delivered_keys) == (1, ["a"])
    rest = [(i.key, i.status, i.attempts, i.claimed_until) for i in await all_items(db)][1:]
    assert rest == [("b", "pending", 0, None), ("c", "pending", 0, None)]


async def test_a_held_destination_gives_back_its_other_items_until_retry_after(
    db: Database,
) -> None:
    await queue(db, "a", TO_ANA)
    await queue(db, "b", TO_ANA)
    adapter = FakeAdapter()
    adapter.script["a"] = [TransientDeliveryError("ratelimited", retry_after=20)]

    report = await Dispatcher(db, {"console": adapter}).run_once(MONDAY_9_UTC)

    assert report.held == {TO_ANA.person.key}
    held = await item(db, "b")
    assert (held.status, held.attempts, held.claimed_until) == ("pending", 0, None)
    assert held.not_before == MONDAY_9_UTC + timedelta(seconds=20)
    assert adapter.attempts == ["a"]


# --- leases that run out: ambiguous -----------------------------------------------------------


async def test_an_expired_lease_becomes_ambiguous_and_is_reconciled_not_sent_twice(
    db: Database,
) -> None:
    adapter = ReconcilingAdapter()
    await queue(db, "prompt:1:1", TO_ANA)
    await crash_mid_send(db, adapter, "prompt:1:1", arrived=True)

    async with db.session() as session:
        assert await Outbox(session).expire_leases(MONDAY_9_UTC + LEASE) == 0  # lease still on
        assert await Outbox(session).expire_leases(AFTER_LEASE) == 1
        await session.commit()
    ambiguous = await item(db, "prompt:1:1")
    assert (ambiguous.status, ambiguous.claimed_until) == ("ambiguous", None)
    async with db.session() as session:
        assert await Outbox(session).counts() == {"ambiguous": 1}

    report = await Dispatcher(db, {"console": adapter}).run_once(AFTER_LEASE)

    assert (report.ambiguous, report.sent) == (1, 1)
    assert adapter.reconciled == ["prompt:1:1"]
    assert adapter.delivered_keys == ["prompt:1:1"]  # once, before the crash
    done = await item(db, "prompt:1:1")
    assert (done.status, done.platform_id, done.attempts) == ("sent", "already-there", 2)


async def test_an_ambiguous_item_that_never_arrived_is_posted_by_the_reconciliation(
    db: Database,
) -> None:
    adapter = ReconcilingAdapter()
    await queue(db, "prompt:1:1", TO_ANA)
    await crash_mid_send(db, adapter, "prompt:1:1", arrived=False)

    report = await Dispatcher(db, {"console": adapter}).run_once(AFTER_LEASE)

    assert (report.ambiguous, report.sent) == (1, 1)
    assert adapter.delivered_keys == ["prompt:1:1"]
    assert (await item(db, "prompt:1:1")).status == "sent"


async def test_an_ambiguous_item_stays_ambiguous_through_a_transient_error(
    db: Database,
) -> None:
    """The retry reconciles again: a plain send could post it a second time."""
    adapter = ReconcilingAdapter()
    await queue(db, "prompt:1:1", TO_ANA)
    await crash_mid_send(db, adapter, "prompt:1:1", arrived=True)
    reconcile = adapter.reconcile
    failures = [TransientDeliveryError("history unavailable")]

    async def flaky(address: Address, message: Message, *, key: str) -> Receipt:
        if failures:
            adapter.reconciled.append(key)
            raise failures.pop()
        return await reconcile(address, message, key=key)

    adapter.reconcile = flaky  # type: ignore[method-assign]
    dispatcher = Dispatcher(db, {"console": adapter})

    report = await dispatcher.run_once(AFTER_LEASE)
    assert (report.ambiguous, report.retried) == (1, 1)
    waiting = await item(db, "prompt:1:1")
    assert (waiting.status, waiting.claimed_until) == ("ambiguous", None)
    assert waiting.not_before > AFTER_LEASE

    report = await dispatcher.run_once(waiting.not_before)
    assert (report.ambiguous, report.sent) == (1, 1)
    assert adapter.reconciled == ["prompt:1:1", "prompt:1:1"]
    assert adapter.delivered_keys == ["prompt:1:1"]


async def test_without_reconcile_an_ambiguous_item_is_sent_once_more_and_logged(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Teams cannot tell whether it has the message: it is sent again, once, with a warning."""
    adapter = FakeAdapter()
    await queue(db, "intro:7", TO_ANA)
    await crash_mid_send(db, adapter, "intro:7", arrived=False)

    with caplog.at_level(logging.WARNING, logger="bot.outbox"):
        report = await Dispatcher(db, {"console": adapter}).run_once(AFTER_LEASE)
        await Dispatcher(db, {"console": adapter}).run_once(AFTER_LEASE + LEASE * 2)

    assert (report.ambiguous, report.sent) == (1, 1)
    assert adapter.delivered_keys == ["intro:7"]
    assert any(
        "intro:7" in r.getMessage() and "sent again" in r.getMessage() for r in caplog.records
    )


async def test_a_dispatcher_that_dies_while_reconciling_leaves_it_ambiguous_for_the_next(
    db: Database,
) -> None:
    adapter = ReconcilingAdapter()
    await queue(db, "prompt:1:1", TO_ANA)
    await crash_mid_send(db, adapter, "prompt:1:1", arrived=True)
    async with db.session() as session:
        await Outbox(session).expire_leases(AFTER_LEASE)
        await session.commit()
    [taken] = await claim(db, 5, AFTER_LEASE)  # a reconciler claims it, then dies
    assert (taken.status, taken.claimed_until) == ("ambiguous", AFTER_LEASE + LEASE)
    assert await claim(db, 5, AFTER_LEASE) == []  # nobody else while its lease runs

    later = AFTER_LEASE + LEASE + timedelta(seconds=1)
    report = await Dispatcher(db, {"console": adapter}).run_once(later)
    assert (report.ambiguous, report.sent) == (1, 1)
    assert adapter.delivered_keys == ["prompt:1:1"]


async def test_two_dispatchers_on_sqlite_reconcile_an_ambiguous_item_once(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    first_db, second_db = Database(url), Database(url)
    try:
        await first_db.create_all()
        adapter = SlowAdapter(0.05)
        for n in range(6):
            await queue(first_db, f"p:{n}", person(n))
            await crash_mid_send(first_db, adapter, f"p:{n}", arrived=n % 2 == 0)
        await asyncio.gather(
            Dispatcher(first_db, {"console": adapter}).run_once(AFTER_LEASE),
            Dispatcher(second_db, {"console": adapter}).run_once(AFTER_LEASE),
        )
        assert sorted(adapter.reconciled) == [f"p:{n}" for n in range(6)]
        assert sorted(adapter.delivered_keys) == [f"p:{n}" for n in range(6)]
    finally:
        await first_db.dispose()
        await second_db.dispose()


# --- PostgreSQL: replicas at once ---------------------------------------------------------------


@pytest.mark.postgres
async def test_concurrent_batch_claims_on_postgres_never_claim_an_item_twice() -> None:
    async with postgres_replicas(4) as claimers:
        for n in range(300):
            await queue(claimers[0], f"p:{n}", person(n))

        async def claim_until_empty(db: Database) -> list[int]:
            taken: list[int] = []
            while batch := await claim(db, 7):
                assert len(batch) <= 7, "a claim never takes more than asked"
                taken += [c.id for c in batch if c.id is not None]
                await asyncio.sleep(0)
            return taken

        for db in claimers:  # connected before the race starts
            async with db.session() as session:
                await session.exec(select(1))
        results = await asyncio.gather(*(claim_until_empty(db) for db in claimers))
        ids = [i for taken in results for i in taken]
        assert len(ids) == len(set(ids)) == 300, "each item claimed exactly once"
        assert all(results), "every claimer got a share (none was shut out)"
        statuses = {(i.status, i.attempts) for i in await all_items(claimers[0])}
        assert statuses == {("sending", 1)}


@pytest.mark.postgres
async def test_replica_dispatchers_on_postgres_send_each_item_once_and_reconcile_once() -> None:
    async with postgres_replicas(3) as replicas:
        adapter = SlowAdapter(0.01)
        for n in range(6):  # six sends cut short by a crash: three reached the platform
            await queue(replicas[0], f"crashed:{n}", person(n))
            await crash_mid_send(replicas[0], adapter, f"crashed:{n}", arrived=n % 2 == 0)
        for n in range(60):
            await queue(replicas[0], f"p:{n}", person(100 + n))

        async def dispatch(db: Database) -> int:
            dispatcher, sent = Dispatcher(db, {"console": adapter}), 0
            while report := await dispatcher.run_once(AFTER_LEASE):
                if not report.sent:
                    return sent
                sent += report.sent
            return sent

        sent = await asyncio.gather(*(dispatch(db) for db in replicas))

        assert sum(sent) == 66
        assert sorted(adapter.reconciled) == sorted(f"crashed:{n}" for n in range(6))
        delivered = Counter(adapter.delivered_keys)
        assert set(delivered.values()) == {1}, f"sent twice: {delivered}"
        assert len(delivered) == 66
        assert {i.status for i in await all_items(replicas[0])} == {"sent"}


# --- visible to admins ------------------------------------------------------------------------


async def test_admin_status_counts_ambiguous_messages(session, program, app, clock) -> None:  # type: ignore[no-untyped-def]
    async def send(ctx) -> None:  # type: ignore[no-untyped-def]
        await ctx.send("nudge:ana", TO_ANA, Message(summary="Hello", blocks=()))

    await app.engine.run(send)
    assert len(await claim(app.db, 1, clock.now())) == 1  # then the dispatcher died
    async with app.db.session() as s:
        assert await Outbox(s).expire_leases(clock.now() + LEASE * 2) == 1
        await s.commit()

    text = text_of(await session.say(ADMIN, "admin status"))

    assert "Messages ambiguous: 1" in text


# --- replicas share the overall rate ----------------------------------------------------------


class SharingAdapter(FakeAdapter):
    """Like Slack and Teams: paces itself within an overall rate, shared between the
    dispatchers sending at once."""

    def __init__(self) -> None:
        super().__init__()
        self.shares: list[int] = []

    def share_rate(self, senders: int) -> None:
        self.shares.append(senders)


async def share_between(databases: list[Database]) -> None:
    """Three dispatchers: a and b send together, b stops (gracefully), then a sends alone
    and c, which never sent, is not counted."""
    a, b, c = SharingAdapter(), SharingAdapter(), SharingAdapter()
    dispatchers = [
        Dispatcher(databases[n % len(databases)], {"console": adapter}, batch=3, share_every=0)
        for n, adapter in enumerate((a, b, c))
    ]
    for n in range(6):
        await queue(databases[0], f"p:{n}", person(n))
    first, second, third = dispatchers

    await first.run_once(MONDAY_9_UTC)  # claims and sends three: alone so far
    assert a.shares == [1]
    await second.run_once(MONDAY_9_UTC)  # the other three: a was seen sending moments ago
    assert b.shares == [2]
    await third.run_once(MONDAY_9_UTC)  # nothing left to claim: not a sender
    assert c.shares == []

    await second.drain()
    await queue(databases[0], "later", person(99))
    await first.run_once(MONDAY_9_UTC)
    assert a.shares == [1, 1]  # b said it stopped
    assert sorted(a.delivered_keys + b.delivered_keys) == sorted(
        [f"p:{n}" for n in range(6)] + ["later"]
    )


async def test_dispatchers_sending_at_once_share_the_overall_rate(db: Database) -> None:
    await share_between([db])


async def test_a_dispatcher_that_went_quiet_no_longer_takes_a_share(db: Database) -> None:
    quiet, busy = SharingAdapter(), SharingAdapter()
    for n in range(8):
        await queue(db, f"p:{n}", person(n))
    await Dispatcher(db, {"console": quiet}, batch=2, share_every=0).run_once(MONDAY_9_UTC)
    sender = Dispatcher(
        db, {"console": busy}, batch=2, share_every=0, share_live=timedelta(seconds=1)
    )
    await sender.run_once(MONDAY_9_UTC)  # within a second of the quiet one, even under load
    assert busy.shares == [2]
    await asyncio.sleep(1.2)  # the quiet one was last seen longer ago than share_live
    await sender.run_once(MONDAY_9_UTC)
    assert busy.shares == [2, 1]


@pytest.mark.postgres
async def test_replicas_on_postgres_share_the_overall_rate() -> None:
    async with postgres_replicas(2) as replicas:
        await share_between(replicas)


async def test_when_the_senders_cannot_be_counted_the_claimed_items_still_go(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def unavailable(*_: object, **__: object) -> None:
        raise OperationalError("UPDATE sender", {}, Exception("database is locked"))

    monkeypatch.setattr(Senders, "seen", unavailable)
    monkeypatch.setattr(Senders, "gone", unavailable)
    adapter = SharingAdapter()
    for n in range(3):
        await queue(db, f"p:{n}", person(n))
    dispatcher = Dispatcher(db, {"console": adapter}, share_every=0)

    report = await dispatcher.run_once(MONDAY_9_UTC)
    await dispatcher.drain()  # and a stop that can't remove its row still stops

    assert report.sent == 3 and adapter.shares == []  # the pacer keeps its last share
    assert {i.status for i in await all_items(db)} == {"sent"}
    assert "could not count the dispatchers sending: OperationalError" in caplog.text


async def test_a_message_whose_moment_has_passed_is_never_delivered_late(db: Database) -> None:
    """After an outage, an invitation that closed meanwhile is expired, not sent."""
    closes = MONDAY_9_UTC + timedelta(days=3)
    await queue(db, "invite:closed", person(1), expires_at=closes)
    await queue(db, "invite:open", person(2), expires_at=closes + timedelta(days=30))
    await queue(db, "digest", person(3))
    adapter = SharingAdapter()
    later = closes + timedelta(days=1)  # the dispatcher comes back after the close
    report = await Dispatcher(db, {"console": adapter}).run_once(later)
    assert report.sent == 2
    status = {i.key: (i.status, i.sent_at) for i in await all_items(db)}
    assert status["invite:closed"] == ("expired", None)
    assert status["invite:open"][0] == status["digest"][0] == "sent"
