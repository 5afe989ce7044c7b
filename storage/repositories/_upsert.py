"""INSERT … ON CONFLICT DO NOTHING for both SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
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
    concurrent transaction inserts first); `returning` of the rows this call inserted."""
    if not rows:
        return []
    connection = await session.connection()
    table = model.__table__
    statement = _insert(session)(table).on_conflict_do_nothing()
    if connection.dialect.name == "postgresql":
        # Compiled once, sent as multi-row batches (SQLAlchemy's insertmanyvalues); a row
        # another transaction holds waits for it, then is skipped and not returned.
        result = await connection.execute(statement.returning(returning), rows)
        return list(result.scalars().all())
    # SQLite has one writer at a time and this transaction is it (the codebase begins
    # IMMEDIATE), so the rows past the highest id before the insert are this call's. The
    # driver's executemany is several times faster than RETURNING batches.
    before = (await connection.execute(select(func.max(table.c.id)))).scalar() or 0
    result = await connection.execute(statement, rows)
    if result.rowcount == len(rows):
        return [row[returning.key] for row in rows]
    inserted = select(returning).where(table.c.id > before)
    return list((await connection.execute(inserted)).scalars().all())
