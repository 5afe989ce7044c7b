"""`views.open` latency from the click, while a tick over many pairs and a dispatch run.

A check-in button opens a form with a `trigger_id` Slack honours for 3 seconds. Its
handler only reads (a read session: on SQLite it doesn't wait for the write lock), so it
must not queue behind the tick or the dispatcher. One `upward serve` process in all (its
aiohttp app, the tick, the dispatcher, as in production), a loopback Slack Web API, and
clicks sent as Slack sends them (signed block_actions), every `--every` seconds, from the
moment the tick starts until the dispatch that follows it has sent `--sends` messages.

    .venv/bin/python bench/trigger.py [--size 10000] [--every 0.1] [--sends 2000]
    .venv/bin/python bench/trigger.py --write-lock   # as before: buttons take the write lock

Prints p50/p99/max of click -> views.open (as the fake received it), and how many came
later than 1 s and 3 s (Slack refuses a trigger after 3 s: expired_trigger_id).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:  # `tests` and `bench` are not installed packages
        sys.path.insert(0, str(path))

from tick import NOW, load  # noqa: E402

from bot.app import App, build_app  # noqa: E402
from bot.clock import FrozenClock  # noqa: E402
from bot.engine import Engine, TickReport  # noqa: E402
from bot.server import SCHEDULER, build_web_app  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from tests.fakes.slack_api import (  # noqa: E402
    FakeSlack,
    block_actions_payload,
    interaction_body,
    signed_headers,
)

SECRET = "bench-signing-secret"  # noqa: S105 - the loopback fake's
TOKEN = "xoxb-bench"  # noqa: S105
TEAM = "T0001"
LATER = NOW + timedelta(days=7)  # each pair's check-in is due: one message per person


class Arrivals:
    """When each views.open reached the fake, by trigger id (scans only new calls)."""

    def __init__(self, slack: FakeSlack) -> None:
        self.slack, self.seen, self.at = slack, 0, {}

    async def watch(self) -> None:
        while True:
            calls = self.slack.calls
            for call in calls[self.seen :]:
                if call.method == "views.open":
                    self.at[call.args.get("trigger_id")] = time.monotonic()
            self.seen = len(calls)
            await asyncio.sleep(0.001)

    def sends(self) -> int:
        return sum(1 for c in self.slack.calls[: self.seen] if c.method == "chat.postMessage")


async def click(client: TestClient, slack: FakeSlack, n: int, size: int) -> tuple[str, float]:
    pair = 1 + (n * 7919) % size
    trigger = f"{n}.{n}.bench"
    slack.issue_trigger(trigger)
    payload = block_actions_payload(
        user_id=f"U{2 * pair - 1:08d}",
        team_id=TEAM,
        action_id="checkin.open",
        value=f"{pair}:1",
        trigger_id=trigger,
    )
    body = interaction_body(payload)
    headers = {**signed_headers(body, SECRET), "Content-Type": "application/x-www-form-urlencoded"}
    started = time.monotonic()
    response = await client.post("/slack/events", data=body.encode(), headers=headers)
    assert response.status == 200, response.status
    await response.read()
    return trigger, started


async def startup_tick() -> None:
    ticks = [t for t in asyncio.all_tasks() if "Engine.tick" in repr(t.get_coro())]
    if ticks:
        await asyncio.wait(ticks)


async def tick_then_dispatch(app: App, arrivals: Arrivals, sends: int) -> TickReport:
    """A tick a week later (every pair's check-ins due), then dispatches until `sends`."""
    report = await app.engine.tick(LATER)
    while arrivals.sends() < sends:
        if not (await app.engine.dispatch(LATER)).sent:
            break
    return report


async def run(size: int, every: float, sends: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        loaded = await load(url, size)
        print(f"loaded {size:,} pairs in {loaded:.1f} s")
        async with FakeSlack(team_id=TEAM, token=TOKEN) as slack:
            for number in range(1, 2 * size + 1):
                slack.add_user(f"U{number:08d}", f"p{number}", f"Person {number}", tz="UTC")
            settings = load_settings(
                database_url=url,
                encryption_keys=[Fernet.generate_key().decode()],
                slack_bot_token=TOKEN,
                slack_signing_secret=SECRET,
                slack_api_url=slack.base_url,
                slack_pacing_seconds=0,
                slack_workspace_rate=0,
            )
            app = build_app(settings, clock=FrozenClock(NOW))
            web_app = build_web_app(app)
            web_app.on_cleanup.clear()
            async with TestClient(TestServer(web_app)) as client:
                web_app[SCHEDULER].pause()  # the bench drives the tick and the dispatch
                await startup_tick()  # prompts queued (and being sent) at NOW
                arrivals = Arrivals(slack)
                watcher = asyncio.create_task(arrivals.watch())
                started = time.monotonic()
                work = asyncio.create_task(tick_then_dispatch(app, arrivals, sends))
                clicks: list[asyncio.Task[tuple[str, float]]] = []
                n = 0
                while not work.done() and time.monotonic() - started < 300:
                    n += 1
                    clicks.append(asyncio.create_task(click(client, slack, n, size)))
                    await asyncio.sleep(every)
                done = [await c for c in clicks]
                report = await work
                elapsed = time.monotonic() - started
                await asyncio.sleep(3.5)
                watcher.cancel()
                latencies = sorted(arrivals.at[t] - s for t, s in done if t in arrivals.at)
                missing = len(done) - len(latencies)
                web_app[SCHEDULER].shutdown(wait=False)
            await app.close()
    queued = sum(report.queued.values())
    print(
        f"tick queued {queued:,} (then dispatched: {arrivals.sends():,} messages sent in all) "
        f"in {elapsed:.1f} s; {len(done)} clicks, one every {every} s"
    )
    if not latencies:
        print("no views.open arrived")
        return
    p99 = latencies[max(0, round(0.99 * len(latencies)) - 1)]
    print(
        f"click -> views.open: p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms; "
        f"over 1 s: {sum(x > 1 for x in latencies)}, over 3 s: {sum(x > 3 for x in latencies)}, "
        f"never opened: {missing}"
    )
    print("target: p99 well under 1 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="active pairs")
    parser.add_argument("--every", type=float, default=0.1, help="seconds between clicks")
    parser.add_argument("--sends", type=int, default=2_000, help="messages the dispatch sends")
    parser.add_argument(
        "--write-lock",
        action="store_true",
        help="as before issue 16: every button in a write transaction (BEGIN IMMEDIATE)",
    )
    args = parser.parse_args()
    if args.write_lock:
        Engine._reads_only = lambda self, event: False  # type: ignore[method-assign]
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run(args.size, args.every, args.sends))


if __name__ == "__main__":
    main()
