"""Teams settings: an empty app id turns authentication off, so it needs an explicit flag;
missing or contradictory values stop start-up with the variable named."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.app import build_app
from bot.errors import ConfigurationError
from bot.server import build_web_app
from bot.settings import load_settings

APP_ID = "5f0c8a4e-3b9d-4c1e-9a7f-2d6b8e1c0a93"
TEAMS_VARS = (
    "MICROSOFT_APP_ID",
    "MICROSOFT_APP_PASSWORD",
    "MICROSOFT_APP_TENANT_ID",
    "MICROSOFT_APP_TYPE",
    "UPWARD_TEAMS_LOCAL_DEV",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TEAMS_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"MICROSOFT_APP_ID": ""}, "turns authentication off"),
        ({"MICROSOFT_APP_PASSWORD": "p"}, "MICROSOFT_APP_ID is missing"),
        ({"MICROSOFT_APP_ID": "not-a-guid", "MICROSOFT_APP_PASSWORD": "p"}, "a GUID"),
        (
            {"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": "p"},
            "MICROSOFT_APP_TENANT_ID is required",
        ),
        (
            {"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_TENANT_ID": "t"},
            "MICROSOFT_APP_PASSWORD is required",
        ),
        (
            {"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_TYPE": "Anything"},
            "MICROSOFT_APP_TYPE must be",
        ),
        (
            {
                "MICROSOFT_APP_ID": APP_ID,
                "MICROSOFT_APP_PASSWORD": "p",
                "MICROSOFT_APP_TENANT_ID": "t",
                "UPWARD_TEAMS_LOCAL_DEV": "true",
            },
            "UPWARD_TEAMS_LOCAL_DEV is only for",
        ),
    ],
)
def test_bad_teams_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=named):
        load_settings()


def test_a_user_assigned_identity_needs_no_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROSOFT_APP_ID", APP_ID)
    monkeypatch.setenv("MICROSOFT_APP_TENANT_ID", "t")
    monkeypatch.setenv("MICROSOFT_APP_TYPE", "UserAssignedMSI")
    assert load_settings().teams_enabled


def test_no_teams_settings_means_no_teams_endpoint(tmp_path: Path) -> None:
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'u.db'}",
        encryption_keys=[Fernet.generate_key().decode()],
    )
    app = build_app(settings)
    routes = {r.resource.canonical for r in build_web_app(app).router.routes()}  # type: ignore[union-attr]
    assert "/api/messages" not in routes and app.teams is None


def test_a_configured_bot_serves_api_messages(tmp_path: Path) -> None:
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'u.db'}",
        encryption_keys=[Fernet.generate_key().decode()],
        microsoft_app_id=APP_ID,
        microsoft_app_password="p",
        microsoft_app_tenant_id="t",
    )
    app = build_app(settings)
    routes = {r.resource.canonical for r in build_web_app(app).router.routes()}  # type: ignore[union-attr]
    assert "/api/messages" in routes
    assert app.teams is not None and app.teams.auth_required
