"""The dispatcher: sends queued messages through the adapters, with retries and visible failures."""

from __future__ import annotations

import logging
import traceback
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
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        self._db = db
        self._adapters = adapters
        self._max_attempts = max_attempts
        self._base_backoff = base_backoff
        self._batch = batch
        self._lease = lease

    async def run_once(self, now: datetime) -> DispatchReport:
        """Send what is due. Each item is claimed, then sent, then recorded, each step in its
        own commit: a crash loses nothing already sent, and a second dispatcher never sends
        an item this one holds. A destination that answered "slow down" is held for the
        rest of this run while other destinations keep flowing."""
        report = DispatchReport()
        async with self._db.session() as session:
            due = [
                (item.id, _destination(item))
                for item in await Outbox(session).due(now, self._batch)
            ]
        for item_id, destination in due:
            if destination in report.held:
                continue
            async with self._db.session() as session:
                outbox = Outbox(session)
                claimed = await outbox.claim(item_id, now, self._lease)  # type: ignore[arg-type]
                await session.commit()
                if not claimed:
                    continue
                item = await session.get(OutboxItem, item_id, populate_existing=True)
                assert item is not None
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
        except Exception as exc:
            # Never the exception's text: adapters and validators quote their input.
            error_id = uuid.uuid4().hex[:8]
            log.error(
                "delivery error %s for outbox item %s: %s at %s",
                error_id,
                item.id,
                type(exc).__name__,
                _where(exc),
            )
            self._retry(item, now, f"unexpected error {error_id}", None, report)
        else:
            item.status, item.sent_at, item.platform_id = "sent", now, receipt.platform_id
            item.last_error, item.claimed_until = None, None
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


def _where(exc: BaseException) -> str:
    """file:line of the innermost frame, for debugging without the exception's message."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
