"""Teams with authentication ON: tokens signed by a loopback identity provider (OpenID
metadata + JWKS, like login.botframework.com), checked by botbuilder inside `upward serve`.
A valid token runs the turn; every bad credential is a 401 that runs nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from botframework.connector.auth import (
    AppCredentials,
    ChannelValidation,
    PasswordServiceClientCredentialFactory,
)
from cryptography.fernet import Fernet
from sqlmodel import select

from adapters.teams.signing_keys import fetch_keys_off_the_loop
from bot.app import build_app
from bot.clock import FrozenClock
from bot.server import SCHEDULER, build_web_app
from bot.settings import load_settings
from storage.models import ContactAddress, Person, ProcessedEvent
from tests.e2e.teams_world import TENANT, Member, TeamsWorld, settle
from tests.fakes.teams_auth import FakeIdentity
from tests.fakes.teams_connector import FakeConnector

APP_ID = "5f0c8a4e-3b9d-4c1e-9a7f-2d6b8e1c0a93"
OUTBOUND = "token-from-entra"
AMY = Member("Amy", "Mentor Amy", 10)


class FixedToken(AppCredentials):
    """What MSAL would fetch from Entra ID, which a test can't reach."""

    def get_access_token(self, force_refresh: bool = False) -> str:
        return OUTBOUND


class FixedTokenCredentials(PasswordServiceClientCredentialFactory):
    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Any:
        assert await self.is_valid_app_id(app_id)
        return FixedToken(app_id, oauth_scope=oauth_scope)


@pytest.fixture
def idp(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIdentity]:
    """The production authentication path (public cloud), with the signing keys fetched
    from the loopback identity provider through botbuilder's own override."""
    with FakeIdentity() as identity:
        monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", identity.metadata_url)
        yield identity


@pytest.fixture
async def world(tmp_path: Path, idp: FakeIdentity) -> AsyncIterator[TeamsWorld]:
    async with FakeConnector(expect_token=OUTBOUND) as connector:
        settings = load_settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'upward.db'}",
            encryption_keys=[Fernet.generate_key().decode()],
            microsoft_app_id=APP_ID,
            microsoft_app_password="not-used",
            microsoft_app_tenant_id=TENANT,
            microsoft_app_type="SingleTenant",
            teams_pacing_seconds=0,
        )
        app = build_app(
            settings,
            clock=FrozenClock(datetime(2027, 1, 4, 9, tzinfo=UTC)),
            teams_credentials=FixedTokenCredentials(APP_ID, "not-used", TENANT),
        )
        await app.db.create_all()
        web_app = build_web_app(app)
        web_app.on_cleanup.clear()
        async with TestClient(TestServer(web_app)) as client:
            yield TeamsWorld(connector, client, app, app.engine.clock)  # type: ignore[arg-type]
            web_app[SCHEDULER].shutdown(wait=False)
        await settle()
        await app.close()


async def nothing_ran(world: TeamsWorld) -> bool:
    async with world.app.db.session() as s:
        stored = [
            *(await s.exec(select(ContactAddress))).all(),
            *(await s.exec(select(Person))).all(),
            *(await s.exec(select(ProcessedEvent))).all(),
        ]
    return stored == [] and world.connector.received == []


async def test_a_valid_token_runs_the_turn_and_replies_with_the_bots_own_token(
    world: TeamsWorld, idp: FakeIdentity
) -> None:
    assert world.app.teams is not None  # what production runs, not a test-only configuration
    assert type(world.app.teams.auth._inner).__name__ == "_PublicCloudBotFrameworkAuthentication"
    activity = world.activity(AMY, text="help")
    token = idp.token(audience=APP_ID, service_url=activity["serviceUrl"])
    response = await world.post(activity, headers={"Authorization": f"Bearer {token}"})
    assert response.status in (200, 201), await response.text()
    [reply] = world.connector.posted(AMY.chat)
    assert reply.headers["Authorization"] == f"Bearer {OUTBOUND}"
    assert "join" in world.texts_to(AMY.chat)


