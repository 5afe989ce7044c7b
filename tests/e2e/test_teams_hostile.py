"""Activities with a valid Bot Framework token but a shape Teams would never send (issue 16,
"Seen failing"): each answered below 500, with no ERROR or traceback in the log, changing
nothing."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from tests.e2e import test_teams_auth
from tests.e2e.hostile import loud, snapshot
from tests.e2e.teams_world import Member, TeamsWorld
from tests.fakes.teams_auth import FakeIdentity
from tests.fakes.teams_connector import activity_text

idp = test_teams_auth.idp
world = test_teams_auth.world
AMY = Member("Amy", "Mentor Amy", 10)


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


async def send(world: TeamsWorld, idp: FakeIdentity, activity: dict[str, Any]) -> int:
    token = idp.token(audience=test_teams_auth.APP_ID, service_url=world.connector.service_url)
    response = await world.post(activity, headers={"Authorization": f"Bearer {token}"})
    assert response.status < 500, await response.text()
    return response.status


async def refused(world: TeamsWorld, idp: FakeIdentity, activity: dict[str, Any]) -> int:
    before = await snapshot(world.app)
    status = await send(world, idp, activity)
    assert await snapshot(world.app) == before
    assert world.connector.received == []
    return status


@pytest.fixture(autouse=True)
def quiet(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.INFO)
    yield
    assert loud(caplog.records) == []


@pytest.mark.parametrize("conversation", [None, {}, {"id": 5}, "a:1"])
async def test_an_unreadable_conversation(
    world: TeamsWorld, idp: FakeIdentity, conversation: Any
) -> None:
    activity = world.activity(AMY, text="help") | {"conversation": conversation}
    assert await refused(world, idp, activity) == 400


async def test_members_removed_without_a_recipient(world: TeamsWorld, idp: FakeIdentity) -> None:
    activity = world.activity(AMY, "conversationUpdate", membersRemoved=[{"id": "28:bot"}])
    assert await refused(world, idp, activity | {"recipient": None}) == 400


@pytest.mark.parametrize(
    "changes",
    [
        {"from": None},
        {"channelData": {"tenant": "a string"}},
        {"membersRemoved": [None]},
        {"text": 5},
        {"value": {"x": nested(70)}},
    ],
)
async def test_other_unreadable_fields(
    world: TeamsWorld, idp: FakeIdentity, changes: dict[str, Any]
) -> None:
    assert await refused(world, idp, world.activity(AMY, text="help") | changes) == 400


async def test_nested_ten_thousand_deep(world: TeamsWorld, idp: FakeIdentity) -> None:
    activity = world.activity(AMY, text="help")
    raw = json.dumps(activity)[:-1] + ', "value": ' + "[" * 10_000 + "]" * 10_000 + "}"
    token = idp.token(audience=test_teams_auth.APP_ID, service_url=world.connector.service_url)
    response = await world.client.post(
        "/api/messages",
        data=raw.encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert response.status == 400


async def test_an_invoke_the_bot_does_not_handle(world: TeamsWorld, idp: FakeIdentity) -> None:
    for name in ("adaptiveCard/action", "task/fetch", "composeExtension/query"):
        activity = world.activity(AMY, "invoke", name=name, value={"action": {"verb": "x"}})
        assert 200 <= await send(world, idp, activity) < 300


async def test_command_text_over_the_limit_is_answered_kindly(
    world: TeamsWorld, idp: FakeIdentity
) -> None:
    await send(world, idp, world.activity(AMY, text="goals add " + "x" * 5_000))
    [reply] = world.connector.posted(AMY.chat)
    assert "4,000 characters" in activity_text(reply.json or {})


async def test_a_client_that_goes_away_mid_body(world: TeamsWorld) -> None:
    server = world.client.server
    _reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(
        b"POST /api/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\n"
        b'Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"type": "mess'
    )
    await writer.drain()
    writer.close()
    await asyncio.sleep(0.2)
    assert (await world.client.get("/healthz")).status == 200
