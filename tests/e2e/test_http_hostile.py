"""Malformed HTTP at the socket (issue 16, "The HTTP layer"): aiohttp's own errors and
clients that go away are one WARNING line at most, naming a type, with no traceback and
no request text; nothing answers 500."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.e2e import test_slack
from tests.e2e.hostile import loud
from tests.e2e.slack_world import SlackWorld

world = test_slack.world
MARK = "SECRET-REQUEST-TEXT"


async def raw(world: SlackWorld, request: bytes, *, close_early: bool = False) -> bytes:
    server = world.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(request)
    await writer.drain()
    if close_early:
        writer.close()
        await asyncio.sleep(0.2)  # let the server notice
        return b""
    try:
        answer = await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()
    return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


@pytest.fixture(autouse=True)
def quiet(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.DEBUG)
    yield
    assert loud(caplog.records) == []
    assert MARK not in caplog.text
    aiohttp_records = [r for r in caplog.records if r.name.startswith("aiohttp")]
    assert all(r.levelno <= logging.WARNING for r in aiohttp_records)


HEAD = b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"

MALFORMED = {
    "a 10 KB header": HEAD + b"X-Long: " + MARK.encode() + b"a" * 10_240 + b"\r\n\r\n",
    "Transfer-Encoding with Content-Length": HEAD
    + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "a bad chunk size": HEAD
    + b"Transfer-Encoding: chunked\r\n\r\n"
    + MARK.encode()
    + b"\r\nhello\r\n0\r\n\r\n",
    "a request line that isn't HTTP": MARK.encode() + b" \x00\x01 nonsense\r\n\r\n",
}


@pytest.mark.parametrize("name", MALFORMED)
async def test_malformed_http_is_a_4xx_and_one_quiet_line(world: SlackWorld, name: str) -> None:
    answer = await raw(world, MALFORMED[name])
    assert 400 <= status_of(answer) < 500, answer[:200]
    assert (await world.client.get("/healthz")).status == 200


async def test_a_client_that_goes_away_mid_body(world: SlackWorld) -> None:
    request = HEAD + b"Content-Length: 10000\r\n\r\n" + b'{"type": "' + MARK.encode()
    await raw(world, request, close_early=True)
    assert (await world.client.get("/healthz")).status == 200
