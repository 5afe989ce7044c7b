"""The dispatcher: sends queued messages through the adapters, with retries and visible failures."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.logs import log_error
from bot.messages import ADDRESS, Message
from bot.ports import Adapter
from storage.db import Database
from storage.models import OutboxItem
from storage.repositories.contacts import Contacts
from storage.repositories.outbox import AMBIGUOUS, FAILED, PENDING, SENT, Outbox
from storage.repositories.senders import Senders

log = logging.getLogger(__name__)


# How much a dispatcher claims at once: about what it can send in CLAIM_HORIZON seconds (at
# most a quarter of the lease) at the pace it measured, FIRST_CLAIM before it knows its pace.
# A replica then never sits on a pile of claimed items that its rivals could be sending.
CLAIM_HORIZON = 2.0
FIRST_CLAIM = 4
# Destinations one dispatcher sends to at once (by default): a send waits on the platform and on the
# database, so one at a time leaves the allowed rate unused (each destination's own
# messages still go one after the other, in order).
IN_FLIGHT = 4
# A claimed item with less than this share of its lease left is given back, not started:
# its lease could run out mid-send and another dispatcher take it as ambiguous.
LEASE_MARGIN = 0.25
# Dispatchers sending at once (replicas) split each platform's overall rate: while it sends,
# each notes itself in the database every SHARE_EVERY seconds and counts those seen within
# SHARE_LIVE. One that joins is counted by the others within SHARE_EVERY; one that stops
# (or dies) within SHARE_LIVE + SHARE_EVERY. Meanwhile a 429 still holds its destination.
SHARE_EVERY = 2.0
SHARE_LIVE = timedelta(seconds=10)
SENDERS_KEPT = timedelta(hours=1)  # rows of dispatchers gone quiet for longer are deleted


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    ambiguous: int = 0  # claimed by a dispatcher that died mid-send; reconciled or resent
    held: set[str] = field(default_factory=set)
    waiting: set[str] = field(default_factory=set)  # platforms with no adapter in this process


@dataclass
class _Run:
    """One pass: the moment it started (the injected clock), and what it learnt."""

    now: datetime
    report: DispatchReport = field(default_factory=DispatchReport)
    started: float = field(default_factory=time.monotonic)
    held: dict[str, datetime] = field(default_factory=dict)  # destination -> until

    def moment(self) -> datetime:
        """`now` moved on by the time this pass has taken: leases run from the claim, not
        from the start of the pass."""
        return self.now + timedelta(seconds=time.monotonic() - self.started)

    def hold(self, destination: str, seconds: float) -> None:
        self.held[destination] = self.now + timedelta(seconds=seconds)
        self.report.held.add(destination)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        adapters: Mapping[str, Adapter],
        *,
        max_attempts: int = 6,
        base_backoff: timedelta = timedelta(seconds=30),
        batch: int = 100,
        lease: timedelta = timedelta(minutes=5),
        in_flight: int = IN_FLIGHT,
        share_every: float = SHARE_EVERY,
        share_live: timedelta = SHARE_LIVE,
    ) -> None:
        self._db = db
        self._adapters = adapters
        self._max_attempts = max_attempts
        self._base_backoff = base_backoff
        self._batch = batch
        self._lease = lease
        self._in_flight = in_flight
        self._pace: float | None = None  # sends per second, as measured
        self._id = uuid.uuid4().hex  # this dispatcher's row among the senders
        self._share_every, self._share_live = share_every, share_live
        self._shared_at: float | None = None  # when it last counted the senders (monotonic)
        self._stopping = False
        self._runs = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def drain(self, within: float = 30.0) -> None:
        """Graceful shutdown: claim nothing more, let sends already under way finish and
        be recorded, and give back what was claimed but not started (due again at once,
        for the next process)."""
        self._stopping = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), within)
        await self.leave()

    async def leave(self) -> None:
        """This dispatcher sends no more: the others may have its share of the rate back at
        once. Best effort (on its way out a process may have lost the database): its row
        stops counting `share_live` after it was last seen anyway."""
        if self._shared_at is None:
            return
        try:
            async with self._db.session() as session:
                await Senders(session).gone(self._id)
                await session.commit()
        except Exception as exc:
            log.warning("could not remove this dispatcher from the senders: %s", type(exc).__name__)
        self._shared_at = None

    async def next_due(self) -> datetime | None:
        """When the earliest waiting item this dispatcher could send may go (None: none)."""
        async with self._db.session() as session:
            due = await Outbox(session).next_due(tuple(self._adapters))
        if due is not None and due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        return due

    async def ready(self) -> None:
        """Reach the database once (connect, and check the outbox can be read), so that a
        process reports itself ready only once it could claim."""
        await self.next_due()

    async def run_once(self, now: datetime) -> DispatchReport:
        self._runs += 1
        self._idle.clear()
        try:
            return await self._run_once(now)
        finally:
            self._runs -= 1
            if not self._runs:
                self._idle.set()

    async def _run_once(self, now: datetime) -> DispatchReport:
        """Send what is due, up to `batch` items. Items are claimed a few at a time (one
        statement per claim), then each is sent and recorded in its own commit: a crash
        loses nothing already sent, and no other dispatcher sends an item this one holds.
        A destination that answered "slow down" is held for its Retry-After while other
        destinations keep flowing."""
        run = _Run(now)
        await self._expire_leases(run.moment())
        handled = 0
        while handled < self._batch and not self._stopping:
            wanted = min(self._claim_size(), self._batch - handled)
            claimed_at = time.monotonic()
            claimed = await self._claim(run.moment(), wanted)
            if claimed:
                await self._share_rate()
            await self._send_claimed(claimed, run, claimed_at)
            handled += len(claimed)
            if len(claimed) < wanted:
                await self._note_waiting(run)
                break
        return run.report

    def _claim_size(self) -> int:
        if self._pace is None:
            return min(FIRST_CLAIM, self._batch)
        horizon = min(CLAIM_HORIZON, self._lease.total_seconds() / 4)
        return max(1, min(self._batch, int(self._pace * horizon)))

    def _note_pace(self, sends: int, seconds: float) -> None:
        if sends < 1 or seconds <= 0:
            return
        pace = sends / seconds
        self._pace = pace if self._pace is None else (self._pace + pace) / 2

    async def _expire_leases(self, now: datetime) -> None:
        async with self._db.session() as session:
            expired = await Outbox(session).expire_leases(now)
            stale = await Outbox(session).expire_stale(now)
            await session.commit()
        if expired:
            log.warning("%d outbox item(s) left mid-send by a dispatcher: ambiguous", expired)
        if stale:
            log.info("%d outbox item(s) expired before they could be sent", stale)

    async def _share_rate(self) -> None:
        """Note this dispatcher as sending (every `share_every` seconds while it sends), and
        tell each adapter that can pace itself how many dispatchers send on its platform
        now, so that together they keep to the platform's overall rate."""
        if self._shared_at is not None and time.monotonic() - self._shared_at < self._share_every:
            return
        sharing = {
            platform: share
            for platform, adapter in self._adapters.items()
            if (share := getattr(adapter, "share_rate", None)) is not None
        }
        if not sharing:
            return
        self._shared_at = time.monotonic()
        try:
            async with self._db.session() as session:
                senders = Senders(session)
                await senders.seen(self._id, self._adapters)
                await senders.forget_older_than(SENDERS_KEPT)
                counts = {p: await senders.sending(p, within=self._share_live) for p in sharing}
                await session.commit()
        except Exception as exc:
            # The items just claimed must still go (or be given back): keep the last share.
            log.warning("could not count the dispatchers sending: %s", type(exc).__name__)
            return
        for platform, share in sharing.items():
            share(max(counts[platform], 1))

    async def _claim(self, now: datetime, limit: int) -> list[OutboxItem]:
        async with self._db.session() as session:
            claimed = await Outbox(session).claim(now, self._lease, limit, tuple(self._adapters))
            await session.commit()
        return claimed

    async def _send_claimed(self, claimed: list[OutboxItem], run: _Run, claimed_at: float) -> None:
        """Send the claimed items, each destination's in order and up to `in_flight`
        destinations at once (the adapter's pacer keeps the overall rate); give back those
        that must not go now. No transaction is held while the platform answers: an adapter
        may read the database itself (e.g. a stored conversation reference), and SQLite
        has one writer."""
        by_destination: dict[str, list[OutboxItem]] = {}
        for item in claimed:
            by_destination.setdefault(_destination(item), []).append(item)
        give_back: list[tuple[OutboxItem, datetime]] = []
        lease_end = claimed_at + self._lease.total_seconds() * (1 - LEASE_MARGIN)
        slots = asyncio.Semaphore(self._in_flight)
        started = time.monotonic()
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(
                    self._send_in_order(destination, items, run, slots, lease_end, give_back)
                )
                for destination, items in by_destination.items()
            ]
        self._note_pace(sum(task.result() for task in tasks), time.monotonic() - started)
        if give_back:
            await self._release(give_back)

    async def _send_in_order(
        self,
        destination: str,
        items: list[OutboxItem],
        run: _Run,
        slots: asyncio.Semaphore,
        lease_end: float,
        give_back: list[tuple[OutboxItem, datetime]],
    ) -> int:
        """One destination's items, oldest first; returns how many were sent (or tried)."""
        sends = 0
        async with slots:
            for item in items:
                if self._stopping or time.monotonic() > lease_end:
                    give_back.append((item, item.not_before))
                elif destination in run.held:
                    give_back.append((item, max(item.not_before, run.held[destination])))
                else:
                    await self._send_and_record(item, run, destination)
                    sends += 1
        return sends

    async def _release(self, items: list[tuple[OutboxItem, datetime]]) -> None:
        async with self._db.session() as session:
            for item, not_before in items:
                await Outbox(session).release(item, not_before)
            await session.commit()

    async def _note_waiting(self, run: _Run) -> None:
        """Another process (e.g. `upward serve`) may have a platform this one lacks."""
        async with self._db.session() as session:
            waiting = await Outbox(session).waiting_platforms(run.now, tuple(self._adapters))
        run.report.waiting |= waiting

    async def _send_and_record(self, item: OutboxItem, run: _Run, destination: str) -> None:
        ambiguous = item.status == AMBIGUOUS
        if ambiguous:
            run.report.ambiguous += 1
        unreachable = await self._send_one(item, run, destination, ambiguous)
        async with self._db.session() as session:
            await Outbox(session).record(item)
            for actor_key in unreachable:
                platform, tenant, user_id = actor_key.split(":", 2)
                await Contacts(session).mark_unreachable(
                    platform, tenant, user_id, item.last_error or "", run.now
                )
            await session.commit()

    async def _send_one(
        self, item: OutboxItem, run: _Run, destination: str, ambiguous: bool
    ) -> tuple[str, ...]:
        """Send and record the outcome on `item`; returns who the platform says is unreachable.
        An ambiguous item (its dispatcher died mid-send: the platform may have it) is
        reconciled where the platform allows it (Slack), else sent once more and logged."""
        adapter = self._adapters[item.platform]
        send = adapter.deliver
        if ambiguous:
            reconcile = getattr(adapter, "reconcile", None)
            if reconcile is not None:
                send = reconcile
            else:
                log.warning("outbox item %s may have gone out before a crash; sent again", item.key)
        try:
            receipt = await send(
                ADDRESS.validate_python(item.address),
                Message.model_validate(item.message),
                key=item.key,
            )
        except PermanentDeliveryError as exc:
            _fail(item, exc.reason, run.report)
            return exc.unreachable
        except TransientDeliveryError as exc:
            self._retry(item, run.now, exc.reason, exc.retry_after, run.report)
            if exc.retry_after:
                run.hold(destination, exc.retry_after)
        except Exception as exc:
            error_id = log_error(log, f"delivering outbox item {item.id}", exc)
            self._retry(item, run.now, f"unexpected error {error_id}", None, run.report)
        else:
            item.status, item.sent_at, item.platform_id = SENT, run.now, receipt.platform_id
            item.last_error, item.claimed_until = None, None
            run.report.sent += 1
        return ()

    def _retry(
        self,
        item: OutboxItem,
        now: datetime,
        reason: str,
        retry_after: float | None,
        report: DispatchReport,
    ) -> None:
        if retry_after:
            item.attempts -= 1  # the platform said "not now", not "this failed": no attempt used
        elif item.attempts >= self._max_attempts:
            _fail(item, f"gave up after {item.attempts} attempts: {reason}", report)
            return
        # "Slow down, retry after N s" is an instruction, not a failure: wait exactly that.
        # Only errors back off exponentially.
        if retry_after:
            wait = timedelta(seconds=retry_after)
        else:
            wait = self._base_backoff * (2 ** max(item.attempts - 1, 0))
        # An ambiguous item stays ambiguous until it is resolved: the next try reconciles too.
        item.status = AMBIGUOUS if item.status == AMBIGUOUS else PENDING
        item.claimed_until = None
        item.not_before, item.last_error = now + wait, reason[:300]
        report.retried += 1


def _fail(item: OutboxItem, reason: str, report: DispatchReport) -> None:
    item.status, item.last_error, item.claimed_until = FAILED, reason[:300], None
    report.failed += 1
    log.warning("outbox item %s failed permanently: %s", item.key, reason)


def _destination(item: OutboxItem) -> str:
    address = item.address
    if address.get("kind") == "channel":
        return f"channel:{item.platform}:{address.get('tenant')}:{address.get('channel_id')}"
    return item.recipient or f"pair:{address.get('pair_id')}"
