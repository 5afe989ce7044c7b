from __future__ import annotations

from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Program


class Programs:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, program_id: int) -> Program | None:
        return await self._s.get(Program, program_id)

    async def by_slug(self, slug: str) -> Program | None:
        return (await self._s.exec(select(Program).where(Program.slug == slug))).first()

    async def active(self) -> list[Program]:
        query = select(Program).where(Program.active == True).order_by(Program.id)  # noqa: E712
        return list((await self._s.exec(query)).all())

    async def save(self, **fields: Any) -> tuple[Program, bool]:
        """Create the program, or update the one with this slug; True if created."""
        program = await self.by_slug(fields["slug"])
        created = program is None
        program = program or Program(**fields)
        for name, value in fields.items():
            setattr(program, name, value)
        self._s.add(program)
        await self._s.flush()
        return program, created
