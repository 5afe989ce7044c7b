"""Work a form's ack has promised (storing a join, then its welcome): a few at a time, and
waited for when the process stops, so that a graceful shutdown loses none of it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

log = logging.getLogger(__name__)

# At most this many at once: under a burst the acks keep coming in time and the work
# queues (its DMs come later) instead of every request slowing down until acks miss
# Slack's 3 seconds.
AT_ONCE = 2


class AfterAck:
    def __init__(self, at_once: int = AT_ONCE) -> None:
        self._slots = asyncio.Semaphore(at_once)
        self._waiting = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: set[asyncio.Task[None]] = set()  # spawned, kept from the collector

    @property
    def waiting(self) -> int:
        """Acked forms whose work has not finished (running or queued)."""
        return self._waiting

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the slots for one form's work, counted from the moment it queues."""
        self._queued()
        try:
            async with self._slots:
                yield
        finally:
            self._finished()

    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `work` in a slot as a task of its own (for a platform whose answer goes when
        the handler returns), counted from now: a stop that begins next waits for it."""
        self._queued()

        async def run() -> None:
            try:
                async with self._slots:
                    await work
            except Exception as exc:  # the work reports its own failures; this is a last resort
                log.warning("work after an ack failed: %s", type(exc).__name__)
            finally:
                self._finished()

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _queued(self) -> None:
        self._waiting += 1
        self._idle.clear()

    def _finished(self) -> None:
        self._waiting -= 1
        if not self._waiting:
            self._idle.set()

    async def idle(self) -> None:
        """Until no acked form's work is left (tests, and `drain`)."""
        await self._idle.wait()

    async def drain(self, within: float) -> int:
        """Wait (up to `within` seconds) until no acked form's work is left; how many are
        still left then. Called once no new requests arrive."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), within)
        if self._waiting:
            log.error(
                "stopping with %d acked form(s) not stored: those people see no welcome "
                "and can join again",
                self._waiting,
            )
        return self._waiting
