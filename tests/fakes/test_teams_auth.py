"""The identity fake, checked with botbuilder's own inbound JWT validation (auth ON)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount

from tests.fakes.teams_auth import BOT_FRAMEWORK_ISSUER, FakeIdentity

APP_ID = "app-id"
SERVICE_URL = "http://127.0.0.1:9/"


@pytest.fixture
def idp() -> Iterator[FakeIdentity]:
    with FakeIdentity() as identity:
        yield identity


def config(idp: FakeIdentity, **overrides: Any) -> SimpleNamespace:
    settings: dict[str, Any] = {
        "APP_ID": APP_ID,
        "APP_PASSWORD": "x",
        "APP_TYPE": "SingleTenant",
        "APP_TENANTID": "tenant-1",
        "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": idp.metadata_url,
        # Needed as soon as any TO_* option is set (see tests.fakes.teams_auth).
        "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": BOT_FRAMEWORK_ISSUER,
    }
    settings.update(overrides)
    return SimpleNamespace(**settings)


def activity(channel_id: str = "msteams") -> Activity:
    return Activity(
        type="message",
        channel_id=channel_id,
        service_url=SERVICE_URL,
        text="hi",
        from_property=ChannelAccount(id="29:alice"),
        recipient=ChannelAccount(id="28:bot"),
        conversation=ConversationAccount(id="a:1xyz"),
    )


async def authenticate(idp: FakeIdentity, token: str, **overrides: Any) -> Any:
    auth = ConfigurationBotFrameworkAuthentication(config(idp, **overrides))
    return await auth.authenticate_request(activity(), f"Bearer {token}")


async def test_valid_token_is_accepted(idp: FakeIdentity) -> None:
    result = await authenticate(idp, idp.token(audience=APP_ID, service_url=SERVICE_URL))

    claims = result.claims_identity.claims
    assert claims["aud"] == APP_ID
    assert claims["serviceurl"] == SERVICE_URL
    assert idp.fetched == [
        "/v1/.well-known/openidconfiguration",
        "/v1/.well-known/keys",
    ]


# What botbuilder raises differs by failure, and only some are PermissionError: the bot must map
# every exception from authentication to 401.
@pytest.mark.parametrize(
    ("token_args", "error"),
    [
        pytest.param({"expires_in": -3600}, jwt.ExpiredSignatureError, id="expired"),
        pytest.param({"key": "other"}, jwt.InvalidSignatureError, id="wrong-key"),
        pytest.param({"audience": "someone-else"}, PermissionError, id="wrong-audience"),
        pytest.param({"issuer": "https://evil.example.com"}, PermissionError, id="wrong-issuer"),
        pytest.param({"service_url": "http://127.0.0.1:10/"}, PermissionError, id="wrong-url"),
        pytest.param({"kid": "unknown-kid"}, IndexError, id="unknown-kid"),
    ],
)
async def test_bad_tokens_are_refused(
    idp: FakeIdentity, token_args: dict[str, Any], error: type[Exception]
) -> None:
    args: dict[str, Any] = {"audience": APP_ID, "service_url": SERVICE_URL, **token_args}
    with pytest.raises(error):
        await authenticate(idp, idp.token(**args))


async def test_garbage_is_refused(idp: FakeIdentity) -> None:
    with pytest.raises(jwt.DecodeError):
        await authenticate(idp, "garbage")


async def test_endorsement_must_match_channel() -> None:
    with FakeIdentity(endorsements=["slack"]) as idp:
        token = idp.token(audience=APP_ID, service_url=SERVICE_URL)
        with pytest.raises(Exception, match="Could not validate endorsement key"):
            await authenticate(idp, token)


async def test_issuer_setting_is_required_with_custom_metadata(idp: FakeIdentity) -> None:
    token = idp.token(audience=APP_ID, service_url=SERVICE_URL)
    with pytest.raises(PermissionError):
        await authenticate(idp, token, TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=None)
