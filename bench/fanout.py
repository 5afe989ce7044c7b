"""Fan-out under a workspace-wide Slack rate limit: how close does the outbox get to it?

N prompts (default 10,000), each to a different person's DM, are queued with `ctx.send` and
sent by the real `Dispatcher` + `SlackDelivery` to the loopback `FakeSlack`, which lets at
most R `chat.postMessage` calls per sliding second through (default 200) and answers the
rest HTTP 429 `ratelimited` with `Retry-After`, as Slack does. Per-channel pacing is set to
0 (every message goes to a different DM); the bot's own workspace-wide pacing,
UPWARD_SLACK_WORKSPACE_RATE, is set to R in every dispatcher (`--client-rate` to change it,
0 = none, so that only Slack's 429s slow the bot down). Dispatchers sending at once share
that rate (each notes itself in the database while it sends and counts the others, see
`bot.outbox`), so until they have seen each other (about two seconds) several replicas
together may go over it and meet some 429s.

Printed: wall time from the first dispatch until the outbox is empty, the achieved rate as
a fraction of R (target: at least 0.9), the same from the first to the last message (no
process start-up), how many 429s Slack answered, duplicates (DMs with more than one
message), losses (items never delivered), and the messages delivered per 5-second slice.

- one dispatcher in this process, on a migrated SQLite file in a temporary directory:
      .venv/bin/python bench/fanout.py [--size 10000] [--rate 200] [--client-rate 0]
- several `upward dispatch --follow --ready-file F` processes on a fresh PostgreSQL schema;
  the clock starts once every one has written its ready file (start-up is printed apart)
  and stops when the outbox is empty:
      .venv/bin/python bench/fanout.py --replicas 3 --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test
  (`--postgres` defaults to $UPWARD_TEST_POSTGRES_URL; with `--replicas 1` and `--postgres`
  the in-process dispatcher runs on PostgreSQL.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import func
from sqlmodel import col, select

from bot.app import App, build_app
from bot.events import Actor
from bot.messages import Message, Text, ToPerson
from bot.settings import Settings, load_settings
from storage.migrate import upgrade_async
from storage.models import OutboxItem

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `tests` is not an installed package
    sys.path.insert(0, str(ROOT))

from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.pg import fresh_schema  # noqa: E402

UPWARD = str(Path(sys.executable).with_name("upward"))
TOKEN = "xoxb-bench"  # noqa: S105 - the fake's token
SECRET = "s" * 32
TARGET = 0.9
SLICE = 5.0  # seconds per timeline slice
SEED_BATCH = 2_000
PACED = "slack_workspace_rate" in Settings.model_fields  # the bot paces itself workspace-wide


@dataclass
class Run:
    label: str
    size: int
    rate: int
    client_rate: str = ""
    wall: float = 0.0
    finished: bool = True
    restarts: int = 0
    start_up: float = 0.0  # until every replica was ready (not in `wall`)
    cpu_here: float = 0.0  # this process while sending (Slack fake, in-process dispatcher)
    cpu_replicas: float = 0.0  # the dispatcher processes, start-up included
    rate_limited: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    per_dm: Counter[str] = field(default_factory=Counter)
    timeline: list[tuple[float, int]] = field(default_factory=list)  # (seconds, delivered)
    lost: int = 0


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def children_cpu() -> float:
    """CPU of the child processes waited for so far (the dispatcher replicas)."""
    return cpu_seconds(resource.RUSAGE_CHILDREN)


def people(size: int) -> list[str]:
    return [f"U{n:07d}" for n in range(1, size + 1)]


def settings_for(url: str, slack: FakeSlack, key: str, client_rate: float | None) -> Settings:
    overrides: dict[str, object] = {}
    if client_rate is not None:
        overrides["slack_workspace_rate"] = client_rate
    return load_settings(
        database_url=url,
        encryption_keys=[key],
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack.base_url,
        slack_pacing_seconds=0,
        **overrides,
    )


async def seed(app: App, users: list[str]) -> None:
    for start in range(0, len(users), SEED_BATCH):
        batch = users[start : start + SEED_BATCH]

        async def queue(ctx, batch=batch):  # type: ignore[no-untyped-def]
            for user in batch:
                actor = Actor(platform="slack", tenant="T0001", user_id=user)
                message = Message(
                    summary=f"Conversation starter for {user}",
                    blocks=(Text(text=f"A prompt for {user}: what surprised you this month?"),),
                )
                await ctx.send(f"bench:prompt:{user}", ToPerson(person=actor), message)

        await app.engine.run(queue)


async def unfinished(app: App) -> int:
    async with app.db.session() as session:
        query = select(func.count()).where(
            col(OutboxItem.status).in_(("pending", "sending", "ambiguous"))
        )
        return int((await session.exec(query)).one())


async def next_due(app: App) -> datetime | None:
    """When the earliest waiting item may go (None: nothing pending)."""
    async with app.db.session() as session:
        query = select(func.min(OutboxItem.not_before)).where(
            col(OutboxItem.status).in_(("pending", "ambiguous"))
        )
        moment = (await session.exec(query)).one()
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def statuses(app: App) -> dict[str, int]:
    async with app.db.session() as session:
        query = select(OutboxItem.status, func.count()).group_by(OutboxItem.status)
        return {status: int(count) for status, count in (await session.exec(query)).all()}


@contextlib.asynccontextmanager
async def sampling(slack: FakeSlack, run: Run, started: float) -> AsyncIterator[None]:
    """Note how many messages Slack holds, four times a second, for the timeline."""

    async def sample() -> None:
        while True:
            run.timeline.append((time.perf_counter() - started, len(slack.messages)))
            await asyncio.sleep(0.25)

    task = asyncio.create_task(sample())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        run.timeline.append((time.perf_counter() - started, len(slack.messages)))


def gave_up(run: Run, started: float, give_up: float) -> bool:
    """Past the time limit: the run is marked unfinished."""
    if time.perf_counter() - started > give_up:
        run.finished = False
    return not run.finished


async def dispatch_in_process(app: App, slack: FakeSlack, run: Run, give_up: float) -> None:
    """Loop the engine's dispatcher until the outbox is empty, sleeping while nothing is due."""
    started = time.perf_counter()
    async with sampling(slack, run, started):
        while await unfinished(app):
            if gave_up(run, started, give_up):
                break
            report = await app.engine.dispatch()
            if report.sent or report.retried or report.failed:
                continue
            due = await next_due(app)
            wait = 0.05 if due is None else (due - datetime.now(UTC)).total_seconds()
            await asyncio.sleep(min(max(wait, 0.01), 1.0))
    run.wall = time.perf_counter() - started


