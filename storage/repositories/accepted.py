"""Forms accepted (acked) but not stored yet: a row each until they are."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.crypto import Cipher, DecryptionError
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
        """(key, sealed answers) of the forms accepted before `moment` and still not
        stored, oldest first; `answers` opens each (one that can't be opened must not
        stop the others)."""
        query = (
            select(AcceptedForm.key, AcceptedForm.answers_enc)
            .where(col(AcceptedForm.accepted_at) < moment)
            .order_by(col(AcceptedForm.accepted_at))
            .limit(limit)
        )
        return [(key, sealed) for key, sealed in (await self._s.exec(query)).all()]

    def answers(self, key: str, sealed: str) -> str:
        """A row's answers (JSON), as `waiting_since` gave it; DecryptionError if no
        configured key opens them."""
        return self._cipher.decrypt(sealed, _context(key))

    async def holds_any_of(self, platform: str, tenant: str, user_id: str) -> bool:
        """Whether a form this person sent is kept, not stored yet."""
        return bool(await self._theirs(platform, tenant, user_id))

    async def forget_person(self, platform: str, tenant: str, user_id: str) -> int:
        """Erasure: drop the forms this person sent that are not stored yet, so that no
        recovery stores them afterwards. The table holds a handful of rows at most."""
        theirs = await self._theirs(platform, tenant, user_id)
        if theirs:
            await self._s.exec(delete(AcceptedForm).where(col(AcceptedForm.key).in_(theirs)))  # type: ignore[call-overload]
        return len(theirs)

    async def _theirs(self, platform: str, tenant: str, user_id: str) -> list[str]:
        who = {"platform": platform, "tenant": tenant, "user_id": user_id}
        theirs = []
        for key, sealed in (
            await self._s.exec(select(AcceptedForm.key, AcceptedForm.answers_enc))
        ).all():
            try:
                actor = json.loads(self.answers(key, sealed)).get("actor", {})
            except (DecryptionError, ValueError):
                continue
            if {field: actor.get(field) for field in who} == who:
                theirs.append(key)
        return theirs
