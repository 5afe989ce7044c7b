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
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel, select

from storage.crypto import Cipher
from storage.db import Database
from storage.migrate import alembic_config, upgrade, upgrade_async
from storage.models import Pair, PairPrompt, Participant, Program, ReadinessPulse, UTCDateTime
from storage.repositories import Repositories
from tests.pg import fresh_schema, table_pages

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


# --- 0015: every answer sealed at rest ------------------------------------------------------

PLAIN_MARKERS = (b"psychological_safety", b"power_dynamics", b"senior", b"leaders_listen")
_old_checkin = sa.table(
    "checkin",
    *(sa.column(n, sa.Integer()) for n in ("pair_id", "participant_id", "cycle", "rating")),
    sa.column("met", sa.Boolean()),
    sa.column("themes", sa.JSON()),
    sa.column("energy", sa.Integer()),
    sa.column("lead", sa.String()),
    sa.column("note_enc", sa.Text()),
    sa.column("submitted_at", UTCDateTime()),
)
_old_review = sa.table(
    "review",
    *(sa.column(n, sa.Integer()) for n in ("pair_id", "participant_id")),
    sa.column("stage", sa.String()),
    *(sa.column(n, sa.Integer()) for n in ("confidence_before", "confidence_now")),
    sa.column("again", sa.Boolean()),
    sa.column("submitted_at", UTCDateTime()),
)
_old_tally = sa.table(
    "readinesstally",
    sa.column("pulse_id", sa.Integer()),
    sa.column("question", sa.String()),
    sa.column("answer", sa.String()),
    sa.column("count", sa.Integer()),
)


async def _seed_plaintext_answers(database: Database) -> None:
    """At 0014: a pair, two check-ins, a review and a pulse's tally, in the clear."""
    at = datetime(2027, 1, 4, tzinfo=UTC)
    async with database.session() as session:
        session.add(Program(id=1, slug="p", name="P", focus="technology", created_at=at))
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
                    agreed_at=at,
                    joined_at=at,
                )
            )
        await session.flush()
        session.add(
            Pair(id=1, program_id=1, mentor_id=1, mentee_id=2, explanation="", started_at=at)
        )
        session.add(
            ReadinessPulse(
                id=1, platform="slack", tenant="T", created_by="x", created_at=at, closes_at=at
            )
        )
        await session.commit()
    async with database.engine.begin() as conn:
        await conn.execute(
            sa.insert(_old_checkin),
            [
                {
                    "pair_id": 1,
                    "participant_id": 1,
                    "cycle": 1,
                    "met": True,
                    "rating": 4,
                    "themes": ["psychological_safety", "power_dynamics"],
                    "energy": 5,
                    "lead": "senior",
                    "note_enc": None,
                    "submitted_at": at,
                },
                {
                    "pair_id": 1,
                    "participant_id": 2,
                    "cycle": 1,
                    "met": False,
                    "rating": 2,
                    "themes": [],
                    "energy": None,
                    "lead": None,
                    "note_enc": None,
                    "submitted_at": at,
                },
            ],
        )
        await conn.execute(
            sa.insert(_old_review),
            [
                {
                    "pair_id": 1,
                    "participant_id": 2,
                    "stage": "final",
                    "confidence_before": 2,
                    "confidence_now": 5,
                    "again": True,
                    "submitted_at": at,
                }
            ],
        )
        await conn.execute(
            sa.insert(_old_tally),
            [
                {"pulse_id": 1, "question": "leaders_listen", "answer": "4", "count": 3},
                {"pulse_id": 1, "question": "leaders_listen", "answer": "2", "count": 2},
                {"pulse_id": 1, "question": "sponsor", "answer": "yes", "count": 5},
            ],
        )


async def _raw_bytes(target: Target) -> bytes:
    if target.name == "sqlite":
        path = Path(target.url.removeprefix("sqlite+aiosqlite:///"))
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    database = target.database()
    try:
        return await table_pages(database, ["checkin", "review", "readinesstally"])
    finally:
        await database.dispose()


async def test_0015_seals_stored_answers_in_place_and_leaves_no_plaintext(target: Target) -> None:
    cipher = Cipher([Fernet.generate_key().decode()])
    await upgrade_async(target.url, "0014")
    database = target.database()
    try:
        await _seed_plaintext_answers(database)
    finally:
        await database.dispose()
    before = await _raw_bytes(target)
    assert all(marker in before for marker in PLAIN_MARKERS)  # the check can see them

    with pytest.raises(RuntimeError, match="needs the encryption key"):
        await upgrade_async(target.url)  # no key: refused, nothing changed
    assert (await inspect_with(target.database(), snapshot))["revision"] == "0014"
    await upgrade_async(target.url, cipher=cipher)

    state = await inspect_with(target.database(), snapshot)
    assert state["revision"] == HEAD
    assert [c[0] for c in state["tables"]["checkin"]["columns"]] == [
        "id",
        "pair_id",
        "participant_id",
        "cycle",
        "note_enc",
        "submitted_at",
        "answers_enc",
    ]
    database = target.database()
    try:
        async with database.session() as session:
            repos = Repositories(session, cipher)
            checkins = await repos.checkins.for_pairs([1])
            [review] = await repos.reviews.for_pairs([1])
            tallies = await repos.readiness.tallies(1)
    finally:
        await database.dispose()
    assert [(c.met, c.rating, c.themes, c.energy, c.lead) for c in checkins] == [
        (True, 4, ["power_dynamics", "psychological_safety"], 5, "senior"),
        (False, 2, [], None, None),
    ]
    assert (review.confidence_before, review.confidence_now, review.again) == (2, 5, True)
    assert tallies == {"leaders_listen": {"4": 3, "2": 2}, "sponsor": {"yes": 5}}
    after = await _raw_bytes(target)
    assert not [marker for marker in (*PLAIN_MARKERS, b"confidence_before") if marker in after]


def test_0015_refuses_to_be_reversed(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'down.db'}"
    upgrade(url)
    with pytest.raises(RuntimeError, match="in the clear"):
        command.downgrade(alembic_config(url), "0014")


async def test_the_ledger_records_what_earlier_digests_counted(target: Target) -> None:
    """Migration 0016: a monthly digest published before it covers the answers given in
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

    await upgrade_async(target.url, "0016", cipher=Cipher([Fernet.generate_key().decode()]))

    database = target.database()
    try:
        async with database.engine.connect() as conn:
            rows = await conn.exec_driver_sql("SELECT id, covered FROM digest ORDER BY id")
            covered = {row[0]: row[1] for row in rows}
    finally:
        await database.dispose()
    as_dict = {k: json.loads(v) if isinstance(v, str) else v for k, v in covered.items()}
    assert as_dict == {1: {"checkins": [1], "reviews": []}, 2: {}}
