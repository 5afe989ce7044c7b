"""What pairs do: prompts received, check-ins, goals, reviews."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any

from sqlmodel import col, exists, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.answers import (
    CheckInAnswers,
    CheckInView,
    ReviewAnswers,
    ReviewView,
    open_checkin,
    open_review,
    seal_checkin,
    seal_review,
)
from storage.crypto import Cipher
from storage.models import (
    CheckIn,
    Goal,
    Pair,
    PairPrompt,
    Review,
    checkin_answers_context,
    review_answers_context,
)
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
    """Check-ins, their answers sealed at rest and opened here, in memory only."""

    def __init__(self, session: AsyncSession, cipher: Cipher) -> None:
        self._s = session
        self._cipher = cipher

    async def record(
        self,
        pair_id: int,
        participant_id: int,
        cycle: int,
        answers: CheckInAnswers,
        note: str | None,
        at: datetime,
    ) -> None:
        """One answer per person per cycle: a replayed or edited submission replaces it."""
        query = select(CheckIn).where(
            CheckIn.pair_id == pair_id,
            CheckIn.participant_id == participant_id,
            CheckIn.cycle == cycle,
        )
        checkin = (await self._s.exec(query)).first() or CheckIn(
            pair_id=pair_id, participant_id=participant_id, cycle=cycle, answers_enc=""
        )  # type: ignore[call-arg]
        checkin.answers_enc = seal_checkin(self._cipher, answers, checkin.answers_context)
        checkin.note_enc = self._cipher.encrypt_optional(note, checkin.note_context)
        checkin.submitted_at = at
        self._s.add(checkin)
        await self._s.flush()

    async def met_in(self, cycles: Mapping[int, int]) -> set[tuple[int, int]]:
        """(pair, cycle) for which someone of these pairs said “we met” in the given cycle
        (pair → cycle), in bulk. Only those cycles' answers are opened."""
        if not cycles:
            return set()
        query = select(
            CheckIn.pair_id, CheckIn.participant_id, CheckIn.cycle, CheckIn.answers_enc
        ).where(one_of(self._s, col(CheckIn.pair_id), list(cycles)))
        met = set()
        for pair_id, participant_id, cycle, token in (await self._s.exec(query)).all():
            if cycles.get(pair_id) != cycle or (pair_id, cycle) in met:
                continue
            context = checkin_answers_context(pair_id, participant_id, cycle)
            if open_checkin(self._cipher, token, context).met:
                met.add((pair_id, cycle))
        return met

    async def for_pairs(
        self,
        pair_ids: list[int],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[CheckInView]:
        """The check-ins of these pairs (submitted in [since, until) if given), opened."""
        query = select(*_CHECKIN_COLUMNS).where(one_of(self._s, col(CheckIn.pair_id), pair_ids))
        query = _submitted_in(query, col(CheckIn.submitted_at), since, until)
        rows = (await self._s.exec(query.order_by(CheckIn.id))).all()
        cipher = self._cipher
        return [
            _checkin_view(row, open_checkin(cipher, row[6], checkin_answers_context(*row[1:4])))
            for row in rows
        ]

    async def purge_text_of_pairs_ended_before(self, cutoff: datetime) -> int:
        """Free text goes; the (sealed) answers that frozen digests were computed from stay."""
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


_CHECKIN_COLUMNS = (
    CheckIn.id,
    CheckIn.pair_id,
    CheckIn.participant_id,
    CheckIn.cycle,
    CheckIn.submitted_at,
    CheckIn.note_enc,
    CheckIn.answers_enc,
)


def _checkin_view(row: Any, answers: CheckInAnswers) -> CheckInView:
    return CheckInView(
        id=row[0],
        pair_id=row[1],
        participant_id=row[2],
        cycle=row[3],
        submitted_at=row[4],
        note_enc=row[5],
        met=answers.met,
        rating=answers.rating,
        themes=answers.themes,
        energy=answers.energy,
        lead=answers.lead,
    )


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
    """Reviews, their scores sealed at rest and opened here, in memory only."""

    def __init__(self, session: AsyncSession, cipher: Cipher) -> None:
        self._s = session
        self._cipher = cipher

    async def record(
        self,
        pair_id: int,
        participant_id: int,
        stage: str,
        answers: ReviewAnswers,
        changed: str | None,
        at: datetime,
    ) -> None:
        """One review per person per stage: a replayed or edited submission replaces it."""
        query = select(Review).where(
            Review.pair_id == pair_id,
            Review.participant_id == participant_id,
            Review.stage == stage,
        )
        review = (await self._s.exec(query)).first() or Review(
            pair_id=pair_id, participant_id=participant_id, stage=stage, answers_enc=""
        )  # type: ignore[call-arg]
        review.answers_enc = seal_review(self._cipher, answers, review.answers_context)
        review.changed_enc = self._cipher.encrypt_optional(changed, review.changed_context)
        review.submitted_at = at
        self._s.add(review)
        await self._s.flush()

    async def for_pairs(
        self,
        pair_ids: list[int],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ReviewView]:
        """The reviews of these pairs (submitted in [since, until) if given), opened."""
        query = select(*_REVIEW_COLUMNS).where(one_of(self._s, col(Review.pair_id), pair_ids))
        query = _submitted_in(query, col(Review.submitted_at), since, until)
        views = []
        for row in (await self._s.exec(query.order_by(Review.id))).all():
            context = review_answers_context(row[1], row[2], row[3])
            answers = open_review(self._cipher, row[6], context)
            views.append(
                ReviewView(
                    id=row[0],
                    pair_id=row[1],
                    participant_id=row[2],
                    stage=row[3],
                    submitted_at=row[4],
                    changed_enc=row[5],
                    confidence_before=answers.confidence_before,
                    confidence_now=answers.confidence_now,
                    again=answers.again,
                )
            )
        return views


_REVIEW_COLUMNS = (
    Review.id,
    Review.pair_id,
    Review.participant_id,
    Review.stage,
    Review.submitted_at,
    Review.changed_enc,
    Review.answers_enc,
)


def _submitted_in(query: Any, column: Any, since: datetime | None, until: datetime | None) -> Any:
    """`query` narrowed to rows submitted in [since, until), either end open if None."""
    if since is not None:
        query = query.where(column >= since)
    if until is not None:
        query = query.where(column < until)
    return query
