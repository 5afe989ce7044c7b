from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import String, cast
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Pair, Participant
from storage.repositories._upsert import one_of


class Member(NamedTuple):
    """What the tick needs to address a participant, without an ORM object's cost."""

    id: int
    platform: str
    tenant: str
    user_id: str
    display_name: str
    timezone: str
    status: str
    role: str
    off_limits: list[str]


def _json_list(text: str | None) -> list[str]:
    return json.loads(text) if text and text != "[]" else []


def member_columns(table: Any) -> list[Any]:
    """The columns a `Member` is made of (`member_of`), of the participant table or an
    alias of it. The JSON column as its text: most lists are empty, and decoding "[]"
    100,000 times shows in a tick's time."""
    return [*(table.c[name] for name in Member._fields[:-1]), cast(table.c.off_limits, String)]


def member_of(row: Sequence[Any]) -> Member:
    """A `Member` from the values of `member_columns`."""
    *fields, off_limits = row
    return Member(*fields, _json_list(off_limits))


class Participants:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, participant_id: int) -> Participant | None:
        return await self._s.get(Participant, participant_id)

    async def members(self, ids: Collection[int]) -> dict[int, Member]:
        """Participants by id, in bulk (Core rows: no ORM objects to build)."""
        table = Participant.__table__  # type: ignore[attr-defined]
        if not ids:
            return {}
        query = sa_select(*member_columns(table)).where(one_of(self._s, table.c.id, list(ids)))
        rows = (await (await self._s.connection()).execute(query)).all()
        return {row[0]: member_of(row) for row in rows}

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
