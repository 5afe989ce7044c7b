"""The Bot Connector fake, driven by botbuilder's own CloudAdapter and ConnectorClient."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
    ErrorResponseException,
)
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import MicrosoftAppCredentials

from tests.fakes.teams_connector import FakeConnector, activity_text

DM = "a:1xyz"
THREAD = "19:abc@thread.tacv2;messageid=123"


@pytest.fixture
async def fake() -> AsyncIterator[FakeConnector]:
    async with FakeConnector() as connector:
        connector.add_member("29:alice", "Alice Able", "aad-alice", "alice@example.com")
        yield connector


@pytest.fixture
def adapter() -> CloudAdapter:
    config = SimpleNamespace(APP_ID="", APP_PASSWORD="", APP_TYPE="MultiTenant", APP_TENANTID="")
    return CloudAdapter(ConfigurationBotFrameworkAuthentication(config))


def reference(fake: FakeConnector, conversation_id: str = DM) -> ConversationReference:
    return ConversationReference(
        channel_id="msteams",
        service_url=fake.service_url,
        conversation=ConversationAccount(id=conversation_id, tenant_id="tenant-1"),
        user=ChannelAccount(id="29:alice"),
        bot=ChannelAccount(id="28:bot"),
    )


async def send(adapter: CloudAdapter, fake: FakeConnector, activity: Any, to: str = DM) -> None:
    async def callback(context: TurnContext) -> None:
        await context.send_activity(activity)

    await adapter.continue_conversation(reference(fake, to), callback, "")


def connector(fake: FakeConnector) -> ConnectorClient:
    return ConnectorClient(MicrosoftAppCredentials.empty(), base_url=fake.service_url)


async def test_continue_conversation(adapter: CloudAdapter, fake: FakeConnector) -> None:
    await send(adapter, fake, "hello")
    await send(adapter, fake, "in a thread", to=THREAD)

    [activity] = fake.activities(DM)
    assert activity["type"] == "message"
    assert activity["text"] == "hello"
    assert fake.texts(THREAD) == ["in a thread"]
    first, second = fake.received
    assert first.method == "POST"
    assert first.conversation_id == DM and first.activity_id is not None  # continuation id
    assert "a%3A1xyz" in first.path  # msrest percent-encodes path parameters
    assert second.conversation_id == THREAD
    assert first.status == 200 and first.headers.get("authorization") is None


async def test_texts_flatten_adaptive_cards(adapter: CloudAdapter, fake: FakeConnector) -> None:
    card = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [
            {"type": "TextBlock", "text": "Weekly check-in"},
            {
                "type": "ColumnSet",
                "columns": [
                    {"type": "Column", "items": [{"type": "TextBlock", "text": "left"}]},
                    {
                        "type": "Column",
                        "items": [
                            {
                                "type": "FactSet",
                                "facts": [
                                    {"title": "Mentor", "value": "Bob"},
                                ],
                            }
                        ],
                    },
                ],
            },
        ],
        "actions": [{"type": "Action.Submit", "title": "Go", "data": {"text": "hidden"}}],
    }
    message = MessageFactory.attachment(CardFactory.adaptive_card(card))
    message.text = "summary"
    await send(adapter, fake, message)

    assert fake.texts(DM) == ["summary\nWeekly check-in\nleft\nMentor Bob"]
    assert activity_text({"text": "plain"}) == "plain"


async def test_fail_403_raises_error_response(adapter: CloudAdapter, fake: FakeConnector) -> None:
    fake.fail(403, code="ConversationBlockedByUser")

    with pytest.raises(ErrorResponseException) as info:
        await send(adapter, fake, "blocked")

    assert info.value.response.status_code == 403
    assert info.value.error.error.code == "ConversationBlockedByUser"
    assert fake.activities() == []
    assert [r.status for r in fake.received] == [403]
    assert len(fake.activities(include_failed=True)) == 1

    await send(adapter, fake, "works again")
    assert fake.texts(DM) == ["works again"]


async def test_fail_429_exposes_retry_after(adapter: CloudAdapter, fake: FakeConnector) -> None:
    fake.fail(429, retry_after=7, times=2)

    for _ in range(2):
        with pytest.raises(ErrorResponseException) as info:
            await send(adapter, fake, "slow down")
        assert info.value.response.status_code == 429
        assert info.value.response.headers["Retry-After"] == "7"
        assert info.value.error.error.code == "Throttled"
    await send(adapter, fake, "finally")

    assert [r.status for r in fake.received] == [429, 429, 200]
    assert fake.texts() == ["finally"]


async def test_fail_only_matching_conversation(adapter: CloudAdapter, fake: FakeConnector) -> None:
    fake.fail(500, conversation_id=THREAD)

    await send(adapter, fake, "dm is fine")
    with pytest.raises(ErrorResponseException):
        await send(adapter, fake, "thread fails", to=THREAD)

    assert fake.texts() == ["dm is fine"]


async def test_update_activity(adapter: CloudAdapter, fake: FakeConnector) -> None:
    async def callback(context: TurnContext) -> None:
        sent = await context.send_activity("v1")
        assert sent is not None
        replacement = MessageFactory.text("v2")
        replacement.id = sent.id
        response = await context.update_activity(replacement)
        assert response.id == sent.id

    await adapter.continue_conversation(reference(fake), callback, "")

    [update] = fake.updates(DM)
    assert update["text"] == "v2"
    assert fake.received[-1].method == "PUT"
    assert fake.received[-1].activity_id == update["id"]


async def test_create_conversation(adapter: CloudAdapter, fake: FakeConnector) -> None:
    created: list[str] = []

    async def callback(context: TurnContext) -> None:
        created.append(context.activity.conversation.id)
        await context.send_activity("welcome")

    params = ConversationParameters(
        is_group=False,
        bot=ChannelAccount(id="28:bot"),
        members=[ChannelAccount(id="29:alice")],
        tenant_id="tenant-1",
        channel_data={"tenant": {"id": "tenant-1"}},
    )
    await adapter.create_conversation("", callback, params, "msteams", fake.service_url, None)

    [new_id] = created
    assert new_id.startswith("a:1")
    [body] = fake.creates()
    assert body["members"] == [{"id": "29:alice"}]
    assert fake.received[0].conversation_id == new_id
    assert fake.texts(new_id) == ["welcome"]


async def test_get_member(adapter: CloudAdapter, fake: FakeConnector) -> None:
    emails: list[str | None] = []

    async def callback(context: TurnContext) -> None:
        # A continuation activity has no channelData, which TeamsInfo.get_member requires.
        context.activity.channel_data = {"tenant": {"id": "tenant-1"}}
        member = await TeamsInfo.get_member(context, "29:alice")
        emails.append(member.email)
        assert member.aad_object_id == "aad-alice"
        assert member.given_name == "Alice" and member.surname == "Able"
        assert member.tenant_id == "tenant-1"

    await adapter.continue_conversation(reference(fake, THREAD), callback, "")
    assert emails == ["alice@example.com"]

    client = connector(fake)
    with pytest.raises(ErrorResponseException) as info:
        await client.conversations.get_conversation_member(DM, "29:nobody")
    assert info.value.response.status_code == 404
    assert info.value.error.error.code == "MemberNotFoundInConversation"
    assert fake.received[-1].conversation_id == DM


async def test_raw_paths_and_expected_token() -> None:
    async with FakeConnector(expect_token="secret") as fake, aiohttp.ClientSession() as http:
        url = f"{fake.service_url}v3/conversations/{THREAD}/activities"
        async with http.post(url, json={"type": "message", "text": "no token"}) as response:
            assert response.status == 401
        headers = {"Authorization": "Bearer secret"}
        async with http.post(url, json={"text": "raw"}, headers=headers) as response:
            assert response.status == 200
            assert "id" in await response.json()

        assert [r.status for r in fake.received] == [401, 200]
        assert fake.received[1].conversation_id == THREAD
        assert fake.texts(THREAD) == ["raw"]

        async with http.get(f"{fake.service_url}v3/nowhere", headers=headers) as response:
            assert response.status == 404
            assert (await response.json())["error"]["code"] == "NotFound"


async def test_wait_for_activities(adapter: CloudAdapter, fake: FakeConnector) -> None:
    with pytest.raises(TimeoutError):
        await fake.wait_for_activities(1, within=0.05)
    await send(adapter, fake, "hi")
    assert len(await fake.wait_for_activities(1, DM)) == 1


async def test_transport_retries_failed_updates_but_not_sends(fake: FakeConnector) -> None:
    client = connector(fake)
    update = Activity(type="message", id="42", text="v2")
    fake.fail(502)
    assert (await client.conversations.update_activity(DM, "42", update)).id == "42"
    assert [r.status for r in fake.received] == [502, 200]

    fake.fail(502)
    with pytest.raises(ErrorResponseException):
        await client.conversations.send_to_conversation(DM, update)
    assert [r.status for r in fake.received][2:] == [502]