async def test_fetching_the_signing_keys_never_stalls_the_other_requests(
    world: TeamsWorld, idp: FakeIdentity
) -> None:
    """botbuilder would fetch the keys with blocking calls; in `upward serve` they don't
    block, so a slow identity provider delays only the Teams request waiting on it (not
    Slack's acks, nor the health checks)."""
    idp.delay = 0.8  # per document: the metadata, then the keys
    activity = world.activity(AMY, text="help")
    token = idp.token(audience=APP_ID, service_url=activity["serviceUrl"])
    started = time.monotonic()
    teams = asyncio.ensure_future(
        world.post(activity, headers={"Authorization": f"Bearer {token}"})
    )
    await asyncio.sleep(0.1)  # the Teams request is waiting for the keys now

    health = await world.client.get("/healthz")
    answered_after = time.monotonic() - started

    assert health.status == 200
    assert not teams.done()
    assert answered_after < 1.2  # not after the 1.6 s of the keys' fetch
    assert idp.fetched[:1] == ["/v1/.well-known/openidconfiguration"]
    response = await teams
    assert response.status in (200, 201), await response.text()
    assert "join" in world.texts_to(AMY.chat)


async def test_signing_keys_that_never_come_refuse_the_request_in_time(
    world: TeamsWorld, idp: FakeIdentity
) -> None:
    """An identity provider that doesn't answer: the request is refused (401, which the Bot
    Connector retries) once the fetch's time is up, instead of waiting for ever; once the
    provider answers again, so does the bot."""
    fetch_keys_off_the_loop(timeout=0.2)
    try:
        idp.delay = 5.0
        activity = world.activity(AMY, text="help")
        token = idp.token(audience=APP_ID, service_url=activity["serviceUrl"])
        started = time.monotonic()
        response = await world.post(activity, headers={"Authorization": f"Bearer {token}"})
        assert response.status == 401
        assert time.monotonic() - started < 3.0
        assert await nothing_ran(world)

        idp.delay = 0.0
        response = await world.post(activity, headers={"Authorization": f"Bearer {token}"})
        assert response.status in (200, 201), await response.text()
        assert "join" in world.texts_to(AMY.chat)
    finally:
        fetch_keys_off_the_loop()


BAD_CREDENTIALS = {
    "missing header": lambda idp, url: None,
    "not a bearer token": lambda idp, url: "Basic dXNlcjpwYXNz",
    "garbage": lambda idp, url: "Bearer garbage",
    "three dots": lambda idp, url: "Bearer a.b.c",
    "expired": lambda idp, url: (
        "Bearer " + idp.token(audience=APP_ID, service_url=url, expires_in=-3600)
    ),
    "wrong signing key": lambda idp, url: (
        "Bearer " + idp.token(audience=APP_ID, service_url=url, key="other")
    ),
    "unknown key id": lambda idp, url: (
        "Bearer " + idp.token(audience=APP_ID, service_url=url, kid="nobody-knows")
    ),
    "wrong audience": lambda idp, url: (
        "Bearer " + idp.token(audience="another-bot", service_url=url)
    ),
    "wrong issuer": lambda idp, url: (
        "Bearer " + idp.token(audience=APP_ID, service_url=url, issuer="https://evil.example")
    ),
    "another service url": lambda idp, url: (
        "Bearer " + idp.token(audience=APP_ID, service_url="https://smba.evil.example/")
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CREDENTIALS))
async def test_every_bad_credential_is_a_401_that_runs_nothing(
    world: TeamsWorld, idp: FakeIdentity, case: str
) -> None:
    activity = world.activity(AMY, text="join")
    header = BAD_CREDENTIALS[case](idp, activity["serviceUrl"])
    headers = {"Content-Type": "application/json"} | ({"Authorization": header} if header else {})
    response = await world.client.post("/api/messages", json=activity, headers=headers)
    assert response.status == 401
    assert await nothing_ran(world)


async def test_an_install_with_a_forged_token_stores_no_reference(
    world: TeamsWorld, idp: FakeIdentity
) -> None:
    activity = world.activity(AMY, "installationUpdate", action="add")
    forged = idp.token(audience=APP_ID, service_url=activity["serviceUrl"], key="other")
    response = await world.client.post(
        "/api/messages",
        json=activity,
        headers={"Authorization": f"Bearer {forged}", "Content-Type": "application/json"},
    )
    assert response.status == 401
    assert await nothing_ran(world)
