"""Thank-yous written at the end of a pairing, sealed to their own row."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.crypto import Cipher
from storage.models import ThankYou
from storage.repositories._upsert import insert_ignore


class Thanks:
    def __init__(self, session: AsyncSession, cipher: Cipher) -> None:
        self._s = session
        self._cipher = cipher

    async def write(
        self, pair_id: int, author_id: int, recipient_id: int, text: str, now: datetime
    ) -> ThankYou | None:
        """One per author and pair: None if this author already wrote one (a double submit)."""
        values = {
            "pair_id": pair_id,
            "author_id": author_id,
            "recipient_id": recipient_id,
            "text_enc": "",
            "written_at": now,
        }
        if not await insert_ignore(self._s, ThankYou, values):
            return None
        thanks = await self.by_author(pair_id, author_id)
        assert thanks is not None
        thanks.text_enc = self._cipher.encrypt(text, thanks.text_context)
        self._s.add(thanks)
        await self._s.flush()
        return thanks

    async def by_author(self, pair_id: int, author_id: int) -> ThankYou | None:
        query = select(ThankYou).where(ThankYou.pair_id == pair_id, ThankYou.author_id == author_id)
        return (await self._s.exec(query)).first()

    async def get(self, thanks_id: int) -> ThankYou | None:
        return await self._s.get(ThankYou, thanks_id)

    def text(self, thanks: ThankYou) -> str:
        return self._cipher.decrypt(thanks.text_enc, thanks.text_context)

    async def mark_shared(self, thanks: ThankYou, now: datetime) -> bool:
        result = await self._s.exec(  # type: ignore[call-overload]
            update(ThankYou)
            .where(col(ThankYou.id) == thanks.id, col(ThankYou.shared_at).is_(None))
            .values(shared_at=now)
        )
        return bool(result.rowcount)

    async def involving(self, participant_id: int) -> list[ThankYou]:
        query = select(ThankYou).where(
            (col(ThankYou.author_id) == participant_id)
            | (col(ThankYou.recipient_id) == participant_id)
        )
        return list((await self._s.exec(query.order_by(col(ThankYou.id)))).all())
