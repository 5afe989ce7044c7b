"""Bulk outbox writes and id-list reads, on SQLite and PostgreSQL: rows already queued are
skipped (and the rest still queued), whatever a transaction wrote before stays, and an id
list longer than SQLite's 32,766 bound parameters is one query."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func
from sqlmodel import select

from storage.crypto import Cipher
from storage.db import Database
from storage.jsontext import dumps
from storage.models import OutboxItem
from storage.repositories import Repositories
from storage.repositories.outbox import Outbox
from tests.pg import fresh_schema

NOW = datetime(2027, 3, 17, 10, 0, tzinfo=UTC)


def row(key: str) -> dict[str, object]:
    return {
        "key": key,
        "platform": "slack",
        "address": dumps({"kind": "pair", "pair_id": 1}),  # JSON text, as a tick builds it
        "message": {"summary": key},  # or a plain value
        "not_before": NOW,
        "created_at": NOW,
        "recipient": "pair:1",
        "pair_id": 1,
    }


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'bulk.db'}")
        await database.create_all()
        yield database
        await database.dispose()
        return
    async with fresh_schema() as pg:
        database = pg.database()
        await database.create_all()
        yield database
        await database.dispose()


async def test_a_bulk_insert_skips_queued_keys_and_keeps_the_transaction(db: Database) -> None:
    async with db.session() as session:
        assert await Outbox(session).add_many([row("a"), row("b")]) == {"a", "b"}
        await session.commit()
    async with db.session() as session:
        outbox = Outbox(session)
        assert await outbox.add_many([row("c")]) == {"c"}  # earlier in this transaction
        # "b" is taken: on PostgreSQL the plain insert fails in its savepoint, and the rows
        # go again with ON CONFLICT DO NOTHING.
        assert await outbox.add_many([row("d"), row("b"), row("e")]) == {"d", "e"}
        await session.commit()
    async with db.session() as session:
        items = (await session.exec(select(OutboxItem).order_by(OutboxItem.key))).all()
    assert [item.key for item in items] == ["a", "b", "c", "d", "e"]
    assert items[0].address == {"kind": "pair", "pair_id": 1}  # stored once, not re-encoded
    assert items[0].message == {"summary": "a"}


async def test_a_single_add_takes_json_text_too(db: Database) -> None:
    async with db.session() as session:
        assert await Outbox(session).add(**row("one"))  # type: ignore[arg-type]
        assert not await Outbox(session).add(**row("one"))  # type: ignore[arg-type]
        await session.commit()
        item = (await session.exec(select(OutboxItem))).one()
    assert item.address == {"kind": "pair", "pair_id": 1}


async def test_an_id_list_past_sqlites_parameter_limit_is_one_query(db: Database) -> None:
    wanted = [f"prompt:{n}:1" for n in range(40_000)]
    async with db.session() as session:
        outbox = Outbox(session)
        await outbox.add_many([row(wanted[7]), row(wanted[-1]), row("elsewhere")])
        assert await outbox.existing_keys(wanted) == {wanted[7], wanted[-1]}
        assert await outbox.existing_keys([]) == set()
        count = (await session.exec(select(func.count()).select_from(OutboxItem))).one()
    assert count == 3


async def test_writes_go_in_the_background_on_a_database_server_only(db: Database) -> None:
    async with db.session() as session:
        repos = Repositories(session, Cipher([Fernet.generate_key().decode()]))
        assert repos.writes_in_background == (not db.is_sqlite)
