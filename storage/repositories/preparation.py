"""Which preparation cards each participant has read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CardRead
from storage.repositories._upsert import insert_ignore


class CardReads:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def record(self, participant_id: int, card_id: str, at: datetime) -> bool:
        """Mark a card read; False if it already was (a double click)."""
        return await insert_ignore(
            self._s, CardRead, {"participant_id": participant_id, "card_id": card_id, "read_at": at}
        )

    async def read_by(self, participant_ids: Iterable[int]) -> dict[int, set[str]]:
        ids = list(participant_ids)
        found: dict[int, set[str]] = {i: set() for i in ids}
        if not ids:
            return found
        query = select(CardRead.participant_id, CardRead.card_id).where(
            col(CardRead.participant_id).in_(ids)
        )
        for participant_id, card_id in (await self._s.exec(query)).all():
            found[participant_id].add(card_id)
        return found