async def dispatch_replicas(
    app: App, slack: FakeSlack, run: Run, env: dict[str, str], replicas: int, give_up: float
) -> None:
    """Start `replicas` long-running `upward dispatch --follow` processes, wait until each
    has written its ready file (imports done, database reached), then start the clock and
    let them run until the outbox is empty; SIGTERM them at the end."""
    folder = Path(env["BENCH_LOG"]).parent
    ready = [folder / f"ready-{n}" for n in range(replicas)]
    errors = await asyncio.to_thread(Path(env["BENCH_LOG"]).open, "ab")
    with errors:
        launched = time.perf_counter()
        running = [
            await asyncio.create_subprocess_exec(
                UPWARD,
                "dispatch",
                "--follow",
                "--ready-file",
                str(path),
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=errors,
            )
            for path in ready
        ]
        run.restarts = replicas
        try:
            while not all(path.exists() for path in ready):
                if any(p.returncode is not None for p in running):
                    run.finished = False
                    return
                await asyncio.sleep(0.05)
            run.start_up = time.perf_counter() - launched
            started = time.perf_counter()
            async with sampling(slack, run, started):
                while await unfinished(app):
                    if gave_up(run, started, give_up):
                        break
                    await asyncio.sleep(0.1)
                run.wall = time.perf_counter() - started
        finally:
            for process in running:
                if process.returncode is None:
                    process.terminate()
            for process in running:
                await process.wait()
            run.cpu_replicas = children_cpu()


async def measure(args: argparse.Namespace, postgres: str | None) -> Run:
    users = people(args.size)
    key = Fernet.generate_key().decode()
    mode = f"{args.replicas} dispatcher processes" if args.replicas > 1 else "1 dispatcher"
    database = "PostgreSQL" if postgres else "SQLite"
    run = Run(label=f"{mode} (in-process) on {database}", size=args.size, rate=args.rate)
    run.client_rate = (
        "the bot's default" if args.client_rate is None else f"{args.client_rate:g}/s"
    ) + (", shared by the processes sending at once" if args.replicas > 1 else "")
    if args.replicas > 1:
        run.label = f"{mode} on {database}"
    async with contextlib.AsyncExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        if postgres:
            pg = await stack.enter_async_context(fresh_schema(postgres))
            url = pg.url
        else:
            url = f"sqlite+aiosqlite:///{folder}/fanout.db"
        await upgrade_async(url)
        slack = await stack.enter_async_context(FakeSlack(token=TOKEN))
        for user in users:
            slack.add_user(user, user.lower(), f"Person {user}")
        slack.limit_rate("chat.postMessage", args.rate)
        app = build_app(settings_for(url, slack, key, args.client_rate))
        stack.push_async_callback(app.close)
        seeding = time.perf_counter()
        await seed(app, users)
        print(f"  queued {args.size:,} items in {time.perf_counter() - seeding:.1f} s", flush=True)
        if args.replicas > 1:
            rate = (
                {}
                if args.client_rate is None
                else {"UPWARD_SLACK_WORKSPACE_RATE": str(args.client_rate)}
            )
            env = slack.upward_env(url, key, SECRET, BENCH_LOG=f"{folder}/dispatchers.log", **rate)
            cpu = cpu_seconds()
            await dispatch_replicas(app, slack, run, env, args.replicas, args.timeout)
            run.cpu_here = cpu_seconds() - cpu
            problems = await asyncio.to_thread(Path(env["BENCH_LOG"]).read_text, errors="replace")
            if "Traceback" in problems:
                print("  dispatcher errors (first lines):\n" + problems[:2000])
        else:
            cpu = cpu_seconds()
            await dispatch_in_process(app, slack, run, args.timeout)
            run.cpu_here = cpu_seconds() - cpu
        run.statuses = await statuses(app)
        run.per_dm = Counter(m["channel"] for m in slack.messages)
        run.rate_limited = len(slack.calls_to("chat.postMessage")) - len(slack.messages)
        run.lost = sum(1 for user in users if run.per_dm[slack.dm_id(user)] == 0)
    return run


