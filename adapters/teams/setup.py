"""Building the Teams edge from plain settings values (the composition root calls this).

Every botbuilder import stays inside adapters/teams/: the Bot Framework Python SDK is
archived upstream, and moving to the Microsoft 365 Agents SDK should touch this folder only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botframework.connector.auth import ServiceClientCredentialsFactory

from adapters.after_ack import AfterAck
from adapters.teams.app import UpwardTeamsBot, messages_endpoint, on_turn_error
from adapters.teams.deliver import TeamsDelivery
from adapters.teams.signing_keys import fetch_keys_off_the_loop
from bot.ports import ContactBook, EventHandler

log = logging.getLogger(__name__)
MESSAGES_PATH = "/api/messages"
AFTER_ACK_WAIT = 20.0  # on SIGTERM, how long accepted forms may take to be stored


@dataclass
class _BotConfig:
    """The attribute names botbuilder's configuration objects read."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TYPE: str
    APP_TENANTID: str


@dataclass
class TeamsEdge:
    adapter: CloudAdapter
    auth: Any
    delivery: TeamsDelivery
    contacts: ContactBook
    app_id: str
    tenants: frozenset[str] = frozenset()  # empty: any (local development only)
    bot: UpwardTeamsBot | None = field(default=None)
    after_ack: AfterAck = field(default_factory=AfterAck)

    @property
    def auth_required(self) -> bool:
        return bool(self.app_id)

    def attach(self, engine: EventHandler) -> None:
        self.bot = UpwardTeamsBot(
            engine,
            self.contacts,
            app_id=self.app_id,
            tenants=self.tenants,
            after_ack=self.after_ack,
        )

    async def stop(self, within: float = AFTER_ACK_WAIT) -> None:
        """The forms already accepted are stored (up to `within` s) before the database
        closes."""
        await self.after_ack.drain(within)

    def mount(self, web_app: web.Application) -> None:
        assert self.bot is not None, "attach the engine first"
        web_app.router.add_post(
            MESSAGES_PATH,
            messages_endpoint(self.adapter, self.auth, self.bot, auth_required=self.auth_required),
        )
        if not self.auth_required:
            log.warning("Teams authentication is OFF (UPWARD_TEAMS_LOCAL_DEV): local testing only")


def teams_edge(
    *,
    app_id: str,
    password: str | None,
    tenant_id: str | None,
    app_type: str,
    contacts: ContactBook,
    credentials_factory: ServiceClientCredentialsFactory | None = None,
    pacing_seconds: float = 0.5,
    overall_rate: float = 30.0,
) -> TeamsEdge:
    config = _BotConfig(
        APP_ID=app_id,
        APP_PASSWORD=password or "",
        # No app id (local development): botbuilder's password factory, with auth off.
        APP_TYPE=app_type if app_id else "MultiTenant",
        APP_TENANTID=tenant_id or "",
    )
    fetch_keys_off_the_loop()
    auth = ConfigurationBotFrameworkAuthentication(config, credentials_factory=credentials_factory)
    adapter = CloudAdapter(auth)
    adapter.on_turn_error = on_turn_error
    return TeamsEdge(
        adapter=adapter,
        auth=auth,
        delivery=TeamsDelivery(
            adapter,
            app_id=app_id,
            contacts=contacts,
            pacing_seconds=pacing_seconds,
            overall_rate=overall_rate,
        ),
        contacts=contacts,
        app_id=app_id,
        tenants=frozenset({tenant_id}) if tenant_id else frozenset(),
    )
