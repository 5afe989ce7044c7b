"""The dispatcher: sends queued messages through the adapters, with retries and visible failures."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.logs import log_error
from bot.messages import ADDRESS, Message
from bot.ports import Adapter
from storage.db import Database
from storage.models import OutboxItem
from storage.repositories.contacts import Contacts
from storage.repositories.outbox import Outbox

log = logging.getLogger(__name__)


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    ambiguous: int = 0  # claimed by a dispatcher that died mid-send
    held: set[str] = field(default_factory=set)
    waiting: set[str] = field(default_factory=set)  # platforms with no adapter in this process


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
    ) -> None:
        self._db = db
        self._adapters = adapters
        self._max_attempts = max_attempts
        self._base_backoff = base_backoff
        self._batch = batch
        self._lease = lease
        self._stopping = False
        self._runs = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def drain(self, within: float = 30.0) -> None:
        """Graceful shutdown: claim nothing more, and let sends already under way finish
        and be recorded (what isn't claimed yet simply stays pending for the next process)."""
        self._stopping = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), within)

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
        """Send what is due. Each item is claimed, then sent, then recorded, each step in its
        own commit: a crash loses nothing already sent, and a second dispatcher never sends
        an item this one holds. A destination that answered "slow down" is held for the
        rest of this run while other destinations keep flowing."""
        report = DispatchReport()
        started = time.monotonic()
        async with self._db.session() as session:
            due = [
                (item.id, item.platform, _destination(item), item.status == "sending")
                for item in await Outbox(session).due(now, self._batch)
            ]
        for item_id, platform, destination, ambiguous in due:
            if self._stopping:
                break
            if destination in report.held:
                continue
            if platform not in self._adapters:
                # Another process (e.g. `upward serve`) may have this platform: leave it.
                report.waiting.add(platform)
                continue
            # A lease runs from the moment of the claim, not from the start of this run:
            # a long run would otherwise hand out leases that have already expired.
            moment = now + timedelta(seconds=time.monotonic() - started)
            item = await self._claim(item_id, moment)  # type: ignore[arg-type]
            if item is None:
                continue
            # No transaction is held while the platform answers: an adapter may read the
            # database itself (e.g. a stored conversation reference), and SQLite has one writer.
            if ambiguous:
                report.ambiguous += 1
            unreachable = await self._send_one(item, now, report, destination, ambiguous)
            async with self._db.session() as session:
                await Outbox(session).save(await session.merge(item))
                for actor_key in unreachable:
                    platform_, tenant, user_id = actor_key.split(":", 2)
                    await Contacts(session).mark_unreachable(
                        platform_, tenant, user_id, item.last_error or "", now
                    )
                await session.commit()
        return report

    async def _claim(self, item_id: int, now: datetime) -> OutboxItem | None:
        async with self._db.session() as session:
            if not await Outbox(session).claim(item_id, now, self._lease):
                await session.commit()
                return None
            item = await session.get(OutboxItem, item_id, populate_existing=True)
            await session.commit()
        return item

    async def _send_one(
        self,
        item: OutboxItem,
        now: datetime,
        report: DispatchReport,
        destination: str,
        ambiguous: bool = False,
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
            _fail(item, exc.reason, report)
            return exc.unreachable
        except TransientDeliveryError as exc:
            self._retry(item, now, exc.reason, exc.retry_after, report)
            if exc.retry_after:
                report.held.add(destination)
        except Exception as exc:
            error_id = log_error(log, f"delivering outbox item {item.id}", exc)
            self._retry(item, now, f"unexpected error {error_id}", None, report)
        else:
            item.status, item.sent_at, item.platform_id = "sent", now, receipt.platform_id
            item.last_error, item.claimed_until = None, None
            report.sent += 1
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
        item.status, item.claimed_until = "pending", None
        item.not_before, item.last_error = now + wait, reason[:300]
        report.retried += 1


def _fail(item: OutboxItem, reason: str, report: DispatchReport) -> None:
    item.status, item.last_error, item.claimed_until = "failed", reason[:300], None
    report.failed += 1
    log.warning("outbox item %s failed permanently: %s", item.key, reason)


def _destination(item: OutboxItem) -> str:
    address = item.address
    if address.get("kind") == "channel":
        return f"channel:{item.platform}:{address.get('tenant')}:{address.get('channel_id')}"
    return item.recipient or f"pair:{address.get('pair_id')}"
