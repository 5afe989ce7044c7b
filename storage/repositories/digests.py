from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Digest


class Digests:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def find(self, program_id: int, period: str) -> Digest | None:
        query = select(Digest).where(Digest.program_id == program_id, Digest.period == period)
        return (await self._s.exec(query)).first()

    async def of_program(self, program_id: int) -> list[Digest]:
        """Everything published for the program, oldest first: the ledger."""
        query = select(Digest).where(Digest.program_id == program_id).order_by(col(Digest.id))
        return list((await self._s.exec(query)).all())

    async def save(self, digest: Digest) -> Digest:
        self._s.add(digest)
        await self._s.flush()
        return digest
