"""How long one dispatcher claim takes with a large outbox.

N items (default 200,000) are queued, all due, then a dispatcher-sized claim (4 items, then
the pace-sized 40) is timed --repeat times; each claim takes the next oldest items. Printed:
median and worst claim time, and the plan the database chose for the claim's row choice.

    .venv/bin/python bench/claim.py [--size 200000] [--postgres URL]

(`--postgres` defaults to $UPWARD_TEST_POSTGRES_URL; without either, a SQLite file.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from storage.db import Database
from storage.migrate import upgrade_async
from storage.repositories.outbox import Outbox

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `tests` is not an installed package
    sys.path.insert(0, str(ROOT))

from tests.pg import fresh_schema  # noqa: E402

BATCH = 5_000
NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


async def seed(db: Database, size: int) -> None:
    for start in range(0, size, BATCH):
        rows = [
            {
                "key": f"bench:{n}",
                "platform": "slack",
                "address": {"kind": "person", "person": {"user_id": f"U{n}"}},
                "message": {"summary": "A prompt", "blocks": []},
                "not_before": NOW - timedelta(seconds=size - n),
                "created_at": NOW,
                "recipient": f"slack:T1:U{n}",
            }
            for n in range(start, min(start + BATCH, size))
        ]
        async with db.session() as session:
            await Outbox(session).add_many(rows)
            await session.commit()


async def time_claims(db: Database, limit: int, repeat: int) -> list[float]:
    timings = []
    for _ in range(repeat):
        async with db.session() as session:
            started = time.perf_counter()
            claimed = await Outbox(session).claim(NOW, LEASE, limit, ("slack",))
            await session.commit()
            timings.append(time.perf_counter() - started)
        assert len(claimed) == limit
    return timings


async def plan(db: Database, postgres: bool) -> str:
    query = (
        "SELECT id FROM outboxitem WHERE status IN ('pending', 'ambiguous') AND not_before <= :now "
        "AND platform IN ('slack') AND (status = 'pending' OR (status = 'ambiguous' "
        "AND (claimed_until IS NULL OR claimed_until < :now))) ORDER BY not_before, id LIMIT 4"
    )
    explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
    async with db.session() as session:
        rows = (await session.exec(text(explain + query).bindparams(now=NOW))).all()  # type: ignore[call-overload]
    return "\n".join("    " + " ".join(str(c) for c in row) for row in rows)


async def measure(size: int, repeat: int, postgres: str | None) -> None:
    async with contextlib.AsyncExitStack() as stack:
        if postgres:
            url = (await stack.enter_async_context(fresh_schema(postgres))).url
        else:
            folder = stack.enter_context(tempfile.TemporaryDirectory())
            url = f"sqlite+aiosqlite:///{folder}/claim.db"
        await upgrade_async(url)
        db = Database(url)
        stack.push_async_callback(db.dispose)
        started = time.perf_counter()
        await seed(db, size)
        print(
            f"{'PostgreSQL' if postgres else 'SQLite'}: queued {size:,} in "
            f"{time.perf_counter() - started:.1f} s"
        )
        if postgres:
            async with db.session() as session:
                await session.exec(text("ANALYZE outboxitem"))  # type: ignore[call-overload]
                await session.commit()
        print(await plan(db, bool(postgres)))
        for limit in (4, 40):
            timings = await time_claims(db, limit, repeat)
            print(
                f"  claim {limit:3d}: median {statistics.median(timings) * 1000:7.2f} ms, "
                f"worst {max(timings) * 1000:7.2f} ms ({repeat} claims)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", default=os.environ.get("UPWARD_TEST_POSTGRES_URL"))
    parser.add_argument("--sqlite", action="store_true", help="SQLite even if PG is configured")
    args = parser.parse_args()
    asyncio.run(measure(args.size, args.repeat, None if args.sqlite else args.postgres))


if __name__ == "__main__":
    main()
