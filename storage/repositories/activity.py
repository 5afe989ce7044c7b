"""What pairs do: prompts received, check-ins, goals, reviews."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from sqlmodel import col, exists, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CheckIn, Goal, Pair, PairPrompt, Review
from storage.repositories._upsert import insert_many, one_of


class PairPrompts:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def for_pair(self, pair_id: int) -> list[PairPrompt]:
        query = select(PairPrompt).where(PairPrompt.pair_id == pair_id).order_by(PairPrompt.cycle)
        return list((await self._s.exec(query)).all())

    async def used_by(self, pair_ids: Collection[int]) -> dict[int, set[str]]:
        """The prompts each of these pairs has had, in bulk."""
        used: dict[int, set[str]] = {}
        if pair_ids:
            query = select(PairPrompt.pair_id, PairPrompt.prompt_id).where(
                one_of(self._s, col(PairPrompt.pair_id), list(pair_ids))
            )
            for pair_id, prompt_id in (await self._s.exec(query)).all():
                used.setdefault(pair_id, set()).add(prompt_id)
        return used

    async def record(self, entry: PairPrompt) -> None:
        self._s.add(entry)
        await self._s.flush()

    async def record_many(self, entries: list[dict[str, Any]]) -> None:
        """Record prompts in bulk: rows with pair_id, cycle, prompt_id and lead_id."""
        if entries:
            await insert_many(self._s, PairPrompt, entries)


class CheckIns:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def find(self, pair_id: int, participant_id: int, cycle: int) -> CheckIn | None:
        query = select(CheckIn).where(
            CheckIn.pair_id == pair_id,
            CheckIn.participant_id == participant_id,
            CheckIn.cycle == cycle,
        )
        return (await self._s.exec(query)).first()

    async def met_in(self, pair_ids: Collection[int]) -> set[tuple[int, int]]:
        """(pair, cycle) for which someone of these pairs said “we met”, in bulk."""
        if not pair_ids:
            return set()
        query = select(CheckIn.pair_id, CheckIn.cycle).where(
            one_of(self._s, col(CheckIn.pair_id), list(pair_ids)), col(CheckIn.met).is_(True)
        )
        return {(pair_id, cycle) for pair_id, cycle in (await self._s.exec(query)).all()}

    async def for_pair_cycle(self, pair_id: int, cycle: int) -> list[CheckIn]:
        query = select(CheckIn).where(CheckIn.pair_id == pair_id, CheckIn.cycle == cycle)
        return list((await self._s.exec(query)).all())

    async def for_pairs(self, pair_ids: list[int]) -> list[CheckIn]:
        query = select(CheckIn).where(col(CheckIn.pair_id).in_(pair_ids)).order_by(CheckIn.id)
        return list((await self._s.exec(query)).all())

    async def purge_text_of_pairs_ended_before(self, cutoff: datetime) -> int:
        """Free text goes; the numbers that frozen digests were computed from stay."""
        ended = select(Pair.id).where(col(Pair.ended_at) < cutoff)
        purged = 0
        for model, column in ((CheckIn, CheckIn.note_enc), (Review, Review.changed_enc)):
            result = await self._s.exec(
                update(model)
                .where(col(model.pair_id).in_(ended), col(column).is_not(None))
                .values({column: None})
            )
            purged += result.rowcount or 0
        return purged

    async def save(self, checkin: CheckIn) -> None:
        self._s.add(checkin)
        await self._s.flush()


class Goals:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, goal_id: int) -> Goal | None:
        return await self._s.get(Goal, goal_id)

    async def for_pair(self, pair_id: int) -> list[Goal]:
        query = select(Goal).where(Goal.pair_id == pair_id).order_by(Goal.id)
        return list((await self._s.exec(query)).all())

    async def for_pairs(self, pair_ids: list[int]) -> list[Goal]:
        query = select(Goal).where(col(Goal.pair_id).in_(pair_ids)).order_by(Goal.id)
        return list((await self._s.exec(query)).all())

    async def any_due(self, program_id: int, today: date) -> bool:
        """Whether an open goal of an active pair in the program is due by `today`."""
        query = select(
            exists().where(
                col(Goal.pair_id) == col(Pair.id),
                col(Pair.program_id) == program_id,
                col(Pair.status) == "active",
                col(Goal.done_at).is_(None),
                col(Goal.due_on) <= today,
            )
        )
        return bool((await self._s.exec(query)).one())

    async def open_and_due(self, pair_ids: list[int]) -> list[Goal]:
        query = select(Goal).where(
            col(Goal.pair_id).in_(pair_ids),
            col(Goal.done_at).is_(None),
            col(Goal.due_on).is_not(None),
        )
        return list((await self._s.exec(query.order_by(Goal.id))).all())

    async def save(self, goal: Goal) -> Goal:
        self._s.add(goal)
        await self._s.flush()
        return goal


class Reviews:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def find(self, pair_id: int, participant_id: int, stage: str) -> Review | None:
        query = select(Review).where(
            Review.pair_id == pair_id,
            Review.participant_id == participant_id,
            Review.stage == stage,
        )
        return (await self._s.exec(query)).first()

    async def for_pairs(self, pair_ids: list[int]) -> list[Review]:
        query = select(Review).where(col(Review.pair_id).in_(pair_ids)).order_by(Review.id)
        return list((await self._s.exec(query)).all())

    async def save(self, review: Review) -> None:
        self._s.add(review)
        await self._s.flush()
