from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.crypto import Cipher
from storage.models import Concern


class Concerns:
    def __init__(self, session: AsyncSession, cipher: Cipher) -> None:
        self._s = session
        self._cipher = cipher

    async def raise_(
        self, program_id: int, text: str, *, author_id: int | None, now: datetime
    ) -> Concern:
        """Stored, then sealed to its own row id (a ciphertext can't be moved to another)."""
        concern = Concern(program_id=program_id, author_id=author_id, text_enc="", created_at=now)
        self._s.add(concern)
        await self._s.flush()
        concern.text_enc = self._cipher.encrypt(text, concern.text_context)
        await self._s.flush()
        return concern

    def text(self, concern: Concern) -> str:
        return self._cipher.decrypt(concern.text_enc, concern.text_context)

    async def unseen(self, program_id: int) -> list[Concern]:
        query = (
            select(Concern)
            .where(Concern.program_id == program_id, col(Concern.seen_at).is_(None))
            .order_by(col(Concern.id))
        )
        return list((await self._s.exec(query)).all())

    async def by_author(self, author_id: int) -> list[Concern]:
        query = select(Concern).where(Concern.author_id == author_id).order_by(col(Concern.id))
        return list((await self._s.exec(query)).all())

    async def mark_seen(self, concerns: list[Concern], now: datetime) -> None:
        for concern in concerns:
            concern.seen_at = now
            self._s.add(concern)
        await self._s.flush()
