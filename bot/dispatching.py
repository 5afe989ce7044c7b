"""`upward dispatch`: passes of the outbox dispatcher, once, until empty, or for good.

- one pass (the default): send what is due now, then stop;
- until empty: keep going while something is due, and wait out a Retry-After (up to
  `wait` seconds) rather than stop with messages still held;
- follow: a long-running sender (e.g. extra replicas beside `upward serve`) that sleeps
  until the next item is due, and on SIGTERM or SIGINT stops claiming, lets the sends under
  way finish and be recorded, then returns. It writes `ready_file` once it can claim, so
  whatever starts it knows when it is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.engine import Engine
from bot.outbox import DispatchReport

IDLE_POLL = 1.0  # seconds between looks at an outbox with nothing due (follow)
DEFAULT_WAIT = 60.0


@dataclass
class DispatchTotals:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    passes: int = 0

    def add(self, report: DispatchReport) -> None:
        self.sent += report.sent
        self.retried += report.retried
        self.failed += report.failed
        self.passes += 1


async def dispatch_loop(
    engine: Engine,
    *,
    follow: bool = False,
    until_empty: bool = False,
    wait: float = DEFAULT_WAIT,
    ready_file: Path | None = None,
    stop: asyncio.Event | None = None,
) -> DispatchTotals:
    """Run dispatcher passes as asked; the totals of what they did."""
    stop = stop or asyncio.Event()
    totals = DispatchTotals()
    async with _stopping_on_signals(engine, stop, enabled=follow), _leaving(engine):
        await engine.dispatcher.ready()
        if ready_file is not None:
            await asyncio.to_thread(ready_file.write_text, "ready\n")
        while not stop.is_set():
            report = await engine.dispatch()
            totals.add(report)
            if report.sent or report.retried or report.failed or report.ambiguous:
                continue  # more may be due already
            if not (follow or until_empty):
                break
            pause = await _until_next(engine, follow=follow, wait=wait)
            if pause is None:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
    return totals


async def _until_next(engine: Engine, *, follow: bool, wait: float) -> float | None:
    """Seconds to sleep before the next pass; None when `until_empty` should stop: nothing
    waits, or it waits longer than `wait` seconds."""
    due = await engine.dispatcher.next_due()
    if due is None:
        return IDLE_POLL if follow else None
    seconds = max((due - datetime.now(UTC)).total_seconds(), 0.01)
    if follow:
        return min(seconds, IDLE_POLL)
    return seconds if seconds <= wait else None


@contextlib.asynccontextmanager
async def _leaving(engine: Engine) -> AsyncIterator[None]:
    """However the passes end, this process no longer takes a share of the send rate."""
    try:
        yield
    finally:
        await engine.dispatcher.leave()


@contextlib.asynccontextmanager
async def _stopping_on_signals(
    engine: Engine, stop: asyncio.Event, *, enabled: bool
) -> AsyncIterator[None]:
    """SIGTERM/SIGINT: no new claims; sends under way finish and are recorded."""
    if not enabled:
        yield
        return
    loop = asyncio.get_running_loop()
    draining: list[asyncio.Task[None]] = []

    def on_signal() -> None:
        stop.set()
        if not draining:
            draining.append(loop.create_task(engine.dispatcher.drain()))

    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, on_signal)
    try:
        yield
    finally:
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(number)
        for task in draining:
            await task
