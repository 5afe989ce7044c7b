"""Forms accepted (acked) but not stored yet: a row each until they are."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.crypto import Cipher
from storage.models import AcceptedForm
from storage.repositories._upsert import insert_ignore


def _context(key: str) -> str:
    return f"acceptedform.answers:{key}"


class AcceptedForms:
    def __init__(self, session: AsyncSession, cipher: Cipher) -> None:
        self._s = session
        self._cipher = cipher

    async def add(self, key: str, answers: str, at: datetime) -> None:
        """Keep a form's answers (JSON) until it is stored; a second add changes nothing."""
        sealed = self._cipher.encrypt(answers, _context(key))
        await insert_ignore(
            self._s, AcceptedForm, {"key": key, "answers_enc": sealed, "accepted_at": at}
        )

    async def done(self, key: str) -> None:
        """The form is stored (or its author told it wasn't): nothing more to keep."""
        await self._s.exec(delete(AcceptedForm).where(col(AcceptedForm.key) == key))  # type: ignore[call-overload]

    async def waiting_since(self, moment: datetime, limit: int) -> list[tuple[str, str]]:
        """(key, answers) of the forms accepted before `moment` and still not stored,
        oldest first."""
        query = (
            select(AcceptedForm)
            .where(col(AcceptedForm.accepted_at) < moment)
            .order_by(col(AcceptedForm.accepted_at))
            .limit(limit)
        )
        rows = (await self._s.exec(query)).all()
        return [(r.key, self._cipher.decrypt(r.answers_enc, _context(r.key))) for r in rows]
