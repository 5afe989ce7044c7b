"""Schema migrations with alembic, driven from code (`upward db upgrade`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.crypto import Cipher
from storage.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str, cipher: Cipher | None = None) -> Config:
    """`cipher` reaches the migrations that seal data already stored (0015) as
    `config.attributes["cipher"]`; without it they refuse if there is anything to seal."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["cipher"] = cipher
    return config


def upgrade(url: str, revision: str = "head", *, cipher: Cipher | None = None) -> None:
    """Bring the database at `url` to `revision`. Safe to run repeatedly."""
    command.upgrade(alembic_config(url, cipher), revision)


async def upgrade_async(url: str, revision: str = "head", *, cipher: Cipher | None = None) -> None:
    # alembic's env.py runs its own event loop; keep it off the caller's loop.
    await asyncio.to_thread(lambda: upgrade(url, revision, cipher=cipher))


async def schema_status(db: Database) -> tuple[bool, str]:
    """(ready, what) for a readiness probe: is the database reachable, and is its schema
    at the migrations' head? Never raises."""
    head = ScriptDirectory.from_config(alembic_config(str(db.engine.url))).get_current_head()
    try:
        async with db.engine.connect() as conn:
            current = await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    except Exception as exc:  # unreachable, refused, misconfigured: all "not ready"
        return False, f"database unreachable ({type(exc).__name__})"
    if current != head:
        return (
            False,
            f"schema at {current or 'nothing'}, migrations at {head}: run `upward db upgrade`",
        )
    return True, f"schema at {head}"
