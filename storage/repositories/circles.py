"""Mentor circles: who opted in for a month, and which circle each was put in."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlmodel import col, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CircleMember, CircleRound
from storage.repositories._upsert import insert_ignore


class Circles:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def round_started(self, program_id: int, period: str) -> bool:
        query = select(CircleRound.id).where(
            CircleRound.program_id == program_id, CircleRound.period == period
        )
        return (await self._s.exec(query)).first() is not None

    async def start_round(self, program_id: int, period: str, at: datetime) -> bool:
        """True for the one tick that opens this month's round (and sends its invitations)."""
        values = {"program_id": program_id, "period": period, "invited_at": at}
        return await insert_ignore(self._s, CircleRound, values)

    async def form_round(self, program_id: int, period: str, at: datetime) -> bool:
        """True for the one tick that forms this month's circles (even if no invitation
        went out: people may have joined with the command). It sees every join made
        before it (see `open_for_joining`)."""
        await self._lock_round(program_id, period)
        await self.start_round(program_id, period, at)
        result = await self._s.exec(  # type: ignore[call-overload]
            update(CircleRound)
            .where(
                col(CircleRound.program_id) == program_id,
                col(CircleRound.period) == period,
                col(CircleRound.formed_at).is_(None),
            )
            .values(formed_at=at)
        )
        return bool(result.rowcount)

    async def open_for_joining(self, program_id: int, period: str) -> bool:
        """Whether this month's circles are still to form, decided in turn with the tick
        that forms them (`form_round` takes the same lock): the forming tick either waits
        for this transaction, and then sees this join, or formed first, and then this is
        False. SQLite's single writer orders them the same way without a lock."""
        await self._lock_round(program_id, period)
        formed = select(CircleRound.id).where(
            col(CircleRound.program_id) == program_id,
            col(CircleRound.period) == period,
            col(CircleRound.formed_at).is_not(None),
        )
        return (await self._s.exec(formed)).first() is None

    async def _lock_round(self, program_id: int, period: str) -> None:
        """PostgreSQL: a lock on this month's round until the transaction ends. Advisory,
        since the round's row may not exist yet (a join by command before any invitation)."""
        if self._s.bind is None or self._s.bind.dialect.name != "postgresql":
            return
        name = f"upward:circles:{program_id}:{period}".encode()
        key = int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big", signed=True)
        await self._s.exec(select(func.pg_advisory_xact_lock(key)))

    async def join(self, program_id: int, period: str, participant_id: int, at: datetime) -> bool:
        """False if they had already joined this month's circle."""
        values = {
            "program_id": program_id,
            "period": period,
            "participant_id": participant_id,
            "joined_at": at,
        }
        return await insert_ignore(self._s, CircleMember, values)

    async def members(self, program_id: int, period: str) -> list[CircleMember]:
        query = select(CircleMember).where(
            CircleMember.program_id == program_id, CircleMember.period == period
        )
        return list((await self._s.exec(query.order_by(col(CircleMember.participant_id)))).all())

    async def memberships(self, participant_id: int) -> list[CircleMember]:
        query = select(CircleMember).where(CircleMember.participant_id == participant_id)
        return list((await self._s.exec(query)).all())

    async def save(self, member: CircleMember) -> None:
        self._s.add(member)
        await self._s.flush()
