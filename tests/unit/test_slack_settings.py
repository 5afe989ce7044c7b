"""Slack settings: missing or contradictory values stop start-up with the variable named."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.app import build_app
from bot.errors import ConfigurationError
from bot.server import build_web_app
from bot.settings import load_settings
from tests.fakes.slack_api import FakeSlack

SLACK_VARS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_ADMIN_CHANNEL")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SLACK_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is required"),
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN is missing"),
        (
            {"SLACK_BOT_TOKEN": "xoxp-user", "SLACK_SIGNING_SECRET": "s"},
            "SLACK_BOT_TOKEN must be a bot token",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"},
            "SLACK_APP_TOKEN must be an app-level token",
        ),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "SLACK_ADMIN_CHANNEL": "#admins",
            },
            "SLACK_ADMIN_CHANNEL must be a channel id",
        ),
    ],
)
def test_bad_slack_settings_are_named(
    monkeypatch: pytest.MonkeyPatch, env: dict, named: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=named):
        load_settings()


def settings(tmp_path: Path, **slack: str):  # type: ignore[no-untyped-def]
    return load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'u.db'}",
        encryption_keys=[Fernet.generate_key().decode()],
        **slack,
    )


async def test_http_mode_serves_slack_events(tmp_path: Path) -> None:
    app = build_app(
        settings(
            tmp_path, slack_bot_token="xoxb-1", slack_signing_secret="s", slack_admin_channel="C1"
        )
    )
    assert "slack" in app.adapters
    assert "slack:*:C1" in app.engine.policy.admin_channels
    routes = {r.resource.canonical for r in build_web_app(app).router.routes()}
    assert "/slack/events" in routes and "/healthz" in routes
    await app.close()


async def test_socket_mode_needs_no_public_route(tmp_path: Path) -> None:
    app = build_app(settings(tmp_path, slack_bot_token="xoxb-1", slack_app_token="xapp-1"))
    routes = {r.resource.canonical for r in build_web_app(app).router.routes()}
    assert "/slack/events" not in routes
    await app.close()


async def test_no_slack_settings_no_slack(tmp_path: Path) -> None:
    app = build_app(settings(tmp_path))
    assert app.slack is None and "slack" not in app.adapters
    await app.close()


async def test_a_refused_token_stops_start_up_with_the_variable_named(tmp_path: Path) -> None:
    async with FakeSlack(token="xoxb-right") as slack:
        app = build_app(
            settings(
                tmp_path,
                slack_bot_token="xoxb-wrong",
                slack_signing_secret="s",
                slack_api_url=slack.base_url,
            )
        )
        assert app.slack is not None
        with pytest.raises(
            ConfigurationError, match=r"Slack refused SLACK_BOT_TOKEN \(invalid_auth\)"
        ):
            await app.slack.start()
        await app.close()
