"""Work a form's ack has promised (storing a join, then its welcome): a few at a time, and
waited for when the process stops, so that a graceful shutdown loses none of it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

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

    @property
    def waiting(self) -> int:
        """Acked forms whose work has not finished (running or queued)."""
        return self._waiting

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the slots for one form's work, counted from the moment it queues."""
        self._waiting += 1
        self._idle.clear()
        try:
            async with self._slots:
                yield
        finally:
            self._waiting -= 1
            if not self._waiting:
                self._idle.set()

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
