"""Migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import pprint
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel, select

from storage.db import Database
from storage.migrate import alembic_config, upgrade, upgrade_async
from storage.models import Pair, PairPrompt, Participant, Program
from tests.pg import fresh_schema

HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
TABLES = set(SQLModel.metadata.tables) | {"alembic_version"}


@dataclass
class Target:
    name: str
    url: str  # what `storage.migrate.upgrade` gets
    database: Callable[[], Database]  # the same database (and schema), for looking at it


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def target(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Target]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
        yield Target("sqlite", url, lambda: Database(url))
    else:
        async with fresh_schema() as pg:
            # alembic gets the schema through the URL, the inspection through connect_args:
            # both must land in the same schema for these tests to pass.
            yield Target("postgres", pg.url, pg.database)


async def inspect_with(database: Database, look: Callable[[Connection], Any]) -> Any:
    try:
        async with database.engine.connect() as conn:
            return await conn.run_sync(look)
    finally:
        await database.dispose()


def revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def snapshot(conn: Connection) -> dict[str, Any]:
    inspector = inspect(conn)
    return {
        "revision": revision(conn),
        "tables": {
            table: {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
                ],
                "indexes": sorted(
                    (i["name"] or "", tuple(i["column_names"]), bool(i["unique"]))
                    for i in inspector.get_indexes(table)
                ),
                "unique": sorted(
                    tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)
                ),
                "foreign_keys": sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"])
                    for f in inspector.get_foreign_keys(table)
                ),
            }
            for table in sorted(inspector.get_table_names())
        },
    }


def model_diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return compare_metadata(context, SQLModel.metadata)


async def test_upgrade_creates_every_table_at_head(target: Target) -> None:
    await upgrade_async(target.url)

    state = await inspect_with(target.database(), snapshot)
    assert state["revision"] == HEAD
    assert set(state["tables"]) == TABLES


async def test_upgrading_twice_is_a_no_op_and_keeps_data(target: Target) -> None:
    await upgrade_async(target.url)
    database = target.database()
    try:
        async with database.session() as session:
            session.add(
                Program(slug="kept", name="Kept", focus="technology", created_at=datetime.now(UTC))
            )
            await session.commit()
    finally:
        await database.dispose()
    before = await inspect_with(target.database(), snapshot)

    await upgrade_async(target.url)

    assert await inspect_with(target.database(), snapshot) == before
    database = target.database()
    try:
        async with database.session() as session:
            slugs = (await session.exec(select(Program.slug))).all()
    finally:
        await database.dispose()
    assert list(slugs) == ["kept"]


async def test_migrated_schema_matches_the_models(target: Target) -> None:
    await upgrade_async(target.url)

    diff = await inspect_with(target.database(), model_diff)
    assert diff == [], (
        f"{target.name}: migrations and storage/models.py disagree "
        f"(add a migration, or fix the model):\n{pprint.pformat(diff)}"
    )


def test_upgrade_runs_from_synchronous_code(tmp_path: Path) -> None:
    """`upward db upgrade` calls `upgrade` with no event loop running; alembic starts its own."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'sync.db'}"
    upgrade(url)
    upgrade(url)

    state = asyncio.run(inspect_with(Database(url), snapshot))
    assert state["revision"] == HEAD
    assert set(state["tables"]) == TABLES


