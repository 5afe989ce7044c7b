"""The outbox table: every message the bot starts, keyed for idempotency."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import and_, col, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxItem
from storage.repositories._upsert import insert_ignore, insert_many_ignore, one_of

KEYS_PER_QUERY = 5_000  # bound parameters per IN (); both databases allow over 30,000


class Outbox:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(
        self,
        *,
        key: str,
        platform: str,
        address: dict[str, Any],
        message: dict[str, Any],
        not_before: datetime,
        created_at: datetime,
        recipient: str | None = None,
        pair_id: int | None = None,
    ) -> bool:
        """Queue one message; False (and nothing written) if this key was queued before."""
        return await insert_ignore(
            self._s,
            OutboxItem,
            {
                "key": key,
                "platform": platform,
                "address": address,
                "message": message,
                "not_before": not_before,
                "created_at": created_at,
                "recipient": recipient,
                "pair_id": pair_id,
                "status": "pending",
                "attempts": 0,
            },
        )

    async def add_many(self, rows: list[dict[str, Any]]) -> set[str]:
        """Queue many messages in bulk (rows shaped like `add`'s arguments); the keys this
        call inserted. A key queued before, or by a concurrent tick, is skipped: the unique
        key decides which of two overlapping ticks owns an item."""
        pending = [{**row, "status": "pending", "attempts": 0} for row in rows]
        return set(await insert_many_ignore(self._s, OutboxItem, pending, OutboxItem.key))

    async def existing_keys(self, keys: Collection[str]) -> set[str]:
        """Those of `keys` already queued (in any state)."""
        found: set[str] = set()
        wanted = list(keys)
        for start in range(0, len(wanted), KEYS_PER_QUERY):
            query = select(OutboxItem.key).where(
                one_of(self._s, col(OutboxItem.key), wanted[start : start + KEYS_PER_QUERY])
            )
            found.update((await self._s.exec(query)).all())
        return found

    async def exists(self, key: str) -> bool:
        query = select(OutboxItem.id).where(OutboxItem.key == key)
        return (await self._s.exec(query)).first() is not None

    async def get(self, key: str) -> OutboxItem | None:
        return (await self._s.exec(select(OutboxItem).where(OutboxItem.key == key))).first()

    async def due(self, now: datetime, limit: int = 100) -> list[OutboxItem]:
        """Pending items whose time has come, and claims whose dispatcher died (lease over)."""
        query = (
            select(OutboxItem)
            .where(
                or_(
                    and_(OutboxItem.status == "pending", col(OutboxItem.not_before) <= now),
                    and_(OutboxItem.status == "sending", col(OutboxItem.claimed_until) < now),
                )
            )
            .order_by(OutboxItem.not_before, OutboxItem.id)
            .limit(limit)
        )
        return list((await self._s.exec(query)).all())

    async def claim(self, item_id: int, now: datetime, lease: timedelta) -> bool:
        """Take an item for sending. The conditional update is the lock: of several
        dispatchers (or replicas) that saw the same due item, exactly one wins. On
        PostgreSQL the row is picked with FOR UPDATE SKIP LOCKED, so a replica whose rival
        is mid-claim moves on at once instead of queueing behind its lock."""
        claimable = (
            select(OutboxItem.id)
            .where(
                col(OutboxItem.id) == item_id,
                or_(
                    col(OutboxItem.status) == "pending",
                    and_(col(OutboxItem.status) == "sending", col(OutboxItem.claimed_until) < now),
                ),
            )
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        statement = (
            update(OutboxItem)
            .where(
                col(OutboxItem.id) == claimable,
                or_(
                    col(OutboxItem.status) == "pending",
                    and_(col(OutboxItem.status) == "sending", col(OutboxItem.claimed_until) < now),
                ),
            )
            .values(
                status="sending",
                claimed_until=now + lease,
                attempts=col(OutboxItem.attempts) + 1,
            )
        )
        result = await self._s.exec(statement)  # type: ignore[call-overload]
        return bool(result.rowcount)

    async def failures(self, limit: int = 20) -> list[OutboxItem]:
        query = (
            select(OutboxItem)
            .where(OutboxItem.status == "failed")
            .order_by(col(OutboxItem.id).desc())
            .limit(limit)
        )
        return list((await self._s.exec(query)).all())

    async def counts(self) -> dict[str, int]:
        rows = (await self._s.exec(select(OutboxItem.status))).all()
        counts: dict[str, int] = {}
        for status in rows:
            counts[status] = counts.get(status, 0) + 1
        return counts

    async def all(self) -> list[OutboxItem]:
        return list((await self._s.exec(select(OutboxItem).order_by(OutboxItem.id))).all())

    async def cancel_pending_for(self, recipient: str) -> int:
        statement = (
            update(OutboxItem)
            .where(col(OutboxItem.recipient) == recipient, col(OutboxItem.status) == "pending")
            .values(status="cancelled")
        )
        result = await self._s.exec(statement)  # type: ignore[call-overload]
        return int(result.rowcount)

    async def cancel_pending_for_pair(self, pair_id: int) -> int:
        statement = (
            update(OutboxItem)
            .where(col(OutboxItem.pair_id) == pair_id, col(OutboxItem.status) == "pending")
            .values(status="cancelled")
        )
        result = await self._s.exec(statement)  # type: ignore[call-overload]
        return int(result.rowcount)

    async def save(self, item: OutboxItem) -> None:
        self._s.add(item)
        await self._s.flush()
