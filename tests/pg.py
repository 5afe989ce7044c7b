"""PostgreSQL for tests: one fresh schema per test, dropped afterwards.

`UPWARD_TEST_POSTGRES_URL` names the server (CI: postgresql+asyncpg://postgres@127.0.0.1:5432/test).
Unset: PostgreSQL tests skip with a reason. Set: they run, and an unreachable server fails
them loudly instead of skipping.

Every test gets its own schema `t_<uuid>`, so tests (and a second suite running at the same
time on the same database) never see each other's tables. The schema is selected with the
connection's `search_path`, in two equivalent forms:

- `PgSchema.url`: the base URL plus `?dsn=postgresql:///?search_path=<schema>`. SQLAlchemy's
  asyncpg dialect passes URL query items to `asyncpg.connect()` as keyword arguments, and
  asyncpg turns unknown DSN query parameters into `server_settings`. A URL alone is all that
  `bot.app.build_app` (via `Settings.database_url`) and alembic (`storage.migrate.upgrade`)
  accept, so this is the form for them. (`?options=-csearch_path=...` or `?search_path=...`
  do not work: SQLAlchemy hands them to `asyncpg.connect()`, which rejects unknown keywords.)
- `PgSchema.base_url` + `PgSchema.connect_args` (`server_settings={"search_path": schema}`)
  for `storage.db.Database(url, connect_args=...)`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from storage.db import Database

ENV = "UPWARD_TEST_POSTGRES_URL"
CONNECT_TIMEOUT = 10  # seconds: an unreachable server fails the test quickly


def postgres_url() -> str:
    """The test server's URL, or skip the calling test when it is not configured."""
    url = os.environ.get(ENV, "").strip()
    if not url:
        pytest.skip(
            f"{ENV} is not set; set it (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test) "
            "to run the PostgreSQL tests"
        )
    return url


@dataclass(frozen=True)
class PgSchema:
    base_url: str
    schema: str
    url: str
    connect_args: dict[str, object] = field(default_factory=dict)

    def database(self) -> Database:
        """A `Database` on this schema, selected through connect_args."""
        return Database(self.base_url, connect_args=self.connect_args)


def schema_url(base_url: str, schema: str) -> str:
    """`base_url` with this schema first on the search_path, as a plain URL string."""
    url = make_url(base_url)
    if url.get_backend_name() != "postgresql" or url.get_driver_name() != "asyncpg":
        raise ValueError(f"{ENV} must be a postgresql+asyncpg:// URL, got {url!r}")
    if "dsn" in url.query:
        raise ValueError(f"{ENV} must not carry a `dsn` query parameter; the tests set it")
    dsn = f"postgresql:///?search_path={quote(schema)}"
    return url.update_query_dict({"dsn": dsn}).render_as_string(hide_password=False)


async def _admin_execute(base_url: str, statement: str) -> None:
    engine = create_async_engine(
        base_url,
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"timeout": CONNECT_TIMEOUT},
    )
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def fresh_schema(base_url: str | None = None) -> AsyncIterator[PgSchema]:
    """Create schema `t_<uuid>`, yield how to reach it, and drop it (CASCADE) afterwards."""
    base_url = base_url or postgres_url()
    schema = f"t_{uuid.uuid4().hex}"
    try:
        await _admin_execute(base_url, f'CREATE SCHEMA "{schema}"')
        unreachable = None
    except Exception as exc:  # refused, timed out, bad credentials, no such database
        unreachable = f"{type(exc).__name__}: {exc}"
    if unreachable is not None:  # outside `except`: one clear message, no chained traceback
        shown = make_url(base_url).render_as_string(hide_password=True)
        pytest.fail(
            f"{ENV} is set but PostgreSQL at {shown} is unreachable: {unreachable}",
            pytrace=False,
        )
    try:
        yield PgSchema(
            base_url=base_url,
            schema=schema,
            url=schema_url(base_url, schema),
            connect_args={"server_settings": {"search_path": schema}},
        )
    finally:
        await _admin_execute(base_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
async def pg_schema() -> AsyncIterator[PgSchema]:
    """A fresh PostgreSQL schema for this test (skips when the server is not configured)."""
    async with fresh_schema() as schema:
        yield schema


async def table_pages(database: Database, tables: list[str]) -> bytes:
    """The raw bytes of these tables' files (and their TOAST tables), as a DBA or a backup
    of the data directory would read them: after a CHECKPOINT, so that nothing is still only
    in shared buffers. Needs a superuser (or pg_read_server_files and pg_checkpoint)."""
    found = b""
    async with database.engine.connect() as conn:
        await conn.execute(text("CHECKPOINT"))
        for table in tables:
            query = text(
                "SELECT pg_read_binary_file(pg_relation_filepath(c.oid)) FROM pg_class c "
                "WHERE c.oid = CAST(:table AS regclass) OR c.oid = ("
                "  SELECT reltoastrelid FROM pg_class WHERE oid = CAST(:table AS regclass))"
            )
            for (content,) in (await conn.execute(query, {"table": table})).all():
                found += bytes(content)
    return found