def report(run: Run) -> None:
    delivered = sum(run.per_dm.values())
    achieved = delivered / run.wall if run.wall else 0.0
    fraction = achieved / run.rate
    duplicates = sum(1 for count in run.per_dm.values() if count > 1)
    extra = sum(count - 1 for count in run.per_dm.values() if count > 1)
    ideal = run.size / run.rate
    print(f"\n{run.label}")
    print(f"  N = {run.size:,} prompts, R = {run.rate}/s workspace-wide (ideal {ideal:.1f} s)")
    print(f"  bot's own pacing     UPWARD_SLACK_WORKSPACE_RATE = {run.client_rate}")
    if not run.finished:
        print("  STOPPED at --timeout before the outbox was empty")
    print(f"  wall time            {run.wall:8.1f} s")
    print(f"  delivered            {delivered:8,d}")
    print(f"  achieved rate        {achieved:8.1f} msg/s = {fraction:.2f} x R")
    first, last = active_span(run.timeline)
    if last > first:
        steady = delivered / (last - first)
        print(
            f"  first to last msg    {last - first:8.1f} s: {steady:.1f} msg/s = "
            f"{steady / run.rate:.2f} x R (without start-up and the final poll)"
        )
    verdict = "met" if fraction >= TARGET and run.finished else "MISSED"
    print(f"  target >= {TARGET} x R    {verdict}")
    print(f"  429 answers          {run.rate_limited:8,d}")
    print(f"  duplicates           {duplicates:8,d} DMs ({extra} extra messages)")
    print(f"  losses               {run.lost:8,d} items not delivered")
    print(
        f"  outbox               {', '.join(f'{k} {v}' for k, v in sorted(run.statuses.items()))}"
    )
    if run.restarts:
        print(f"  processes started    {run.restarts:8,d} (ready after {run.start_up:.1f} s)")
    per = 1000 / max(delivered, 1)
    print(
        f"  CPU                  {run.cpu_here:.1f} s in this process ("
        f"{'the Slack fake' if run.restarts else 'dispatcher and Slack fake'}), "
        f"{run.cpu_replicas:.1f} s in the dispatcher processes; "
        f"{(run.cpu_here + run.cpu_replicas) * per:.2f} ms per message in all"
    )
    print(f"  delivered per {SLICE:g} s  {' '.join(str(n) for n in slices(run.timeline))}")


def active_span(timeline: list[tuple[float, int]]) -> tuple[float, float]:
    """From the sample before the first message to the sample that saw the last one (the
    samples are 0.25 s apart)."""
    final = timeline[-1][1] if timeline else 0
    first = next((i for i, (_, n) in enumerate(timeline) if n > 0), 0)
    last = next((moment for moment, n in timeline if n == final), 0.0)
    return timeline[max(first - 1, 0)][0] if timeline else 0.0, last


def slices(timeline: list[tuple[float, int]]) -> list[int]:
    """Messages delivered in each SLICE-second slice of the run."""
    counts, mark, before = [], SLICE, 0
    last = 0
    for moment, delivered in timeline:
        while moment >= mark:
            counts.append(last - before)
            before, mark = last, mark + SLICE
        last = delivered
    counts.append(last - before)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="prompts (distinct DMs)")
    parser.add_argument("--rate", type=int, default=200, help="messages/s Slack lets through")
    parser.add_argument("--replicas", type=int, default=1, help="dispatcher processes")
    parser.add_argument(
        "--postgres",
        help="postgresql+asyncpg:// URL (default for --replicas > 1: $UPWARD_TEST_POSTGRES_URL)",
    )
    parser.add_argument(
        "--client-rate",
        type=float,
        help="UPWARD_SLACK_WORKSPACE_RATE for every dispatcher (default: R; 0 = no pacing; "
        "a negative value keeps the bot's own default)",
    )
    parser.add_argument("--timeout", type=float, default=600, help="give up after (seconds)")
    args = parser.parse_args()
    logging.getLogger("bot.app").setLevel(logging.ERROR)  # no admin channel: not the point here
    if not PACED or (args.client_rate is not None and args.client_rate < 0):
        args.client_rate = None  # the bot's own default (or a bot that does not pace itself)
    elif args.client_rate is None:
        args.client_rate = float(args.rate)
    postgres = args.postgres
    if args.replicas > 1:
        postgres = postgres or os.environ.get("UPWARD_TEST_POSTGRES_URL", "").strip() or None
        if not postgres:
            parser.error(
                "--replicas > 1 needs PostgreSQL: --postgres URL or UPWARD_TEST_POSTGRES_URL"
            )
    run = asyncio.run(measure(args, postgres))
    report(run)


if __name__ == "__main__":
    main()
