from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AdminChannel, ContactAddress


class Contacts:
    """How to reach a person or channel proactively (e.g. a Teams conversation reference)."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def find(self, platform: str, tenant: str, user_id: str) -> ContactAddress | None:
        query = select(ContactAddress).where(
            ContactAddress.platform == platform,
            ContactAddress.tenant == tenant,
            ContactAddress.user_id == user_id,
        )
        return (await self._s.exec(query)).first()

    async def remember(
        self, platform: str, tenant: str, user_id: str, address: dict[str, Any], now: datetime
    ) -> None:
        """Store or refresh the address (it changes, e.g. a new Teams serviceUrl). Hearing
        from someone again means they are reachable again."""
        contact = await self.find(platform, tenant, user_id) or ContactAddress(
            platform=platform, tenant=tenant, user_id=user_id, address={}, updated_at=now
        )
        if contact.address == address and contact.unreachable_since is None:
            return  # nothing new: no write on every message
        contact.address, contact.updated_at = address, now
        contact.unreachable_since, contact.unreachable_reason = None, None
        self._s.add(contact)
        await self._s.flush()

    async def forget(self, platform: str, tenant: str, user_id: str) -> None:
        await self._s.exec(
            delete(ContactAddress).where(
                col(ContactAddress.platform) == platform,
                col(ContactAddress.tenant) == tenant,
                col(ContactAddress.user_id) == user_id,
            )
        )

    async def mark_unreachable(
        self, platform: str, tenant: str, user_id: str, reason: str, now: datetime
    ) -> None:
        contact = await self.find(platform, tenant, user_id) or ContactAddress(
            platform=platform, tenant=tenant, user_id=user_id, address={}, updated_at=now
        )
        if contact.unreachable_since is None:
            contact.unreachable_since = now
        contact.unreachable_reason = reason[:300]
        self._s.add(contact)
        await self._s.flush()

    async def unreachable(self, limit: int = 50) -> list[ContactAddress]:
        query = (
            select(ContactAddress)
            .where(col(ContactAddress.unreachable_since).is_not(None))
            .order_by(col(ContactAddress.unreachable_since))
            .limit(limit)
        )
        return list((await self._s.exec(query)).all())


class AdminChannels:
    """Channels admins chose for digests, in addition to those in settings."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def all(self) -> list[AdminChannel]:
        return list((await self._s.exec(select(AdminChannel).order_by(col(AdminChannel.id)))).all())

    async def add(
        self, platform: str, tenant: str, channel_id: str, added_by: str, now: datetime
    ) -> bool:
        """False if the channel was already chosen."""
        existing = await self._find(platform, tenant, channel_id)
        if existing is not None:
            return False
        self._s.add(
            AdminChannel(
                platform=platform,
                tenant=tenant,
                channel_id=channel_id,
                added_by=added_by,
                added_at=now,
            )
        )
        await self._s.flush()
        return True

    async def remove(self, platform: str, tenant: str, channel_id: str) -> bool:
        existing = await self._find(platform, tenant, channel_id)
        if existing is None:
            return False
        await self._s.delete(existing)
        await self._s.flush()
        return True

    async def _find(self, platform: str, tenant: str, channel_id: str) -> AdminChannel | None:
        query = select(AdminChannel).where(
            AdminChannel.platform == platform,
            AdminChannel.tenant == tenant,
            AdminChannel.channel_id == channel_id,
        )
        return (await self._s.exec(query)).first()
