"""Sessions on SQLite: writers take the write lock at BEGIN; a read-only session does not."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import func, select

from storage.db import Database
from storage.models import AuditEntry


async def test_a_read_session_sees_the_last_commit_without_waiting_for_a_writer(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'upward.db'}")
    await db.create_all()
    try:
        async with db.session() as writer:
            writer.add(
                AuditEntry(at=datetime.now(UTC), actor="a", action="b", target="", outcome="ok")
            )
            await writer.flush()  # holds SQLite's write lock until it commits
            async with db.read_session() as reader:
                count = select(func.count()).select_from(AuditEntry)
                seen = await asyncio.wait_for(reader.exec(count), 2)  # busy_timeout is 5 s
                assert seen.one() == 0
            await writer.commit()
        async with db.read_session() as reader:
            assert (await reader.exec(count)).one() == 1
    finally:
        await db.dispose()
