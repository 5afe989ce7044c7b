"""Sending messages the bot starts: DMs, the pair's group DM, the admin channel.

Slack's answers are mapped for the outbox: 429 and server trouble are transient (with
Retry-After), errors that retrying cannot fix are permanent and shown to admins.
"""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.pacing import Pacer
from adapters.slack.render import render_message
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.messages import Message, ToChannel, ToGroup, ToPair, ToPerson
from bot.ports import Capabilities, Receipt

PERMANENT_ERRORS = frozenset(
    {
        "user_not_found",
        "users_not_found",
        "account_inactive",
        "user_disabled",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_visible",
        "cannot_dm_bot",
        "restricted_action",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
    }
)
# About the app, not the recipient: retrying later (after an admin fixes the token or
# scopes) is right; failing every queued item for good is not.
APP_WIDE_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "missing_scope"}
)
APP_WIDE_WAIT = 900.0


class SlackDelivery:
    platform = "slack"
    capabilities = Capabilities(group_dm=True)

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        pacing_seconds: float = 1.0,
        workspace_rate: float = 0.0,
    ) -> None:
        self._client = client
        self._pacer = Pacer(pacing_seconds, workspace_rate)
        self._group_dms: dict[frozenset[str], str] = {}  # conversations.open is Tier 3

    def share_rate(self, senders: int) -> None:
        """`senders` processes send at once: keep to that share of the overall rate."""
        self._pacer.share(senders)

    async def deliver(
        self, address: ToPerson | ToPair | ToGroup | ToChannel, message: Message, *, key: str
    ) -> Receipt:
        return await self._deliver(address, message, key, already={})

    async def reconcile(
        self, address: ToPerson | ToPair | ToGroup | ToChannel, message: Message, *, key: str
    ) -> Receipt:
        """After a dispatcher died mid-send: each page carries the outbox key in its
        metadata, so the pages Slack already has are found in the conversation's recent
        history and only the missing ones are posted. Never a duplicate."""
        try:
            conversation = await self._conversation(address)
            history = await self._client.conversations_history(
                channel=conversation, limit=100, include_all_metadata=True
            )
        except SlackApiError as exc:
            raise _classify(exc) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientDeliveryError(f"network: {type(exc).__name__}") from None
        already = {}
        for posted in history.get("messages", []) or []:
            payload = ((posted.get("metadata") or {}).get("event_payload")) or {}
            if payload.get("key") == key and isinstance(payload.get("page"), int):
                already[payload["page"]] = str(posted.get("ts", ""))
        return await self._deliver(address, message, key, already=already)

    async def _deliver(
        self,
        address: ToPerson | ToPair | ToGroup | ToChannel,
        message: Message,
        key: str,
        *,
        already: dict[int, str],
    ) -> Receipt:
        try:
            channel = await self._channel(address)
            ts = ""
            for page, payload in enumerate(render_message(message)):
                ts = already.get(page) or await self._post(channel, payload, key, page)
            return Receipt(platform_id=ts)
        except SlackApiError as exc:
            raise _classify(exc) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientDeliveryError(f"network: {type(exc).__name__}") from None

    async def _conversation(self, address: ToPerson | ToPair | ToGroup | ToChannel) -> str:
        """A conversation id history can be read from (a DM is addressed by user id)."""
        channel = await self._channel(address)
        if isinstance(address, ToPerson):
            response = await self._client.conversations_open(users=channel)
            return str(response["channel"]["id"])
        return channel

    async def _channel(self, address: ToPerson | ToPair | ToGroup | ToChannel) -> str:
        if isinstance(address, ToPerson):
            return address.person.user_id  # chat.postMessage to a user id posts in the bot's DM
        if isinstance(address, ToPair | ToGroup):
            members = frozenset(member.user_id for member in address.members)
            if members not in self._group_dms:
                response = await self._client.conversations_open(users=",".join(sorted(members)))
                self._group_dms[members] = str(response["channel"]["id"])
            return self._group_dms[members]
        return address.channel_id

    async def _post(self, channel: str, payload: dict, key: str, page: int) -> str:
        """About one message per second per channel, as Slack asks (bursts are tolerated,
        sustained fan-out into one channel is not), within the workspace-wide rate."""
        async with self._pacer.slot(channel):
            response = await self._client.chat_postMessage(
                channel=channel,
                text=payload["text"],
                blocks=payload["blocks"],
                unfurl_links=False,
                unfurl_media=False,
                metadata={
                    "event_type": "upward_outbox",
                    "event_payload": {"key": key, "page": page},
                },
            )
        return str(response.get("ts", ""))


def _classify(exc: SlackApiError) -> PermanentDeliveryError | TransientDeliveryError:
    response = exc.response
    error = str(response.get("error", "") if hasattr(response, "get") else "") or "unknown_error"
    status = getattr(response, "status_code", 200)
    if status == 429 or error == "ratelimited":
        retry_after = _retry_after(response)
        return TransientDeliveryError(f"ratelimited (retry after {retry_after:g}s)", retry_after)
    if error in APP_WIDE_ERRORS:
        return TransientDeliveryError(
            f"{error}: check SLACK_BOT_TOKEN and the app's scopes", APP_WIDE_WAIT
        )
    if error in PERMANENT_ERRORS:
        return PermanentDeliveryError(error)
    return TransientDeliveryError(f"{error} (HTTP {status})")


def _retry_after(response: object) -> float:
    headers = getattr(response, "headers", {}) or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(1.0, float(value[0] if isinstance(value, list) else value))
            except ValueError:
                break
    return 30.0
