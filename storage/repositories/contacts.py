from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ContactAddress


class Contacts:
    """How to reach a person proactively (e.g. a Teams conversation reference)."""

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
        """Store or refresh the address (it changes, e.g. a new Teams serviceUrl)."""
        contact = await self.find(platform, tenant, user_id) or ContactAddress(
            platform=platform, tenant=tenant, user_id=user_id, address={}, updated_at=now
        )
        contact.address, contact.updated_at = address, now
        self._s.add(contact)
        await self._s.flush()
