"""Dispatchers sending now: a row each, refreshed while they send.

Times are the database's own on PostgreSQL (`now()`), so replicas on machines whose
clocks disagree still count each other right; SQLite serves one machine, whose clock
every process shares.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Sender
from storage.repositories._upsert import insert_ignore


class Senders:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    def _now(self) -> Any:
        bind = self._s.bind
        if bind is not None and bind.dialect.name == "postgresql":
            return func.now()
        return datetime.now(UTC)

    async def seen(self, sender_id: str, platforms: Collection[str]) -> None:
        """Note that this dispatcher is sending now (its row refreshed, or made)."""
        listed = ",".join(sorted(platforms))
        statement = (
            update(Sender)
            .where(col(Sender.id) == sender_id)
            .values(platforms=listed, seen_at=self._now())
        )
        refreshed = await self._s.exec(statement)  # type: ignore[call-overload]
        if not refreshed.rowcount:
            row = {"id": sender_id, "platforms": listed, "seen_at": self._now()}
            await insert_ignore(self._s, Sender, row)

    async def sending(self, platform: str, *, within: timedelta) -> int:
        """How many dispatchers of `platform` were seen sending `within` the time up to now."""
        query = select(Sender.platforms).where(col(Sender.seen_at) >= self._now() - within)
        return sum(platform in row.split(",") for row in (await self._s.exec(query)).all())

    async def gone(self, sender_id: str) -> None:
        """This dispatcher stopped sending."""
        await self._s.exec(delete(Sender).where(col(Sender.id) == sender_id))  # type: ignore[call-overload]

    async def forget_older_than(self, age: timedelta) -> None:
        """Rows of dispatchers not seen for `age` (they died, or went quiet long ago)."""
        await self._s.exec(delete(Sender).where(col(Sender.seen_at) < self._now() - age))  # type: ignore[call-overload]
