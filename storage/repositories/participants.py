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

    async def everywhere(self, platform: str, tenant: str, user_id: str) -> list[Participant]:
        """Every enrolment of this person, left ones included (for export and erasure)."""
        query = (
            select(Participant)
            .where(
                Participant.platform == platform,
                Participant.tenant == tenant,
                Participant.user_id == user_id,
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
        return [p for p, load in await self.pool_with_load(program_id) if load == 0]

    async def pool_with_load(self, program_id: int) -> list[tuple[Participant, int]]:
        """Active participants with how many current pairs (active or waiting for their
        introduction) each is in."""
        people = await self.in_program(program_id, statuses=("active",))
        current = col(Pair.status).in_(("active", "waiting"))
        pairs = (await self._s.exec(select(Pair).where(current))).all()
        load: dict[int, int] = {}
        for pair in pairs:
            for member in (pair.mentor_id, pair.mentee_id):
                load[member] = load.get(member, 0) + 1
        return [(p, load.get(p.id, 0)) for p in people]  # type: ignore[arg-type]

    async def paused_until_before(self, today: date) -> list[Participant]:
        query = select(Participant).where(
            Participant.status == "paused", col(Participant.paused_until) <= today
        )
        return list((await self._s.exec(query)).all())

    async def save(self, participant: Participant) -> Participant:
        self._s.add(participant)
        await self._s.flush()
        return participant
