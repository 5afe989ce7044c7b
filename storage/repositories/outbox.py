"""The outbox table: every message the bot starts, keyed for idempotency."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func
from sqlmodel import and_, col, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from storage.jsontext import JsonText
from storage.models import OUTBOX_WAITING, OutboxItem
from storage.repositories._upsert import insert_ignore, insert_many_ignore, one_of

# The states of an outbox item. `sending`: claimed by a dispatcher until `claimed_until`
# (in flight). `ambiguous`: a dispatcher died mid-send, the platform may have the message;
# it is reconciled (or, where the platform can't tell, sent once more) by whichever
# dispatcher claims it. `failed` is permanent, with the platform's reason in `last_error`.
PENDING, SENDING, AMBIGUOUS = "pending", "sending", "ambiguous"
SENT, FAILED, CANCELLED = "sent", "failed", "cancelled"
STATES = (PENDING, SENDING, AMBIGUOUS, SENT, FAILED, CANCELLED)
_OLDEST_FIRST = (col(OutboxItem.not_before), col(OutboxItem.id))


class Outbox:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(
        self,
        *,
        key: str,
        platform: str,
        address: dict[str, Any] | JsonText,
        message: dict[str, Any] | JsonText,
        not_before: datetime,
        created_at: datetime,
        recipient: str | None = None,
        pair_id: int | None = None,
        expires_at: datetime | None = None,
    ) -> bool:
        """Queue one message; False (and nothing written) if this key was queued before.
        `address` and `message` as values or as JSON text (`storage.jsontext`)."""
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
                "expires_at": expires_at,
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
        if not keys:
            return set()
        query = select(OutboxItem.key).where(one_of(self._s, col(OutboxItem.key), list(keys)))
        return set((await self._s.exec(query)).all())

    async def exists(self, key: str) -> bool:
        query = select(OutboxItem.id).where(OutboxItem.key == key)
        return (await self._s.exec(query)).first() is not None

    async def get(self, key: str) -> OutboxItem | None:
        return (await self._s.exec(select(OutboxItem).where(OutboxItem.key == key))).first()

    async def expire_leases(self, now: datetime) -> int:
        """Claims whose dispatcher died mid-send (lease over) become `ambiguous`: the
        platform may or may not have the message. One statement, so of several replicas
        exactly one turns each of them; rows a rival holds locked are left to it."""
        stale = and_(col(OutboxItem.status) == SENDING, col(OutboxItem.claimed_until) < now)
        chosen = select(OutboxItem.id).where(stale).with_for_update(skip_locked=True)
        statement = (
            update(OutboxItem)
            .where(col(OutboxItem.id).in_(_once(chosen)), stale)
            .values(status=AMBIGUOUS, claimed_until=None)
            .returning(col(OutboxItem.id))  # counted from RETURNING: no rowcount after a CTE
            .execution_options(synchronize_session=False)
        )
        result = await self._s.exec(statement)  # type: ignore[call-overload]
        return len(result.all())

    async def expire_stale(self, now: datetime) -> int:
        """Pending items whose moment has passed (an invitation after its close, a prompt
        after its cycle) are never sent: after an outage people get the current state, not
        a backlog."""
        result = await self._s.exec(  # type: ignore[call-overload]
            update(OutboxItem)
            .where(
                col(OutboxItem.status) == PENDING,
                col(OutboxItem.expires_at).is_not(None),
                col(OutboxItem.expires_at) <= now,
            )
            .values(status="expired", last_error="its moment passed before it could be sent")
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0

    async def claim(
        self, now: datetime, lease: timedelta, limit: int, platforms: Collection[str]
    ) -> list[OutboxItem]:
        """Take up to `limit` due items of these platforms in one statement, oldest first,
        each with a lease until `now + lease`: pending ones become `sending`, ambiguous
        ones stay `ambiguous` (they are reconciled, not simply sent). On PostgreSQL the
        rows are picked with FOR UPDATE SKIP LOCKED, so replicas claiming at the same time
        split the queue between them instead of queueing behind each other's locks; on
        SQLite the transaction already holds the single write lock (BEGIN IMMEDIATE)."""
        if limit < 1 or not platforms:
            return []
        claimable = and_(_claimable(now), col(OutboxItem.platform).in_(tuple(platforms)))
        chosen = (
            select(OutboxItem.id)
            .where(claimable)
            .order_by(*_OLDEST_FIRST)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(OutboxItem)
            .where(col(OutboxItem.id).in_(_once(chosen)), claimable)
            .values(
                status=case((col(OutboxItem.status) == AMBIGUOUS, AMBIGUOUS), else_=SENDING),
                claimed_until=now + lease,
                attempts=col(OutboxItem.attempts) + 1,
            )
            .returning(OutboxItem)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        result = await self._s.exec(statement)  # type: ignore[call-overload]
        claimed = list(result.scalars().all())
        return sorted(claimed, key=lambda item: (item.not_before, item.id or 0))

    async def release(self, item: OutboxItem, not_before: datetime) -> bool:
        """Give back a claimed item that was not sent (shutting down, its destination is
        held, its lease too short to start a send): due again at `not_before`, no attempt
        used. Only while the claim is still this dispatcher's (same status and lease)."""
        statement = (
            update(OutboxItem)
            .where(
                col(OutboxItem.id) == item.id,
                col(OutboxItem.status) == item.status,
                col(OutboxItem.claimed_until) == item.claimed_until,
            )
            .values(
                status=AMBIGUOUS if item.status == AMBIGUOUS else PENDING,
                claimed_until=None,
                not_before=not_before,
                attempts=col(OutboxItem.attempts) - 1,
            )
            .execution_options(synchronize_session=False)
        )
        result = await self._s.exec(statement)  # type: ignore[call-overload]
        return bool(result.rowcount)

    async def waiting_platforms(self, now: datetime, served: Collection[str]) -> set[str]:
        """Platforms with due items that none of `served` can send (another process's)."""
        query = (
            select(OutboxItem.platform)
            .where(_claimable(now), col(OutboxItem.platform).not_in(tuple(served)))
            .distinct()
        )
        return set((await self._s.exec(query)).all())

    async def next_due(self, platforms: Collection[str]) -> datetime | None:
        """When the earliest item of these platforms that is waiting (pending, or ambiguous)
        may be claimed; None if there is none. A rival's live lease on an ambiguous item
        counts as its due time."""
        if not platforms:
            return None
        due = case(
            (
                and_(
                    col(OutboxItem.status) == AMBIGUOUS,
                    col(OutboxItem.claimed_until) > col(OutboxItem.not_before),
                ),
                col(OutboxItem.claimed_until),
            ),
            else_=col(OutboxItem.not_before),
        )
        query = select(func.min(due)).where(
            col(OutboxItem.status).in_((PENDING, AMBIGUOUS)),
            col(OutboxItem.platform).in_(tuple(platforms)),
        )
        return (await self._s.exec(query)).one()

    async def failures(self, limit: int = 20) -> list[OutboxItem]:
        query = (
            select(OutboxItem)
            .where(OutboxItem.status == "failed")
            .order_by(col(OutboxItem.id).desc())
            .limit(limit)
        )
        return list((await self._s.exec(query)).all())

    async def counts(self) -> dict[str, int]:
        """Items per state (only the states that occur), `ambiguous` included."""
        query = select(OutboxItem.status, func.count()).group_by(col(OutboxItem.status))
        return {status: int(n) for status, n in (await self._s.exec(query)).all()}

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

    async def cancel_pending_keyed(self, key: str) -> int:
        """A message not yet sent, with its per-person copies (`key:0`, `key:1`, …)."""
        keyed = or_(col(OutboxItem.key) == key, col(OutboxItem.key).startswith(f"{key}:"))
        statement = (
            update(OutboxItem)
            .where(keyed, col(OutboxItem.status) == "pending")
            .values(status="cancelled")
        )
        result = await self._s.exec(statement)  # type: ignore[call-overload]
        return int(result.rowcount)

    async def record(self, item: OutboxItem) -> None:
        """Write what a send attempt changed on `item` (a detached copy): one UPDATE by id,
        no read first."""
        statement = (
            update(OutboxItem)
            .where(col(OutboxItem.id) == item.id)
            .values(
                status=item.status,
                attempts=item.attempts,
                not_before=item.not_before,
                claimed_until=item.claimed_until,
                last_error=item.last_error,
                platform_id=item.platform_id,
                sent_at=item.sent_at,
            )
            .execution_options(synchronize_session=False)
        )
        await self._s.exec(statement)  # type: ignore[call-overload]

    async def save(self, item: OutboxItem) -> None:
        self._s.add(item)
        await self._s.flush()


