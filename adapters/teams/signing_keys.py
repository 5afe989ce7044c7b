"""Bot Framework signing keys fetched without blocking the event loop, and with a time limit.

botbuilder checks an inbound token against the Bot Framework's published signing keys and
refreshes them once a day inside its async check, with blocking `requests.get` calls that
have no timeout. In `upward serve` that would stall every request of the process, Slack
acks included, for as long as login.botframework.com takes to answer, or for good if it
never does. Here the refresh fetches the same two documents with aiohttp instead, within
`FETCH_TIMEOUT` seconds: a request whose token can't be checked in that time is refused
(401, which the Bot Connector retries), and the next one fetches again.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import aiohttp
from botframework.connector.auth import jwt_token_extractor

FETCH_TIMEOUT = 10.0  # seconds


def fetch_keys_off_the_loop(timeout: float = FETCH_TIMEOUT) -> None:
    """Replace botbuilder's signing-key refresh with a non-blocking one (idempotent)."""

    async def refresh(self: Any) -> None:
        # One fetch at a time per document: requests arriving meanwhile wait for it. It
        # always ends within `timeout`, so a provider that never answers can't hold it.
        running: asyncio.Task[None] | None = getattr(self, "_upward_fetch", None)
        if (
            running is None
            or running.done()
            or running.get_loop() is not asyncio.get_running_loop()
        ):
            running = asyncio.ensure_future(_fetch(self, timeout))
            running.add_done_callback(_retrieved)
            self._upward_fetch = running
        await asyncio.shield(running)

    jwt_token_extractor._OpenIdMetadata._refresh = refresh  # type: ignore[method-assign]


async def _fetch(metadata: Any, seconds: float) -> None:
    """What botbuilder's refresh does: the OpenID document, then the keys it points to.
    The keys are in place before `last_updated` says they are fresh."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as http:
        async with http.get(metadata.url) as response:
            response.raise_for_status()
            keys_url = (await response.json(content_type=None))["jwks_uri"]
        async with http.get(keys_url) as response:
            response.raise_for_status()
            keys = (await response.json(content_type=None))["keys"]
    metadata.keys = keys
    metadata.last_updated = datetime.now()  # noqa: DTZ005 (naive local time, as botbuilder compares it)


def _retrieved(fetch: asyncio.Task[None]) -> None:
    """Mark the outcome as seen: a fetch that fails after every request stopped waiting
    for it is not an error of its own (the next request fetches again)."""
    if not fetch.cancelled():
        fetch.exception()
