from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEntry


class Audit:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def record(
        self, *, at: datetime, actor: str, action: str, target: str, outcome: str
    ) -> None:
        self._s.add(AuditEntry(at=at, actor=actor, action=action, target=target, outcome=outcome))
        await self._s.flush()

    async def latest(self, limit: int = 50) -> list[AuditEntry]:
        query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
        return list((await self._s.exec(query)).all())
