"""One scheduler tick over many active pairs: wall time and peak memory (target: under 5 s
for 100,000 pairs).

One program with P active pairs (default 5,000, so that a run stays within a few minutes on
2 cores; `--size 100000` for the target's size; 2P participants) is written in bulk
(SQLAlchemy core inserts in batches) into a migrated SQLite file in a temporary directory
and, with `--postgres URL`, into a fresh PostgreSQL schema. The pairs started 7 to 13 days
before `now` (Wednesday 2027-03-17 10:00 UTC), so each pair's first conversation prompt is
due and nothing else is (check-ins come a week after the prompt; no digest month has
closed yet). Partners share one of five time zones.

`engine.tick(now)` (every due job, then one dispatcher pass; no platform adapter is
configured, so nothing is sent) runs in a fresh child process, so its peak RSS
(`resource.getrusage` maxrss) is the tick's and not the bulk load's. The tick then runs a
second time at the same moment and must queue nothing: each prompt is enqueued once.
Also printed: the tick's CPU time (the bot's process, all threads: wall time on a shared
machine overstates it), SQL statements per pair and, below 100,000 pairs, the time projected
for 100,000 (per-pair time x 100,000: the tick's work is one pass per pair).

    .venv/bin/python bench/tick.py [--size 100000] [--postgres postgresql+asyncpg://...]
    .venv/bin/python bench/tick.py --size 5000 --profile   # cProfile of the first tick: top 15
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import logging
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import event, func, text
from sqlmodel import select

from bot.app import build_app
from bot.settings import load_settings
from storage.db import Database
from storage.migrate import upgrade_async
from storage.models import OutboxItem, Pair, Participant, Program

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `tests` is not an installed package
    sys.path.insert(0, str(ROOT))

from tests.pg import fresh_schema  # noqa: E402

NOW = datetime(2027, 3, 17, 10, 0, tzinfo=UTC)  # a Wednesday
TARGET = 5.0  # seconds
TARGET_SIZE = 100_000
BATCH = 5_000
ZONES = ("Europe/London", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC")
TOPICS = ("ai_tools", "hybrid_work", "career_growth", "data_literacy", "feedback_culture")


# ---- the bulk load (parent process)


def program_row() -> dict[str, Any]:
    program = Program(
        id=1,
        slug="bench",
        name="Bench program",
        focus="technology",
        topics={topic: topic.replace("_", " ").capitalize() for topic in TOPICS},
        cadence="monthly",
        duration_months=6,
        pilot=False,
        active=True,
        created_at=NOW - timedelta(days=60),
    )
    return program.model_dump()


def participant_rows(pairs: range) -> list[dict[str, Any]]:
    """Participant 2i-1 mentors participant 2i in pair i; partners share a time zone."""
    joined = NOW - timedelta(days=30)
    template = Participant(
        program_id=1,
        platform="slack",
        tenant="T0001",
        role="mentor",
        status="active",
        agreed_at=joined,
        joined_at=joined,
    ).model_dump()
    rows = []
    for pair in pairs:
        zone = ZONES[pair % len(ZONES)]
        for offset, role in ((1, "mentor"), (0, "mentee")):
            number = 2 * pair - offset
            rows.append(
                {
                    **template,
                    "id": number,
                    "user_id": f"U{number:08d}",
                    "display_name": f"Person {number}",
                    "role": role,
                    "offers": [TOPICS[number % len(TOPICS)]],
                    "wants": [TOPICS[(number + 1) % len(TOPICS)]],
                    "off_limits": [],
                    "timezone": zone,
                }
            )
    return rows


def pair_rows(pairs: range) -> list[dict[str, Any]]:
    latest = NOW - timedelta(days=7, hours=1)  # cycle 1 began an hour ago for the newest pairs
    template = Pair(program_id=1, mentor_id=1, mentee_id=2, explanation="bench").model_dump()
    return [
        {
            **template,
            "id": pair,
            "mentor_id": 2 * pair - 1,
            "mentee_id": 2 * pair,
            "two_way": pair % 10 == 0,
            "shared_topics": [TOPICS[pair % len(TOPICS)], TOPICS[(pair + 2) % len(TOPICS)]],
            "status": "active",
            "started_at": latest - timedelta(hours=pair % 144),  # spread over six days
            "ended_at": None,
            "end_kind": None,
        }
        for pair in pairs
    ]


async def load(url: str, size: int) -> float:
    """Migrate, then insert the program, participants and pairs; returns the seconds taken."""
    await upgrade_async(url)
    started = time.perf_counter()
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(Program.__table__.insert(), [program_row()])  # type: ignore[attr-defined]
        for table, rows_for in (
            (Participant.__table__, participant_rows),  # type: ignore[attr-defined]
            (Pair.__table__, pair_rows),  # type: ignore[attr-defined]
        ):
            for first in range(1, size + 1, BATCH // 2):
                chunk = range(first, min(first + BATCH // 2, size + 1))
                async with db.engine.begin() as conn:
                    await conn.execute(table.insert(), rows_for(chunk))
        if not db.is_sqlite:  # rows came with ids: move the sequences past them
            async with db.engine.begin() as conn:
                for table in ("program", "participant", "pair"):
                    await conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                            f"(SELECT max(id) FROM {table}))"
                        )
                    )
                await conn.execute(text("ANALYZE"))
    finally:
        await db.dispose()
    return time.perf_counter() - started


# ---- the tick (child process)


async def tick_twice(url: str, key: str, profile: bool) -> dict[str, Any]:
    settings = load_settings(
        database_url=url,
        encryption_keys=[key],
        slack_bot_token=None,  # no adapter: nothing is sent, whatever the environment says
        microsoft_app_id=None,
        teams_local_dev=False,
    )
    app = build_app(settings)
    try:
        async with app.db.session() as session:  # connect before measuring
            await session.exec(select(func.count()).select_from(OutboxItem))
        statements = [0]

        def count(*_: object) -> None:
            statements[0] += 1

        event.listen(app.db.engine.sync_engine, "before_cursor_execute", count)
        rss_before = current_rss_kb()
        profiler = cProfile.Profile() if profile else None
        started, cpu_started = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        first = await app.engine.tick(NOW)
        if profiler:
            profiler.disable()
        first_seconds = time.perf_counter() - started
        first_cpu = time.process_time() - cpu_started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        first_statements = statements[0]
        started = time.perf_counter()
        second = await app.engine.tick(NOW)
        second_seconds = time.perf_counter() - started
        async with app.db.session() as session:
            items = (await session.exec(select(func.count()).select_from(OutboxItem))).one()
    finally:
        await app.close()
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(15)
        stats.sort_stats("cumulative").print_stats(r"/(flows|storage|bot)/", 15)
        print(out.getvalue(), file=sys.stderr)
    return {
        "first": {
            "seconds": first_seconds,
            "cpu": first_cpu,
            "queued": first.queued,
            "statements": first_statements,
        },
        "second": {
            "seconds": second_seconds,
            "queued": second.queued,
            "statements": statements[0] - first_statements,
        },
        "waiting": sorted(first.dispatched.waiting),
        "sent": first.dispatched.sent + second.dispatched.sent,
        "outbox": int(items),
        "rss_before_kb": rss_before,
        "rss_peak_kb": rss_after,
        "profiled": profile,
    }


def current_rss_kb() -> int:
    """Resident memory now (Linux); elsewhere the peak so far."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(url: str, key: str, profile: bool) -> None:
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asyncio.run(tick_twice(url, key, profile))))


