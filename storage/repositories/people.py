from __future__ import annotations

from typing import Any

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Person


class People:
    """Roster facts: seniority, department, reporting line."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def find(self, platform: str, tenant: str, user_id: str) -> Person | None:
        query = select(Person).where(
            Person.platform == platform, Person.tenant == tenant, Person.user_id == user_id
        )
        return (await self._s.exec(query)).first()

    async def upsert(self, platform: str, tenant: str, user_id: str, **fields: Any) -> Person:
        person = await self.find(platform, tenant, user_id) or Person(
            platform=platform, tenant=tenant, user_id=user_id
        )
        for name, value in fields.items():
            setattr(person, name, value)
        self._s.add(person)
        await self._s.flush()
        return person

    async def by_email(self, platform: str, tenant: str, email: str) -> Person | None:
        query = select(Person).where(
            Person.platform == platform,
            Person.tenant == tenant,
            func.lower(Person.email) == email.lower(),
        )
        return (await self._s.exec(query)).first()

    async def save(self, person: Person) -> Person:
        self._s.add(person)
        await self._s.flush()
        return person

    async def delete(self, person: Person) -> None:
        await self._s.delete(person)
        await self._s.flush()

    async def in_tenant(self, platform: str, tenant: str) -> list[Person]:
        query = select(Person).where(Person.platform == platform, Person.tenant == tenant)
        return list((await self._s.exec(query)).all())
