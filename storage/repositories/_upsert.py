"""Bulk writes and lookups, INSERT … ON CONFLICT DO NOTHING, for SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, String, Table, any_, func, literal, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.jsontext import JsonText, loads


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind else "sqlite"


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert


def one_of(session: AsyncSession, column: Any, values: list[Any]) -> Any:
    """`column IN (…values)` with the whole list as one parameter, however many values
    (thousands of placeholders cost more to render and parse than to run, and SQLite allows
    at most 32,766): on PostgreSQL `column = ANY(:array)`, on SQLite
    `column IN (SELECT value FROM json_each(:json_array))`."""
    if _dialect(session) == "postgresql":
        return column == any_(literal(values, postgresql.ARRAY(column.type)))
    listed = func.json_each(literal(json.dumps(values), String)).table_valued("value")
    return column.in_(select(listed.c.value))


async def insert_ignore(session: AsyncSession, model: Any, values: dict[str, Any]) -> bool:
    """Insert a row unless a unique constraint already holds it; True if this call inserted."""
    values = {name: loads(value) for name, value in values.items()}  # SQLAlchemy encodes JSON
    statement = _insert(session)(model).values(**values).on_conflict_do_nothing()
    result = await session.exec(statement)  # type: ignore[call-overload]
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def insert_many(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows in bulk (all with the same keys)."""
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await _unnest_insert(connection, model.__table__, rows, suffix="")
    else:
        await _executemany(connection, sqlite.insert(model.__table__), rows)


async def insert_many_ignore(
    session: AsyncSession, model: Any, rows: list[dict[str, Any]], returning: Any
) -> list[Any]:
    """Insert rows in bulk (all with the same keys), skipping any a unique constraint
    already holds or that a concurrent transaction inserts first; `returning` of the rows
    this call inserted."""
    if not rows:
        return []
    connection = await session.connection()
    table = model.__table__
    if connection.dialect.name == "postgresql":
        if await _all_new(connection, table, rows):
            return [row[returning.key] for row in rows]
        # A row another transaction holds waits for it, then is skipped and not returned.
        suffix = f" ON CONFLICT DO NOTHING RETURNING {_quoted(connection, returning.name)}"
        return await _unnest_insert(connection, table, rows, suffix=suffix)
    # SQLite has one writer at a time and this transaction is it (the codebase begins
    # IMMEDIATE), so the rows past the highest id before the insert are this call's. The
    # driver's executemany is several times faster than batches with RETURNING.
    before = (await connection.execute(select(func.max(table.c.id)))).scalar() or 0
    result = await _executemany(connection, sqlite.insert(table).on_conflict_do_nothing(), rows)
    if result.rowcount == len(rows):
        return [row[returning.key] for row in rows]
    inserted = select(returning).where(table.c.id > before)
    return list((await connection.execute(inserted)).scalars().all())


UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE


async def _all_new(connection: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> bool:
    """PostgreSQL: insert the rows with a plain INSERT inside a savepoint; False, with
    nothing inserted, if a unique key was taken. Usually none is (keys already queued were
    left out beforehand), and a plain insert costs less than ON CONFLICT's speculative one
    with RETURNING; the caller then inserts with ON CONFLICT DO NOTHING instead. A row a
    concurrent transaction holds waits for it either way: taken if it commits, ours if it
    rolls back."""
    try:
        async with connection.begin_nested():
            await _unnest_insert(connection, table, rows, suffix="")
    except IntegrityError as error:
        if getattr(error.orig, "sqlstate", None) != UNIQUE_VIOLATION:
            raise
        return False
    return True


async def _unnest_insert(
    connection: AsyncConnection, table: Table, rows: list[dict[str, Any]], *, suffix: str
) -> list[Any]:
    """PostgreSQL: one INSERT … SELECT FROM unnest(arrays), a parameter per column rather
    than per value. JSON goes as text (as SQLAlchemy would serialise it) cast to json."""
    names, arrays, params = list(rows[0]), [], {}
    for index, name in enumerate(names):
        column = table.c[name]
        values = [row[name] for row in rows]
        if isinstance(column.type, JSON):
            values = [value if type(value) is JsonText else json.dumps(value) for value in values]
        params[f"p{index}"] = values
        arrays.append(f"CAST(:p{index} AS {column.type.compile(dialect=connection.dialect)}[])")
    columns = ", ".join(_quoted(connection, name) for name in names)
    statement = (
        f"INSERT INTO {connection.dialect.identifier_preparer.format_table(table)} ({columns}) "  # noqa: S608
        f"SELECT * FROM unnest({', '.join(arrays)}){suffix}"
    )
    result = await connection.execute(text(statement), params)
    return list(result.scalars().all()) if suffix else []


async def _executemany(
    connection: AsyncConnection, statement: Any, rows: list[dict[str, Any]]
) -> CursorResult[Any]:
    """SQLite: the driver's executemany over rows already converted by each column's own
    bind processor, a column at a time; SQLAlchemy's per-row parameter handling costs more
    than the insert."""
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect, column_keys=list(rows[0]))
    names = list(compiled.positiontup or ())
    if sorted(names) != sorted(rows[0]):  # e.g. a column default filled in: the slow way
        plain = [{name: loads(value) for name, value in row.items()} for row in rows]
        return await connection.execute(statement, plain)
    columns = statement.table.c
    bound = [_bound([row[name] for row in rows], columns[name].type, dialect) for name in names]
    return await connection.exec_driver_sql(str(compiled), list(zip(*bound, strict=True)))


def _bound(values: list[Any], kind: Any, dialect: Any) -> list[Any]:
    """One column's values as the driver takes them. JSON already serialised (`JsonText`)
    goes as it is; other values are converted once per distinct value (a tick's rows share
    a handful of timestamps, and formatting one for SQLite isn't free)."""
    process = kind.bind_processor(dialect)
    if process is None:
        return values
    if isinstance(kind, JSON):
        return [value if type(value) is JsonText else process(value) for value in values]
    converted = {value: process(value) for value in set(values)}
    return [converted[value] for value in values]


def _quoted(connection: AsyncConnection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)