# ---- the report (parent process)


def run_tick(url: str, profile: bool) -> dict[str, Any]:
    key = Fernet.generate_key().decode()
    command = [sys.executable, __file__, "--child", url, "--key", key]
    if profile:
        command.append("--profile")
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)  # noqa: S603
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(label: str, size: int, loaded: float, figures: dict[str, Any]) -> None:
    first, second = figures["first"], figures["second"]
    queued, again = sum(first["queued"].values()), sum(second["queued"].values())
    jobs = ", ".join(f"{name} {count}" for name, count in first["queued"].items())
    peak, before = figures["rss_peak_kb"] / 1024, figures["rss_before_kb"] / 1024
    print(f"\n{label}: {size:,} active pairs ({2 * size:,} participants)")
    print(f"  bulk load            {loaded:8.1f} s")
    print(f"  tick at {NOW:%Y-%m-%d %H:%M} UTC")
    seconds, statements = first["seconds"], first["statements"]
    print(f"    wall time          {seconds:8.2f} s", end="")
    print("  (under cProfile: slower than a plain run)" if figures["profiled"] else "")
    print(f"    CPU time           {first['cpu']:8.2f} s  (the bot's process, all threads)")
    print(f"    per pair           {seconds / size * 1e6:8.0f} µs")
    if not figures["profiled"]:
        at_target = seconds if size >= TARGET_SIZE else seconds / size * TARGET_SIZE
        verdict = "met" if at_target < TARGET else "MISSED"
        how = "measured" if size >= TARGET_SIZE else f"projected ~{at_target:.0f} s"
        print(
            f"    target             {TARGET:g} s at {TARGET_SIZE:,} pairs: {verdict} "
            f"({how}, ratio {at_target / TARGET:.1f})"
        )
    print(f"    SQL statements     {statements:8,d} ({statements / size:.1f} per pair)")
    print(f"    peak RSS           {peak:8.0f} MB ({peak - before:+.0f} MB over the idle app)")
    print(f"    queued             {queued:8,d} ({jobs})")
    print(
        f"  same tick again      {second['seconds']:8.2f} s, {second['statements']:,} statements,"
        f" queued {again}",
        end="",
    )
    print("  (enqueued once)" if again == 0 else "  (QUEUED TWICE)")
    print(f"  outbox rows          {figures['outbox']:8,d}; sent {figures['sent']} (no adapter)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=5_000, help="active pairs")
    parser.add_argument("--postgres", help="also on a fresh schema here (postgresql+asyncpg://)")
    parser.add_argument("--profile", action="store_true", help="cProfile the first tick")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.key, args.profile)
        return

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/tick.db"
        loaded = asyncio.run(load(url, args.size))
        report("SQLite", args.size, loaded, run_tick(url, args.profile))

    if args.postgres:

        async def on_postgres() -> None:
            async with fresh_schema(args.postgres) as pg:
                loaded = await load(pg.url, args.size)
                figures = await asyncio.to_thread(run_tick, pg.url, args.profile)
                report("PostgreSQL", args.size, loaded, figures)

        asyncio.run(on_postgres())


if __name__ == "__main__":
    main()
