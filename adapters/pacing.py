"""Pacing sends within a platform's limits, per conversation and for the whole app."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Pacer:
    """At most one send per `per_conversation` seconds into the same conversation, and at
    most `overall_rate` sends per second in all (0: no overall limit), or that rate's share
    when several processes send at once (`share`). A 429 still comes back to the outbox,
    which holds that destination for Retry-After."""

    def __init__(self, per_conversation: float, overall_rate: float = 0.0) -> None:
        self._gap = per_conversation
        self._rate = overall_rate
        self._overall_gap = 1.0 / overall_rate if overall_rate > 0 else 0.0
        self._last: dict[str, float] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._overall = asyncio.Lock()
        self._next_overall = 0.0

    def share(self, senders: int) -> None:
        """Keep to 1/`senders` of the overall rate: that many processes send at once."""
        if self._rate > 0:
            self._overall_gap = max(senders, 1) / self._rate

    @asynccontextmanager
    async def slot(self, conversation: str) -> AsyncIterator[None]:
        async with self._locks[conversation]:
            wait = self._last.get(conversation, 0.0) + self._gap - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._overall_slot()
            try:
                yield
            finally:
                self._last[conversation] = time.monotonic()

    async def _overall_slot(self) -> None:
        if not self._overall_gap:
            return
        async with self._overall:
            now = time.monotonic()
            start = max(now, self._next_overall)
            self._next_overall = start + self._overall_gap
        if start > now:
            await asyncio.sleep(start - now)
