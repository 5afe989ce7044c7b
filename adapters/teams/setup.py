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
from botbuilder.schema import CallerIdConstants
from botframework.connector.auth import AuthenticationConstants, ServiceClientCredentialsFactory

from adapters.teams.app import UpwardTeamsBot, messages_endpoint
from adapters.teams.deliver import TeamsDelivery
from bot.ports import ContactBook, EventHandler

log = logging.getLogger(__name__)
MESSAGES_PATH = "/api/messages"


@dataclass
class _BotConfig:
    """The attribute names botbuilder's configuration objects read."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TYPE: str
    APP_TENANTID: str


def _public_cloud_with_keys_from(metadata_url: str) -> dict[str, str]:
    """Once one endpoint is configured, botbuilder takes every endpoint from the
    configuration: the public cloud's values, with the signing keys published elsewhere."""
    constants = AuthenticationConstants
    return {
        "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": metadata_url,
        "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": constants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER,
        "TO_CHANNEL_FROM_BOT_LOGIN_URL": constants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX,
        "TO_CHANNEL_FROM_BOT_OAUTH_SCOPE": constants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE,
        "TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL": (
            constants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL
        ),
        "OAUTH_URL": constants.OAUTH_URL,
        "CALLER_ID": CallerIdConstants.public_azure_channel,
    }


@dataclass
class TeamsEdge:
    adapter: CloudAdapter
    auth: Any
    delivery: TeamsDelivery
    contacts: ContactBook
    app_id: str
    bot: UpwardTeamsBot | None = field(default=None)

    @property
    def auth_required(self) -> bool:
        return bool(self.app_id)

    def attach(self, engine: EventHandler) -> None:
        self.bot = UpwardTeamsBot(engine, self.contacts, app_id=self.app_id)

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
    openid_metadata_url: str | None = None,
    credentials_factory: ServiceClientCredentialsFactory | None = None,
    pacing_seconds: float = 0.5,
) -> TeamsEdge:
    config = _BotConfig(
        APP_ID=app_id,
        APP_PASSWORD=password or "",
        # No app id (local development): botbuilder's password factory, with auth off.
        APP_TYPE=app_type if app_id else "MultiTenant",
        APP_TENANTID=tenant_id or "",
    )
    if openid_metadata_url:
        for name, value in _public_cloud_with_keys_from(openid_metadata_url).items():
            setattr(config, name, value)
    auth = ConfigurationBotFrameworkAuthentication(config, credentials_factory=credentials_factory)
    adapter = CloudAdapter(auth)
    return TeamsEdge(
        adapter=adapter,
        auth=auth,
        delivery=TeamsDelivery(
            adapter, app_id=app_id, contacts=contacts, pacing_seconds=pacing_seconds
        ),
        contacts=contacts,
        app_id=app_id,
    )
