"""Building the Slack edge from plain settings values (the composition root calls this)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.after_ack import AfterAck
from adapters.slack.app import build_bolt_app, events_endpoint
from adapters.slack.deliver import SlackDelivery
from bot.errors import ConfigurationError
from bot.ports import EventHandler

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# On SIGTERM, how long the forms already acked may take to be stored, by default.
AFTER_ACK_WAIT = 20.0


class SharedSessionClient(AsyncWebClient):
    """slack_sdk's client, with one aiohttp session (and its keep-alive connections) for
    every call instead of a new session, and a new connection, per call. The session opens
    on the first call, inside the running loop; bolt's per-request clients borrow it."""

    async def _request(self, *, http_verb: str, api_url: str, req_args: dict) -> dict[str, Any]:
        if self.session is None or self.session.closed:
            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return await super()._request(http_verb=http_verb, api_url=api_url, req_args=req_args)

    async def close(self) -> None:
        if self.session is not None and not self.session.closed:
            await self.session.close()


@dataclass
class SlackEdge:
    client: AsyncWebClient
    delivery: SlackDelivery
    signing_secret: str | None
    app_token: str | None
    bolt: AsyncApp | None = None
    socket: AsyncSocketModeHandler | None = None
    after_ack: AfterAck = field(default_factory=AfterAck)

    def attach(self, engine: EventHandler) -> None:
        self.bolt = build_bolt_app(
            engine=engine,
            client=self.client,
            signing_secret=self.signing_secret,
            after_ack=self.after_ack,
        )

    def mount(self, web_app: web.Application) -> None:
        """HTTP mode: Slack posts to /slack/events. Socket Mode needs no public URL."""
        assert self.bolt is not None, "attach the engine first"
        if self.app_token is None:
            web_app.router.add_post(EVENTS_PATH, events_endpoint(self.bolt, self.signing_secret))

    async def start(self) -> None:
        """Check the token now, not when the first person types /mentoring."""
        try:
            identity = await self.client.auth_test()
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown error")
            raise ConfigurationError(
                f"Slack refused SLACK_BOT_TOKEN ({error}); check the token "
                "(and SLACK_API_URL, if set)"
            ) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ConfigurationError(
                f"Slack's Web API could not be reached ({type(exc).__name__}); check SLACK_API_URL "
                "and the network"
            ) from None
        log.info(
            "connected to Slack team %s as %s", identity.get("team_id"), identity.get("user_id")
        )
        if self.app_token is not None and self.bolt is not None:
            self.socket = AsyncSocketModeHandler(self.bolt, self.app_token)
            await self.socket.connect_async()

    async def stop(self, within: float = AFTER_ACK_WAIT) -> None:
        """No new events; then the forms already acked are stored (up to `within` s)."""
        if self.socket is not None:
            await self.socket.close_async()
        await self.after_ack.drain(within)

    async def close(self) -> None:
        """After the last call: the shared HTTP session's connections."""
        if isinstance(self.client, SharedSessionClient):
            await self.client.close()


def slack_edge(
    *,
    token: str,
    signing_secret: str | None,
    app_token: str | None = None,
    api_url: str | None = None,
    pacing_seconds: float = 1.0,
    workspace_rate: float = 0.0,
) -> SlackEdge:
    base_url = (api_url or AsyncWebClient.BASE_URL).rstrip("/") + "/"
    # Only connection errors are retried in the client: a 429 goes back to the outbox, which
    # holds that destination for Retry-After while others keep flowing.
    client = SharedSessionClient(
        token=token, base_url=base_url, retry_handlers=[AsyncConnectionErrorRetryHandler()]
    )
    return SlackEdge(
        client=client,
        delivery=SlackDelivery(
            client, pacing_seconds=pacing_seconds, workspace_rate=workspace_rate
        ),
        signing_secret=signing_secret,
        app_token=app_token,
    )
