from __future__ import annotations

from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Pair, Participant


class Participants:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, participant_id: int) -> Participant | None:
        return await self._s.get(Participant, participant_id)

    async def find(
        self, program_id: int, platform: str, tenant: str, user_id: str
    ) -> Participant | None:
        query = select(Participant).where(
            Participant.program_id == program_id,
            Participant.platform == platform,
            Participant.tenant == tenant,
            Participant.user_id == user_id,
        )
        return (await self._s.exec(query)).first()

    async def enrolments(self, platform: str, tenant: str, user_id: str) -> list[Participant]:
        """Every program this person is in (not left), oldest first."""
        query = (
            select(Participant)
            .where(
                Participant.platform == platform,
                Participant.tenant == tenant,
                Participant.user_id == user_id,
                Participant.status != "left",
            )
            .order_by(Participant.id)
        )
        return list((await self._s.exec(query)).all())

    async def in_program(
        self, program_id: int, *, statuses: tuple[str, ...] = ("active", "paused")
    ) -> list[Participant]:
        query = (
            select(Participant)
            .where(Participant.program_id == program_id, col(Participant.status).in_(statuses))
            .order_by(Participant.id)
        )
        return list((await self._s.exec(query)).all())

    async def unpaired_pool(self, program_id: int) -> list[Participant]:
        """Active (not paused) participants who are not in an active pair."""
        paired = (
            select(Pair.mentor_id)
            .where(Pair.status == "active")
            .union(select(Pair.mentee_id).where(Pair.status == "active"))
        )
        query = (
            select(Participant)
            .where(
                Participant.program_id == program_id,
                Participant.status == "active",
                col(Participant.id).not_in(paired),
            )
            .order_by(Participant.id)
        )
        return list((await self._s.exec(query)).all())

    async def paused_until_before(self, today: date) -> list[Participant]:
        query = select(Participant).where(
            Participant.status == "paused", col(Participant.paused_until) <= today
        )
        return list((await self._s.exec(query)).all())

    async def save(self, participant: Participant) -> Participant:
        self._s.add(participant)
        await self._s.flush()
        return participant
