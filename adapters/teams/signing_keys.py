"""Bot Framework signing keys fetched off the event loop.

botbuilder checks an inbound token against the Bot Framework's published signing keys and
refreshes them (once a day, and at most hourly when a token names a key it doesn't know)
inside its async check, with blocking `requests.get` calls that have no timeout. In
`upward serve` that would stall every request of the process, Slack acks included, for as
long as login.botframework.com takes to answer, or for good if it never does. Here the same
refresh runs in a worker thread, and a request waits for it at most `FETCH_TIMEOUT` seconds
(its token is then refused with a 401, which the Bot Connector retries).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from botframework.connector.auth import jwt_token_extractor

FETCH_TIMEOUT = 10.0  # seconds

Refresh = Callable[[Any], Coroutine[Any, Any, None]]


def fetch_keys_off_the_loop(timeout: float = FETCH_TIMEOUT) -> None:
    """Make botbuilder's signing-key refresh run in a worker thread (once per process)."""
    metadata = jwt_token_extractor._OpenIdMetadata
    blocking: Refresh = getattr(metadata, "_blocking_refresh", metadata._refresh)

    async def refresh(self: Any) -> None:
        # botbuilder's own coroutine, run to the end on a loop of a worker thread: it awaits
        # nothing, so it only ever blocks that thread. One fetch at a time per document:
        # requests arriving meanwhile wait for it rather than each holding a thread.
        running: asyncio.Future[None] | None = getattr(self, "_upward_fetch", None)
        if (
            running is None
            or running.done()
            or running.get_loop() is not asyncio.get_running_loop()
        ):
            running = asyncio.ensure_future(asyncio.to_thread(asyncio.run, blocking(self)))
            running.add_done_callback(_retrieved)
            self._upward_fetch = running
        await asyncio.wait_for(asyncio.shield(running), timeout)

    metadata._blocking_refresh = blocking  # type: ignore[attr-defined]
    metadata._refresh = refresh  # type: ignore[method-assign]


def _retrieved(fetch: asyncio.Future[None]) -> None:
    """Mark the outcome as seen: a fetch that fails after every request stopped waiting
    for it is not an error of its own (the next request fetches again)."""
    if not fetch.cancelled():
        fetch.exception()
