"""The dispatcher: sends queued messages through the adapters, with retries and visible failures."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.messages import ADDRESS, Message
from bot.ports import Adapter
from storage.db import Database
from storage.models import OutboxItem
from storage.repositories.outbox import Outbox

log = logging.getLogger(__name__)


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    held: set[str] = field(default_factory=set)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        adapters: Mapping[str, Adapter],
        *,
        max_attempts: int = 6,
        base_backoff: timedelta = timedelta(seconds=30),
        batch: int = 100,
    ) -> None:
        self._db = db
        self._adapters = adapters
        self._max_attempts = max_attempts
        self._base_backoff = base_backoff
        self._batch = batch

    async def run_once(self, now: datetime) -> DispatchReport:
        """Send what is due. Each item is committed on its own, so a crash loses nothing
        that was already marked sent. A destination that answered 'slow down' is held
        for the rest of this run while other destinations keep flowing."""
        report = DispatchReport()
        async with self._db.session() as session:
            outbox = Outbox(session)
            for item in await outbox.due(now, self._batch):
                destination = _destination(item)
                if destination in report.held:
                    continue
                await self._send_one(item, now, report, destination)
                await outbox.save(item)
                await session.commit()
        return report

    async def _send_one(
        self, item: OutboxItem, now: datetime, report: DispatchReport, destination: str
    ) -> None:
        adapter = self._adapters.get(item.platform)
        if adapter is None:
            _fail(item, f"no {item.platform} adapter is configured in this process", report)
            return
        item.attempts += 1
        try:
            receipt = await adapter.deliver(
                ADDRESS.validate_python(item.address),
                Message.model_validate(item.message),
                key=item.key,
            )
        except PermanentDeliveryError as exc:
            _fail(item, exc.reason, report)
        except TransientDeliveryError as exc:
            self._retry(item, now, exc.reason, exc.retry_after, report)
            if exc.retry_after:
                report.held.add(destination)
        except Exception:
            error_id = uuid.uuid4().hex[:8]
            log.exception("delivery error %s for outbox item %s", error_id, item.id)
            self._retry(item, now, f"unexpected error {error_id}", None, report)
        else:
            item.status, item.sent_at, item.platform_id = "sent", now, receipt.platform_id
            item.last_error = None
            report.sent += 1

    def _retry(
        self,
        item: OutboxItem,
        now: datetime,
        reason: str,
        retry_after: float | None,
        report: DispatchReport,
    ) -> None:
        if item.attempts >= self._max_attempts:
            _fail(item, f"gave up after {item.attempts} attempts: {reason}", report)
            return
        backoff = self._base_backoff * (2 ** (item.attempts - 1))
        wait = max(backoff, timedelta(seconds=retry_after or 0))
        item.not_before, item.last_error = now + wait, reason[:300]
        report.retried += 1


def _fail(item: OutboxItem, reason: str, report: DispatchReport) -> None:
    item.status, item.last_error = "failed", reason[:300]
    report.failed += 1
    log.warning("outbox item %s failed permanently: %s", item.key, reason)


def _destination(item: OutboxItem) -> str:
    address = item.address
    if address.get("kind") == "channel":
        return f"channel:{address['channel_id']}"
    return item.recipient or f"pair:{address.get('pair_id')}"
