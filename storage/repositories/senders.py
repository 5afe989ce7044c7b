"""Dispatchers sending now: a row each, refreshed while they send."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Sender
from storage.repositories._upsert import insert_ignore


class Senders:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def seen(self, sender_id: str, platforms: Collection[str], at: datetime) -> None:
        """Note that this dispatcher is sending at `at` (its row refreshed, or made)."""
        listed = ",".join(sorted(platforms))
        statement = (
            update(Sender).where(col(Sender.id) == sender_id).values(platforms=listed, seen_at=at)
        )
        refreshed = await self._s.exec(statement)  # type: ignore[call-overload]
        if not refreshed.rowcount:
            row = {"id": sender_id, "platforms": listed, "seen_at": at}
            await insert_ignore(self._s, Sender, row)

    async def sending(self, platform: str, since: datetime) -> int:
        """How many dispatchers of `platform` were seen sending since `since`."""
        query = select(Sender.platforms).where(col(Sender.seen_at) >= since)
        return sum(platform in row.split(",") for row in (await self._s.exec(query)).all())

    async def gone(self, sender_id: str) -> None:
        """This dispatcher stopped sending."""
        await self._s.exec(delete(Sender).where(col(Sender.id) == sender_id))  # type: ignore[call-overload]

    async def forget_before(self, moment: datetime) -> None:
        """Rows of dispatchers not seen since `moment` (they died, or went quiet)."""
        await self._s.exec(delete(Sender).where(col(Sender.seen_at) < moment))  # type: ignore[call-overload]
