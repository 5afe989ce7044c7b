from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Digest


class Digests:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def find(self, program_id: int, period: str) -> Digest | None:
        query = select(Digest).where(Digest.program_id == program_id, Digest.period == period)
        return (await self._s.exec(query)).first()

    async def save(self, digest: Digest) -> Digest:
        self._s.add(digest)
        await self._s.flush()
        return digest
