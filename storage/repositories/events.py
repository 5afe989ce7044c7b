from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedEvent
from storage.repositories._upsert import insert_ignore


class ProcessedEvents:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def seen(self, key: str) -> bool:
        return await self._s.get(ProcessedEvent, key) is not None

    async def first_time(self, key: str, at: datetime) -> bool:
        """Record an inbound event id; False if it was seen before (a retry or replay)."""
        return await insert_ignore(self._s, ProcessedEvent, {"key": key, "at": at})
