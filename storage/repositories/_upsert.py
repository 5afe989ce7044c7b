"""INSERT … ON CONFLICT DO NOTHING for both SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def insert_ignore(session: AsyncSession, model: Any, values: dict[str, Any]) -> bool:
    """Insert a row unless a unique constraint already holds it; True if this call inserted."""
    statement = _insert(session)(model).values(**values).on_conflict_do_nothing()
    result = await session.exec(statement)  # type: ignore[call-overload]
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def insert_many_ignore(
    session: AsyncSession, model: Any, rows: list[dict[str, Any]], returning: Any
) -> list[Any]:
    """Insert rows in bulk, skipping any a unique constraint already holds (or that a
    concurrent transaction inserts first); `returning` of the rows this call inserted.
    One statement, compiled once, sent as multi-row batches (SQLAlchemy's insertmanyvalues)."""
    if not rows:
        return []
    table = model.__table__
    statement = _insert(session)(table).on_conflict_do_nothing().returning(returning)
    result = await (await session.connection()).execute(statement, rows)
    return list(result.scalars().all())
