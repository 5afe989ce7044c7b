"""The adapters' contact book, kept in the database so every replica sees the same references."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from storage.db import Database
from storage.repositories.contacts import Contacts


class StoredContactBook:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def find(self, platform: str, tenant: str, key: str) -> dict[str, Any] | None:
        async with self._db.read_session() as session:  # read inside: it ends in a rollback
            contact = await Contacts(session).find(platform, tenant, key)
            return dict(contact.address) if contact is not None and contact.address else None

    async def remember(self, platform: str, tenant: str, key: str, address: dict[str, Any]) -> None:
        """Two replicas may store the first reference for someone at once: one insert wins,
        and the loser updates the winner's row. Called on every activity, so it reads first
        without SQLite's write lock (it must not queue behind a tick or the dispatcher) and
        writes only when something changed."""
        async with self._db.read_session() as session:
            known = await Contacts(session).find(platform, tenant, key)
            if known is not None and known.address == address and known.unreachable_since is None:
                return
        for attempt in range(2):
            try:
                async with self._db.session() as session:
                    contacts = Contacts(session)
                    await contacts.remember(platform, tenant, key, address, self._clock.now())
                    await session.commit()
                return
            except IntegrityError:
                if attempt:
                    raise

    async def forget(self, platform: str, tenant: str, key: str) -> None:
        async with self._db.session() as session:
            await Contacts(session).forget(platform, tenant, key)
            await session.commit()
