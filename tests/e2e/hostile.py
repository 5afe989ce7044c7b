"""Shared checks for hostile-input tests: what the log and the database must not show."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlmodel import SQLModel

from bot.app import App


async def snapshot(app: App) -> dict[str, list[tuple]]:
    """Every row of every table (tests' databases are small)."""
    rows: dict[str, list[tuple]] = {}
    async with app.db.read_session() as session:
        connection = await session.connection()
        for table in SQLModel.metadata.sorted_tables:
            result = await connection.execute(select(table))
            rows[table.name] = sorted((tuple(map(repr, r)) for r in result.all()), key=repr)
    return rows


def loud(records: list[logging.LogRecord]) -> list[str]:
    """Records that must never come from a client's malformed request: ERROR and above, and
    anything carrying a traceback."""
    return [
        f"{r.levelname} {r.name}: {r.getMessage()[:200]}"
        for r in records
        if r.levelno >= logging.ERROR or r.exc_info or r.exc_text or r.stack_info
    ]
