from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import and_, col, exists, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import MatchRound, Pair, Participant, ProposedPair
from storage.repositories._upsert import one_of
from storage.repositories.participants import Member, member_columns, member_of


class ActivePair(NamedTuple):
    """The columns the tick needs of an active pair, without an ORM object's cost."""

    id: int
    mentor_id: int
    mentee_id: int
    two_way: bool
    started_at: datetime


class Partners(NamedTuple):
    """A pair's partners and shared topics, as a tick reads them for many pairs at once."""

    mentor: Member
    mentee: Member
    shared_topics: list[str]


class Pairs:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, pair_id: int) -> Pair | None:
        return await self._s.get(Pair, pair_id)

    async def active_for(
        self, participant_id: int, statuses: tuple[str, ...] = ("active",)
    ) -> list[Pair]:
        query = (
            select(Pair)
            .where(
                col(Pair.status).in_(statuses),
                or_(Pair.mentor_id == participant_id, Pair.mentee_id == participant_id),
            )
            .order_by(Pair.id)
        )
        return list((await self._s.exec(query)).all())

    async def of_participant(self, participant_id: int) -> list[Pair]:
        """Every pair this participant was ever in, oldest first."""
        query = (
            select(Pair)
            .where(or_(Pair.mentor_id == participant_id, Pair.mentee_id == participant_id))
            .order_by(col(Pair.id))
        )
        return list((await self._s.exec(query)).all())

    async def active(self, program_id: int | None = None) -> list[Pair]:
        query = select(Pair).where(Pair.status == "active").order_by(Pair.id)
        if program_id is not None:
            query = query.where(Pair.program_id == program_id)
        return list((await self._s.exec(query)).all())

    async def waiting(self, program_id: int) -> list[Pair]:
        """Approved pairs not introduced yet (a partner is still preparing)."""
        query = select(Pair).where(Pair.program_id == program_id, Pair.status == "waiting")
        return list((await self._s.exec(query.order_by(Pair.id))).all())

    async def introduce_if_waiting(self, pair: Pair, *, at: datetime) -> bool:
        """Waiting → active, once: of two concurrent "got it" clicks only one introduces.
        The pair's calendar starts at its introduction."""
        return await self._move(pair, "waiting", status="active", started_at=at)

    async def cancel_if_waiting(self, pair: Pair, *, at: datetime) -> bool:
        return await self._move(pair, "waiting", status="ended", ended_at=at, end_kind="cancelled")

    async def _move(self, pair: Pair, expected: str, **values: object) -> bool:
        statement = (
            update(Pair)
            .where(col(Pair.id) == pair.id, col(Pair.status) == expected)
            .values(**values)
        )
        result = await self._s.exec(statement)  # type: ignore[call-overload]
        if not result.rowcount:
            return False
        await self._s.refresh(pair)
        return True

    async def active_starts(self, program_id: int) -> list[datetime]:
        """The distinct start times of the program's active pairs (pairs approved together
        share one), so a tick can tell which pairs may have anything due before loading them."""
        table = Pair.__table__  # type: ignore[attr-defined]
        query = (
            sa_select(table.c.started_at)
            .where(table.c.program_id == program_id, table.c.status == "active")
            .group_by(table.c.started_at)
        )
        return list((await (await self._s.connection()).execute(query)).scalars().all())

    async def active_chunks(
        self, program_id: int, size: int = 5_000, *, started: list[datetime] | None = None
    ) -> AsyncIterator[list[ActivePair]]:
        """The program's active pairs in id order, `size` at a time, so a tick over many
        pairs holds one chunk in memory; only those started at one of `started` if given. A
        pair changed while iterating is not revisited."""
        table, after = Pair.__table__, 0  # type: ignore[attr-defined]
        columns = (table.c.id, table.c.mentor_id, table.c.mentee_id, table.c.two_way)
        if started is not None and not started:
            return
        while True:
            query = (
                sa_select(*columns, table.c.started_at)
                .where(
                    table.c.program_id == program_id,
                    table.c.status == "active",
                    table.c.id > after,
                )
                .order_by(table.c.id)
                .limit(size)
            )
            if started is not None:
                query = query.where(table.c.started_at.in_(started))
            chunk = [
                ActivePair(*row)
                for row in (await (await self._s.connection()).execute(query)).all()
            ]
            if not chunk:
                return
            yield chunk
            after = chunk[-1].id

    async def partners(self, pair_ids: Collection[int]) -> dict[int, Partners]:
        """Each pair's partners and shared topics, in bulk: one query, partners joined. The
        ids' range is a filter too: it adds nothing to the result, but tells PostgreSQL's
        planner how few pairs a tick's chunk holds (from the id list alone it guesses many,
        and scans every participant twice to hash-join them, several times slower)."""
        if not pair_ids:
            return {}
        ids = list(pair_ids)
        pair = Pair.__table__  # type: ignore[attr-defined]
        people = Participant.__table__  # type: ignore[attr-defined]
        mentor, mentee = people.alias("mentor"), people.alias("mentee")
        columns = member_columns(mentor)
        query = (
            sa_select(pair.c.id, pair.c.shared_topics, *columns, *member_columns(mentee))
            .select_from(pair)
            .join(mentor, mentor.c.id == pair.c.mentor_id)
            .join(mentee, mentee.c.id == pair.c.mentee_id)
            .where(pair.c.id.between(min(ids), max(ids)), one_of(self._s, pair.c.id, ids))
        )
        rows = (await (await self._s.connection()).execute(query)).all()
        split = 2 + len(columns)
        return {
            row[0]: Partners(member_of(row[2:split]), member_of(row[split:]), row[1])
            for row in rows
        }

    async def complete(self, pair_ids: Collection[int], at: datetime) -> None:
        """Mark pairs completed (their program duration is over)."""
        if pair_ids:
            statement = (
                update(Pair)
                .where(col(Pair.id).in_(list(pair_ids)))
                .values(status="completed", ended_at=at, end_kind="completed")
            )
            await self._s.exec(statement)  # type: ignore[call-overload]

    async def any_started_before(self, program_id: int, moment: datetime) -> bool:
        """Whether any pair of the program was introduced before `moment` (a pair waiting
        for its introduction, or a match that never went ahead, doesn't count)."""
        introduced = and_(
            col(Pair.status) != "waiting",
            or_(col(Pair.end_kind).is_(None), col(Pair.end_kind) != "cancelled"),
        )
        query = select(
            exists().where(
                col(Pair.program_id) == program_id, col(Pair.started_at) < moment, introduced
            )
        )
        return bool((await self._s.exec(query)).one())

    async def in_program(self, program_id: int) -> list[Pair]:
        query = select(Pair).where(Pair.program_id == program_id).order_by(Pair.id)
        return list((await self._s.exec(query)).all())

    async def history(self) -> list[tuple[str, str]]:
        """Every pair ever formed, as (platform:tenant:user, platform:tenant:user): no repeats."""
        mentor, mentee = aliased(Participant), aliased(Participant)
        query = (
            select(mentor.platform, mentor.tenant, mentor.user_id, mentee.tenant, mentee.user_id)
            .select_from(Pair)
            .join(mentor, col(Pair.mentor_id) == mentor.id)
            .join(mentee, col(Pair.mentee_id) == mentee.id)
        )
        rows = (await self._s.exec(query)).all()
        return [(f"{p}:{t1}:{u1}", f"{p}:{t2}:{u2}") for p, t1, u1, t2, u2 in rows]

    async def end_if_active(self, pair: Pair, *, at: datetime, kind: str) -> bool:
        """End the pair unless something else already did: the conditional update is the
        lock, so of two concurrent requests exactly one ends it."""
        return await self._move(pair, "active", status="ended", ended_at=at, end_kind=kind)

    async def save(self, pair: Pair) -> Pair:
        self._s.add(pair)
        await self._s.flush()
        return pair

    # --- proposals -------------------------------------------------------------------

    async def open_round(self, program_id: int) -> MatchRound | None:
        query = select(MatchRound).where(
            MatchRound.program_id == program_id, MatchRound.status == "proposed"
        )
        return (await self._s.exec(query.order_by(col(MatchRound.id).desc()))).first()

    async def proposals(self, round_id: int) -> list[ProposedPair]:
        query = (
            select(ProposedPair)
            .where(ProposedPair.round_id == round_id)
            .order_by(ProposedPair.position)
        )
        return list((await self._s.exec(query)).all())

    async def save_round(
        self, match_round: MatchRound, proposals: list[ProposedPair]
    ) -> MatchRound:
        self._s.add(match_round)
        await self._s.flush()
        for proposal in proposals:
            proposal.round_id = match_round.id  # type: ignore[assignment]
            self._s.add(proposal)
        await self._s.flush()
        return match_round

    async def save_proposal(self, proposal: ProposedPair) -> None:
        self._s.add(proposal)
        await self._s.flush()
