"""Readiness pulses: who was asked, whether they answered, and answer counts only (one
sealed document per pulse, opened here, in memory only)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Integer, cast, func
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.crypto import Cipher
from storage.models import ReadinessInvite, ReadinessPulse, ReadinessTally, tally_context

Counts = dict[str, dict[str, int]]  # question -> answer -> how many gave it


class Readiness:
    def __init__(self, session: AsyncSession, cipher: Cipher) -> None:
        self._s = session
        self._cipher = cipher

    async def create(
        self,
        pulse: ReadinessPulse,
        people: Iterable[tuple[str, str, str]],
        answers: Iterable[tuple[str, str]],
    ) -> ReadinessPulse:
        """The pulse, one invite per person, and a zero count for every possible answer,
        so that answering is only ever an increment."""
        self._s.add(pulse)
        await self._s.flush()
        for platform, tenant, user_id in people:
            self._s.add(
                ReadinessInvite(
                    pulse_id=pulse.id, platform=platform, tenant=tenant, user_id=user_id
                )  # type: ignore[arg-type]
            )
        zero: Counts = {}
        for question, answer in answers:
            zero.setdefault(question, {})[answer] = 0
        sealed = self._cipher.encrypt_json(zero, tally_context(pulse.id))  # type: ignore[arg-type]
        self._s.add(ReadinessTally(pulse_id=pulse.id, counts_enc=sealed))  # type: ignore[arg-type]
        await self._s.flush()
        return pulse

    async def get(self, pulse_id: int) -> ReadinessPulse | None:
        return await self._s.get(ReadinessPulse, pulse_id)

    async def latest(self, platform: str, tenant: str) -> ReadinessPulse | None:
        query = select(ReadinessPulse).where(
            ReadinessPulse.platform == platform, ReadinessPulse.tenant == tenant
        )
        return (await self._s.exec(query.order_by(col(ReadinessPulse.id).desc()))).first()

    async def audiences(self, platform: str, tenant: str) -> list[tuple[ReadinessPulse, set[str]]]:
        """Every earlier pulse in the workspace, with the user ids it asked."""
        query = select(ReadinessPulse).where(
            ReadinessPulse.platform == platform, ReadinessPulse.tenant == tenant
        )
        pulses = (await self._s.exec(query.order_by(ReadinessPulse.id))).all()
        asked: dict[int, set[str]] = {pulse.id: set() for pulse in pulses}  # type: ignore[misc]
        invites = select(ReadinessInvite.pulse_id, ReadinessInvite.user_id).where(
            col(ReadinessInvite.pulse_id).in_(list(asked))
        )
        for pulse_id, user_id in (await self._s.exec(invites)).all():
            asked[pulse_id].add(user_id)
        return [(pulse, asked[pulse.id]) for pulse in pulses]  # type: ignore[index]

    async def invite(
        self, pulse_id: int, platform: str, tenant: str, user_id: str
    ) -> ReadinessInvite | None:
        query = select(ReadinessInvite).where(
            ReadinessInvite.pulse_id == pulse_id,
            ReadinessInvite.platform == platform,
            ReadinessInvite.tenant == tenant,
            ReadinessInvite.user_id == user_id,
        )
        return (await self._s.exec(query)).first()

    async def answer(
        self, invite: ReadinessInvite, answers: dict[str, str], *, now: datetime
    ) -> bool:
        """Count one person's answers, once and only while the pulse is open: the
        conditional update is the lock against a double submission and against an answer
        landing after the results were frozen. Nothing links the counts to the invite."""
        still_open = select(ReadinessPulse.id).where(
            col(ReadinessPulse.id) == invite.pulse_id,
            col(ReadinessPulse.closes_at) > now,
            col(ReadinessPulse.published_at).is_(None),
        )
        marked = await self._s.exec(  # type: ignore[call-overload]
            update(ReadinessInvite)
            .where(
                col(ReadinessInvite.id) == invite.id,
                col(ReadinessInvite.answered).is_(False),
                col(ReadinessInvite.pulse_id).in_(still_open),
            )
            .values(answered=True)
        )
        if not marked.rowcount:
            return False
        # Read, count, reseal: the row lock (PostgreSQL; SQLite's write lock is already held)
        # and the compare-and-set on the token keep two answers at once from losing one.
        while True:
            query = (
                select(ReadinessTally.counts_enc)
                .where(ReadinessTally.pulse_id == invite.pulse_id)
                .with_for_update()
            )
            token = (await self._s.exec(query)).one()
            context = tally_context(invite.pulse_id)
            counts = self._open(token, context)
            for question, answer in answers.items():
                if answer in counts.get(question, {}):
                    counts[question][answer] += 1
            result = await self._s.exec(  # type: ignore[call-overload]
                update(ReadinessTally)
                .where(
                    col(ReadinessTally.pulse_id) == invite.pulse_id,
                    col(ReadinessTally.counts_enc) == token,
                )
                .values(counts_enc=self._cipher.encrypt_json(counts, context))
                .execution_options(synchronize_session=False)
            )
            if result.rowcount:
                return True

    async def turnout(self, pulse_id: int) -> tuple[int, int]:
        """(asked, answered)."""
        query = select(func.count(), func.sum(cast(col(ReadinessInvite.answered), Integer))).where(
            ReadinessInvite.pulse_id == pulse_id
        )
        asked, answered = (await self._s.exec(query)).one()  # type: ignore[call-overload]
        return int(asked or 0), int(answered or 0)

    async def tallies(self, pulse_id: int) -> Counts:
        query = select(ReadinessTally.counts_enc).where(ReadinessTally.pulse_id == pulse_id)
        token = (await self._s.exec(query)).first()
        return self._open(token, tally_context(pulse_id)) if token is not None else {}

    def _open(self, token: str, context: str) -> Counts:
        counts = self._cipher.decrypt_json(token, context)
        return {q: {a: int(n) for a, n in answers.items()} for q, answers in counts.items()}

    async def closed_unpublished(self, now: datetime) -> list[ReadinessPulse]:
        query = select(ReadinessPulse).where(
            col(ReadinessPulse.published_at).is_(None), col(ReadinessPulse.closes_at) <= now
        )
        return list((await self._s.exec(query.order_by(ReadinessPulse.id))).all())

    async def freeze(self, pulse: ReadinessPulse, now: datetime) -> bool:
        """Snapshot the turnout and counts once, at the close; False if already frozen."""
        result = await self._s.exec(  # type: ignore[call-overload]
            update(ReadinessPulse)
            .where(col(ReadinessPulse.id) == pulse.id, col(ReadinessPulse.published_at).is_(None))
            .values(published_at=now)
        )
        if not result.rowcount:
            return False
        asked, answered = await self.turnout(pulse.id)  # type: ignore[arg-type]
        pulse.results = {
            "asked": asked,
            "answered": answered,
            "tallies": await self.tallies(pulse.id),  # type: ignore[arg-type]
        }
        pulse.published_at = now
        self._s.add(pulse)
        await self._s.flush()
        return True