def _claimable(now: datetime) -> ColumnElement[bool]:
    """Pending and due, or ambiguous, due and not held by a live lease. The first term is
    the partial index's own condition, word for word (`ix_outbox_claimable`): SQLite uses a
    partial index only for a query that states it."""
    free = or_(col(OutboxItem.claimed_until).is_(None), col(OutboxItem.claimed_until) < now)
    return and_(
        OUTBOX_WAITING,
        col(OutboxItem.not_before) <= now,
        or_(col(OutboxItem.expires_at).is_(None), col(OutboxItem.expires_at) > now),
        or_(
            col(OutboxItem.status) == PENDING,
            and_(col(OutboxItem.status) == AMBIGUOUS, free),
        ),
    )


def _once(chosen: Select[tuple[int | None]]) -> Select[tuple[Any]]:
    """The ids `chosen` picks, evaluated exactly once. A plain `IN (SELECT ... LIMIT n FOR
    UPDATE SKIP LOCKED)` may be re-run by PostgreSQL for every row the UPDATE visits, and
    each run skips the rows the UPDATE has just changed: the LIMIT would then not hold. A
    MATERIALIZED CTE is computed once."""
    ids = chosen.cte("chosen").prefix_with("MATERIALIZED", dialect="postgresql")
    return select(ids.c.id)