async def test_pairprompt_loses_its_foreign_keys_and_keeps_its_rows(target: Target) -> None:
    """Migration 0012 (SQLite rebuilds the table, PostgreSQL drops the constraints)."""
    await upgrade_async(target.url, "0011")
    database = target.database()
    try:
        async with database.session() as session:  # today's models: the same columns
            joined = datetime(2027, 1, 4, tzinfo=UTC)
            session.add(Program(id=1, slug="p", name="P", focus="technology", created_at=joined))
            await session.flush()
            for number in (1, 2):
                session.add(
                    Participant(
                        id=number,
                        program_id=1,
                        platform="slack",
                        tenant="T",
                        user_id=f"U{number}",
                        role="mentor" if number == 1 else "mentee",
                        agreed_at=joined,
                        joined_at=joined,
                    )
                )
            await session.flush()
            session.add(
                Pair(
                    id=1, program_id=1, mentor_id=1, mentee_id=2, explanation="", started_at=joined
                )
            )
            await session.flush()
            session.add(PairPrompt(pair_id=1, cycle=1, prompt_id="first", lead_id=1))
            session.add(PairPrompt(pair_id=1, cycle=2, prompt_id="second", lead_id=2))
            await session.commit()
    finally:
        await database.dispose()

    await upgrade_async(target.url)

    state = await inspect_with(target.database(), snapshot)
    assert state["tables"]["pairprompt"]["foreign_keys"] == []
    assert sorted(state["tables"]["pairprompt"]["unique"]) == [
        ("pair_id", "cycle"),
        ("pair_id", "prompt_id"),
    ]
    database = target.database()
    try:
        async with database.engine.connect() as conn:
            rows = await conn.exec_driver_sql(
                "SELECT pair_id, cycle, prompt_id, lead_id FROM pairprompt ORDER BY cycle"
            )
            assert [tuple(row) for row in rows] == [(1, 1, "first", 1), (1, 2, "second", 2)]
    finally:
        await database.dispose()


async def test_the_ledger_records_what_earlier_digests_counted(target: Target) -> None:
    """Migration 0015: a monthly digest published before it covers the answers given in
    its month, so a later period can't count them again; other periods cover nothing."""
    await upgrade_async(target.url, "0014")
    database = target.database()
    statements = [
        "INSERT INTO program (id, slug, name, focus, topics, cadence, duration_months, pilot,"
        " mentor_capacity, anonymity_threshold, support, preparation, active, created_at)"
        " VALUES (1, 'p', 'P', 'technology', '{}', 'monthly', 6, false, 1, 5, '', true, true,"
        " '2027-01-01 00:00:00+00:00')",
        "INSERT INTO participant (id, program_id, platform, tenant, user_id, display_name,"
        " role, offers, wants, off_limits, timezone, status, priority, agreed_at, joined_at)"
        " VALUES (1, 1, 'slack', 'T', 'U1', '', 'mentor', '[]', '[]', '[]', 'UTC', 'active',"
        " false, '2027-01-01 00:00:00+00:00', '2027-01-01 00:00:00+00:00'),"
        " (2, 1, 'slack', 'T', 'U2', '', 'mentee', '[]', '[]', '[]', 'UTC', 'active',"
        " false, '2027-01-01 00:00:00+00:00', '2027-01-01 00:00:00+00:00')",
        "INSERT INTO pair (id, program_id, mentor_id, mentee_id, two_way, explanation,"
        " shared_topics, status, started_at) VALUES (1, 1, 1, 2, false, '', '[]', 'active',"
        " '2027-01-04 00:00:00+00:00')",
        "INSERT INTO checkin (id, pair_id, participant_id, cycle, met, rating, themes,"
        " submitted_at) VALUES (1, 1, 1, 1, true, 4, '[]', '2027-01-20 10:00:00+00:00'),"
        " (2, 1, 2, 1, true, 4, '[]', '2027-02-03 10:00:00+00:00')",
        "INSERT INTO digest (id, program_id, period, figures, created_at)"
        " VALUES (1, 1, '2027-01', '[]', '2027-02-01 10:00:00+00:00')",
        "INSERT INTO digest (id, program_id, period, figures, created_at)"
        " VALUES (2, 1, 'pilot-report', '[]', '2027-02-01 11:00:00+00:00')",
    ]
    try:
        async with database.engine.begin() as conn:
            for statement in statements:
                await conn.exec_driver_sql(statement)
    finally:
        await database.dispose()

    await upgrade_async(target.url, "0015")

    database = target.database()
    try:
        async with database.engine.connect() as conn:
            rows = await conn.exec_driver_sql("SELECT id, covered FROM digest ORDER BY id")
            covered = {row[0]: row[1] for row in rows}
    finally:
        await database.dispose()
    as_dict = {k: json.loads(v) if isinstance(v, str) else v for k, v in covered.items()}
    assert as_dict == {1: {"checkins": [1], "reviews": []}, 2: {}}
