"""A pair's first-meeting agreement, sealed to the pair."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.crypto import Cipher
from storage.models import Pair, PairAgreement
from storage.repositories._upsert import insert_ignore


class Agreements:
    def __init__(self, session: AsyncSession, cipher: Cipher) -> None:
        self._s = session
        self._cipher = cipher

    async def get(self, pair_id: int) -> dict[str, str] | None:
        row = await self._row(pair_id)
        if row is None:
            return None
        return json.loads(self._cipher.decrypt(row.answers_enc, row.answers_context))

    async def save(
        self, pair_id: int, answers: dict[str, str], *, by: int, now: datetime
    ) -> PairAgreement:
        # Both partners may save at the same moment: create the row once, then update it.
        values = {"pair_id": pair_id, "answers_enc": "", "updated_by": by, "updated_at": now}
        await insert_ignore(self._s, PairAgreement, values)
        row = await self._row(pair_id)
        assert row is not None
        row.answers_enc = self._cipher.encrypt(json.dumps(answers), row.answers_context)
        row.updated_by, row.updated_at = by, now
        self._s.add(row)
        await self._s.flush()
        return row

    async def purge_pairs_ended_before(self, cutoff: datetime) -> int:
        ended = select(Pair.id).where(col(Pair.ended_at) < cutoff)
        result = await self._s.exec(
            delete(PairAgreement).where(col(PairAgreement.pair_id).in_(ended))
        )  # type: ignore[call-overload]
        return int(result.rowcount or 0)

    async def _row(self, pair_id: int) -> PairAgreement | None:
        query = select(PairAgreement).where(PairAgreement.pair_id == pair_id)
        return (await self._s.exec(query)).first()
