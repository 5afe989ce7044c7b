"""The Slack fake, driven by the real slack_sdk AsyncWebClient (and once by a bolt AsyncApp)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import date
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack_api import (
    FakeSlack,
    block_actions_payload,
    event_body,
    interaction_body,
    signed_headers,
    slash_command_body,
    static_select,
    view_submission_payload,
)

TOKEN = "xoxb-test"
SECRET = "signing-secret"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(team_id="T0001", bot_user_id="U0BOT", token=TOKEN) as fake:
        fake.add_user("U0ALICE", "alice", "Alice Able", tz="America/New_York")
        fake.add_user("U0BOB", "bob", "Bob Baker")
        fake.add_user("U0GONE", "gone", "Gone Person", deleted=True)
        fake.add_channel("C0GENERAL", "general")
        fake.add_channel("C0OLD", "old", is_archived=True)
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=slack.base_url)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


async def api_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        await call
    return info.value


# ---- basics


async def test_binds_loopback_and_auth_test(slack: FakeSlack, client: AsyncWebClient) -> None:
    assert slack.base_url == f"http://127.0.0.1:{slack.port}/api/"
    assert slack.port != 0
    response = await client.auth_test()
    assert response["ok"] is True
    assert response["team_id"] == "T0001"
    assert response["user_id"] == "U0BOT"
    assert response["bot_id"] == "B0001"
    [call] = slack.calls
    assert call.method == "auth.test"
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.token == TOKEN


async def test_invalid_auth_and_not_authed(slack: FakeSlack) -> None:
    bad = AsyncWebClient(token="xoxb-wrong", base_url=slack.base_url)
    error = await api_error(bad.auth_test())
    assert error.response.status_code == 200
    assert error.response["error"] == "invalid_auth"
    anonymous = AsyncWebClient(base_url=slack.base_url)
    error = await api_error(anonymous.auth_test())
    assert error.response["error"] == "not_authed"
    assert len(slack.calls) == 2


async def test_unknown_method(slack: FakeSlack, client: AsyncWebClient) -> None:
    error = await api_error(client.api_call("chat.teleport"))
    assert error.response.status_code == 200
    assert error.response["error"] == "unknown_method"


# ---- chat


async def test_post_to_user_id_answers_the_dm(slack: FakeSlack, client: AsyncWebClient) -> None:
    first = await client.chat_postMessage(channel="U0ALICE", text="hello")
    second = await client.chat_postMessage(channel="U0ALICE", text="again")
    assert first["channel"] == second["channel"] == slack.dm_id("U0ALICE")
    assert first["channel"].startswith("D")
    assert first["message"]["text"] == "hello"
    assert first["message"]["user"] == "U0BOT"
    assert first["ts"] < second["ts"]
    assert len(first["ts"].split(".")[1]) == 6
    assert [m["text"] for m in slack.messages_in(slack.dm_id("U0ALICE"))] == ["hello", "again"]
    # The DM id is also accepted directly.
    third = await client.chat_postMessage(channel=slack.dm_id("U0ALICE"), text="direct")
    assert third["channel"] == slack.dm_id("U0ALICE")


async def test_post_to_mpim_from_conversations_open(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    opened = await client.conversations_open(users=["U0ALICE", "U0BOB"])
    reversed_ = await client.conversations_open(users="U0BOB,U0ALICE")
    mpim = opened["channel"]["id"]
    assert mpim.startswith("G")
    assert reversed_["channel"]["id"] == mpim == slack.mpim_id("U0ALICE", "U0BOB")
    assert reversed_["already_open"] is True
    dm = await client.conversations_open(users="U0BOB")
    assert dm["channel"]["id"] == slack.dm_id("U0BOB")

    blocks = [section("*Your match*"), {"type": "divider"}]
    posted = await client.chat_postMessage(channel=mpim, text="Meet each other", blocks=blocks)
    assert posted["channel"] == mpim
    [call] = slack.calls_to("chat.postMessage")
    assert call.args["blocks"] == blocks  # decoded objects, not a JSON string
    assert call.args["channel"] == mpim

    error = await api_error(client.conversations_open(users="U0NOBODY"))
    assert error.response["error"] == "user_not_found"


async def test_form_encoded_blocks_are_decoded(slack: FakeSlack, client: AsyncWebClient) -> None:
    blocks = [section("hi")]
    await client.api_call(
        "chat.postMessage",
        data={"channel": "C0GENERAL", "text": "hi", "blocks": json.dumps(blocks)},
    )
    [call] = slack.calls_to("chat.postMessage")
    assert call.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert call.args["blocks"] == blocks


async def test_channel_errors(slack: FakeSlack, client: AsyncWebClient) -> None:
    error = await api_error(client.chat_postMessage(channel="C0NOPE", text="x"))
    assert error.response["error"] == "channel_not_found"
    error = await api_error(client.chat_postMessage(channel="U0NOBODY", text="x"))
    assert error.response["error"] == "channel_not_found"
    error = await api_error(client.chat_postMessage(channel="C0OLD", text="x"))
    assert error.response["error"] == "is_archived"
    error = await api_error(client.chat_postMessage(channel="U0GONE", text="x"))
    assert error.response["error"] == "account_inactive"
    error = await api_error(client.api_call("chat.postMessage", json={"channel": "C0GENERAL"}))
    assert error.response["error"] == "no_text"


async def test_block_kit_limits(slack: FakeSlack, client: AsyncWebClient) -> None:
    too_many = [section(f"row {i}") for i in range(51)]
    error = await api_error(client.chat_postMessage(channel="C0GENERAL", text="x", blocks=too_many))
    assert error.response["error"] == "invalid_blocks"
    long_section = [section("x" * 3001)]
    error = await api_error(
        client.chat_postMessage(channel="C0GENERAL", text="x", blocks=long_section)
    )
    assert error.response["error"] == "invalid_blocks"
    assert "json-pointer:/blocks/0/text/text" in error.response["response_metadata"]["messages"][0]
    error = await api_error(client.chat_postMessage(channel="C0GENERAL", text="x" * 40_001))
    assert error.response["error"] == "msg_too_long"
    ok = await client.chat_postMessage(channel="C0GENERAL", text="x", blocks=[section("y" * 3000)])
    assert ok["message"]["blocks"][0]["block_id"]  # Slack fills in block ids


async def test_post_ephemeral_and_update(slack: FakeSlack, client: AsyncWebClient) -> None:
    ephemeral = await client.chat_postEphemeral(channel="C0GENERAL", user="U0ALICE", text="psst")
    assert ephemeral["message_ts"]
    posted = await client.chat_postMessage(channel="U0BOB", text="Pick one")
    updated = await client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Done")
    assert updated["text"] == "Done"
    assert slack.messages_in(posted["channel"])[0]["text"] == "Done"


# ---- faults and delays


async def test_ratelimited_then_retried_by_the_handler(slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", error="ratelimited", status=429, retry_after=1)
    client = AsyncWebClient(
        token=TOKEN,
        base_url=slack.base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    response = await client.chat_postMessage(channel="C0GENERAL", text="eventually")
    assert response["ok"] is True
    calls = slack.calls_to("chat.postMessage")
    assert len(calls) == 2
    assert calls[0].args == calls[1].args


async def test_ratelimited_without_a_handler(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.fail("chat.postMessage", retry_after=7)
    error = await api_error(client.chat_postMessage(channel="C0GENERAL", text="x"))
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "7"
    assert error.response["error"] == "ratelimited"
    # The fault was used up: the next call goes through.
    assert (await client.chat_postMessage(channel="C0GENERAL", text="x"))["ok"] is True


async def test_error_and_server_faults_in_order(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.fail("users.info", error="fatal_error", times=2)
    slack.fail("users.info", status=503)
    for _ in range(2):
        error = await api_error(client.users_info(user="U0ALICE"))
        assert (error.response.status_code, error.response["error"]) == (200, "fatal_error")
    error = await api_error(client.users_info(user="U0ALICE"))
    assert (error.response.status_code, error.response["error"]) == (503, "internal_error")
    assert (await client.users_info(user="U0ALICE"))["ok"] is True


async def test_delay(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.delay("auth.test", 0.3, times=1)
    started = time.monotonic()
    await client.auth_test()
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    await client.auth_test()
    assert time.monotonic() - started < 0.3


# ---- users and views


async def test_users_info(slack: FakeSlack, client: AsyncWebClient) -> None:
    response = await client.users_info(user="U0ALICE")
    user = response["user"]
    assert user["tz"] == "America/New_York"
    assert user["tz_offset"] in (-5 * 3600, -4 * 3600)
    assert user["profile"]["real_name"] == "Alice Able"
    assert user["deleted"] is False
    [call] = slack.calls_to("users.info")
    assert call.http_verb == "GET"
    error = await api_error(client.users_info(user="U0NOBODY"))
    assert error.response["error"] == "user_not_found"
    assert (await client.users_info(user="U0GONE"))["user"]["deleted"] is True


def modal(blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "join",
        "title": {"type": "plain_text", "text": "Join"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": blocks if blocks is not None else [section("Hello")],
    }


async def test_views(slack: FakeSlack, client: AsyncWebClient) -> None:
    opened = await client.views_open(trigger_id="111.222.abc", view=modal())
    view = opened["view"]
    assert view["id"].startswith("V")
    assert view["callback_id"] == "join"
    error = await api_error(client.views_open(trigger_id="111.222.abc", view=modal()))
    assert error.response["error"] == "invalid_trigger_id"
    error = await api_error(
        client.views_open(trigger_id="111.222.def", view=modal([section("x")] * 101))
    )
    assert error.response["error"] == "invalid_arguments"

    updated = await client.views_update(view_id=view["id"], hash=view["hash"], view=modal())
    assert updated["view"]["id"] == view["id"]
    error = await api_error(client.views_update(view_id=view["id"], hash="stale", view=modal()))
    assert error.response["error"] == "hash_conflict"

    home = {"type": "home", "blocks": [section("Your mentoring")]}
    published = await client.views_publish(user_id="U0ALICE", view=home)
    assert slack.home_views["U0ALICE"]["id"] == published["view"]["id"]
    assert slack.home_views["U0ALICE"]["blocks"][0]["text"]["text"] == "Your mentoring"


async def test_response_url(slack: FakeSlack) -> None:
    webhook = AsyncWebhookClient(slack.response_url("cmd-1"))
    response = await webhook.send(text="Working on it", response_type="ephemeral")
    assert response.status_code == 200
    [call] = slack.responses("cmd-1")
    assert call.args == {"text": "Working on it", "response_type": "ephemeral"}


# ---- what Slack sends to the app


def test_signed_headers_verify() -> None:
    body = slash_command_body(
        user_id="U0ALICE",
        team_id="T0001",
        trigger_id="1.2.3",
        response_url="https://hooks.slack.com/commands/T0001/1/x",
        text="join now",
    )
    headers = signed_headers(body, SECRET)
    verifier = SignatureVerifier(SECRET)
    ts, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert signature.startswith("v0=")
    assert verifier.is_valid(body, ts, signature)
    assert verifier.is_valid(body.encode(), ts, signature)
    assert not SignatureVerifier("other").is_valid(body, ts, signature)
    fields = parse_qs(body)
    assert fields["command"] == ["/mentoring"]
    assert fields["text"] == ["join now"]
    assert list(fields) == [
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    ]

    payload = view_submission_payload(
        user_id="U0ALICE",
        team_id="T0001",
        callback_id="join",
        private_metadata="{}",
        values={"role": {"pick": static_select("mentor")}, "when": {"day": date(2027, 1, 4)}},
    )
    decoded = json.loads(parse_qs(interaction_body(payload))["payload"][0])
    values = decoded["view"]["state"]["values"]
    assert values["role"]["pick"]["selected_option"]["value"] == "mentor"
    assert values["when"]["day"] == {"type": "datepicker", "selected_date": "2027-01-04"}


async def test_bolt_app_round_trip(slack: FakeSlack) -> None:
    """Signed requests built by the helpers are accepted by a real bolt AsyncApp."""
    app = AsyncApp(
        client=AsyncWebClient(token=TOKEN, base_url=slack.base_url), signing_secret=SECRET
    )
    seen: list[str] = []

    @app.command("/mentoring")
    async def command(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=modal())

    @app.action("accept")
    async def accept(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        seen.append(body["actions"][0]["value"])
        await respond(text="Accepted")

    @app.view("join")
    async def submitted(ack: Any, view: dict[str, Any]) -> None:
        await ack()
        seen.append(view["state"]["values"]["about"]["text"]["value"])

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": []})

    async def dispatch(body: str, content_type: str) -> int:
        headers = {"content-type": content_type, **signed_headers(body, SECRET)}
        response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
        return response.status

    form = "application/x-www-form-urlencoded"
    command_body = slash_command_body(
        user_id="U0ALICE", team_id="T0001", trigger_id="9.9.9", response_url=slack.response_url("c")
    )
    assert await dispatch(command_body, form) == 200
    [opened] = await slack.wait_for("views.open")
    assert opened.args["trigger_id"] == "9.9.9"

    click = block_actions_payload(
        user_id="U0ALICE",
        team_id="T0001",
        action_id="accept",
        value="match-7",
        trigger_id="9.9.10",
        response_url=slack.response_url("click"),
    )
    assert await dispatch(interaction_body(click), form) == 200
    [reply] = await slack.wait_for("response_url")
    assert reply.response_url_id == "click"
    assert reply.args["text"] == "Accepted"

    submission = view_submission_payload(
        user_id="U0ALICE",
        team_id="T0001",
        callback_id="join",
        private_metadata="",
        values={"about": {"text": "I like tea"}},
    )
    assert await dispatch(interaction_body(submission), form) == 200

    event = {"type": "app_home_opened", "user": "U0BOB", "tab": "home", "event_ts": "1.2"}
    envelope = json.dumps(event_body(event, team_id="T0001", event_id="Ev1"))
    assert await dispatch(envelope, "application/json") == 200
    await slack.wait_for("views.publish")
    assert seen == ["match-7", "I like tea"]
    assert "U0BOB" in slack.home_views
