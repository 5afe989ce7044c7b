"""Configuration from the environment (and `.env`), validated at start-up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigurationError


def _split(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="UPWARD_", env_file=".env", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///upward.db",
        validation_alias="DATABASE_URL",
        description="SQLAlchemy async URL; PostgreSQL for production.",
    )
    encryption_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Fernet keys, newest first; empty = a key file beside the SQLite database.",
    )
    key_file: Path | None = None
    admins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="platform:tenant:user_id (or platform:user_id) of admins"
    )
    admin_channels: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="platform:tenant:channel_id where digests are posted"
    )
    work_start_hour: int = Field(default=9, ge=0, le=23)
    work_end_hour: int = Field(default=17, ge=1, le=24)
    default_timezone: str = "UTC"
    tick_minutes: int = Field(default=15, ge=1)
    log_format: Literal["text", "json"] = "text"
    outbox_lease_seconds: int = Field(
        default=300, ge=1, description="How long a dispatcher holds a message it is sending."
    )
    outbox_in_flight: int = Field(
        default=4, ge=1, le=32, description="Destinations one dispatcher sends to at once."
    )
    retention_days: int = Field(
        default=90,
        ge=1,
        description="Check-in and review text is purged this long after a pair ends.",
    )

    slack_bot_token: str | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str | None = Field(default=None, validation_alias="SLACK_API_URL")
    slack_admin_channel: str | None = Field(default=None, validation_alias="SLACK_ADMIN_CHANNEL")
    slack_admin_users: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="SLACK_ADMIN_USERS"
    )
    slack_pacing_seconds: float = Field(default=1.0, ge=0, le=10)
    slack_workspace_rate: float = Field(
        default=20.0, ge=0, description="messages per second to Slack in all (0: no limit)"
    )

    microsoft_app_id: str | None = Field(default=None, validation_alias="MICROSOFT_APP_ID")
    microsoft_app_password: str | None = Field(
        default=None, validation_alias="MICROSOFT_APP_PASSWORD"
    )
    microsoft_app_tenant_id: str | None = Field(
        default=None, validation_alias="MICROSOFT_APP_TENANT_ID"
    )
    microsoft_app_type: str = Field(default="SingleTenant", validation_alias="MICROSOFT_APP_TYPE")
    teams_local_dev: bool = Field(
        default=False,
        description="Run the Teams endpoint with no app id, i.e. with authentication OFF. "
        "Only for local testing (e.g. the Bot Framework Emulator).",
    )
    teams_pacing_seconds: float = Field(default=0.5, ge=0, le=10)
    teams_rate: float = Field(
        default=30.0, ge=0, description="messages per second to Teams in all (0: no limit)"
    )

    @field_validator(
        "encryption_keys", "admins", "admin_channels", "slack_admin_users", mode="before"
    )
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split(value)

    @field_validator("admins")
    @classmethod
    def _admin_ids(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry.count(":") not in (1, 2) or not all(entry.split(":")):
                raise ValueError(f"{entry!r} should be platform:tenant:user_id or platform:user_id")
        return value

    @field_validator("admin_channels")
    @classmethod
    def _channel_ids(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry.count(":") != 2 or not all(entry.split(":")):
                raise ValueError(f"{entry!r} should be platform:tenant:channel_id")
        return value

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token)

    @property
    def teams_enabled(self) -> bool:
        return bool(self.microsoft_app_id) or self.teams_local_dev

    def all_admins(self) -> list[str]:
        return self.admins + [f"slack:{user}" for user in self.slack_admin_users]

    def all_admin_channels(self) -> list[str]:
        # The Slack team id is not known before auth.test; the adapter doesn't need it.
        slack = [f"slack:*:{self.slack_admin_channel}"] if self.slack_admin_channel else []
        return self.admin_channels + slack


def load_settings(**overrides: object) -> Settings:
    """Settings or a ConfigurationError that names each bad variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(f"{_variable(err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigurationError(f"Invalid settings: {problems}") from None
    problems = _slack_problems(settings)
    if problems:
        raise ConfigurationError("Invalid Slack settings: " + "; ".join(problems))
    problems = _teams_problems(settings)
    if problems:
        raise ConfigurationError("Invalid Teams settings: " + "; ".join(problems))
    if settings.work_end_hour <= settings.work_start_hour:
        raise ConfigurationError(
            "UPWARD_WORK_END_HOUR must be later than UPWARD_WORK_START_HOUR "
            f"(got {settings.work_start_hour}-{settings.work_end_hour})"
        )
    return settings


def _variable(location: tuple[object, ...]) -> str:
    """The environment variable behind a settings field (DATABASE_URL has no prefix)."""
    name = str(location[0]) if location else "?"
    return "DATABASE_URL" if name in ("database_url", "DATABASE_URL") else f"UPWARD_{name.upper()}"


def _slack_problems(settings: Settings) -> list[str]:
    """Missing or contradictory Slack settings, each naming its variable."""
    problems = []
    token, secret, app_token = (
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
    )
    if token is None:
        others = [
            name
            for name, value in (("SLACK_SIGNING_SECRET", secret), ("SLACK_APP_TOKEN", app_token))
            if value
        ]
        if others:
            problems.append(f"{' and '.join(others)} set but SLACK_BOT_TOKEN is missing")
        return problems
    if not token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN must be a bot token (xoxb-…)")
    if app_token is not None and not app_token.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN must be an app-level token (xapp-…) for Socket Mode")
    if app_token is None and not secret:
        problems.append(
            "SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)"
        )
    odd = [u for u in settings.slack_admin_users if not (u[:1] in ("U", "W") and u.isalnum())]
    if odd:
        problems.append(
            f"SLACK_ADMIN_USERS must be Slack user ids like U0123ABCD, not {', '.join(odd)}"
        )
    if settings.slack_admin_channel and settings.slack_admin_channel[:1] not in ("C", "G"):
        problems.append("SLACK_ADMIN_CHANNEL must be a channel id like C0123ABCD, not a name")
    return problems


APP_TYPES = ("SingleTenant", "UserAssignedMSI", "MultiTenant")
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def _teams_problems(settings: Settings) -> list[str]:
    """An empty app id switches Bot Framework authentication off, so it is refused unless
    local development is asked for by name."""
    app_id, password, tenant = (
        settings.microsoft_app_id,
        settings.microsoft_app_password,
        settings.microsoft_app_tenant_id,
    )
    if not app_id:
        if settings.teams_local_dev:
            return []
        if app_id == "":
            return [
                "MICROSOFT_APP_ID is empty, which turns authentication off: set the bot's app "
                "id, or UPWARD_TEAMS_LOCAL_DEV=true for local testing only"
            ]
        others = [
            n
            for n, v in (("MICROSOFT_APP_PASSWORD", password), ("MICROSOFT_APP_TENANT_ID", tenant))
            if v
        ]
        return [f"{' and '.join(others)} set but MICROSOFT_APP_ID is missing"] if others else []
    problems = []
    if settings.teams_local_dev:
        problems.append("UPWARD_TEAMS_LOCAL_DEV is only for running without MICROSOFT_APP_ID")
    if not GUID.match(app_id):
        problems.append("MICROSOFT_APP_ID must be the bot's app (client) id, a GUID")
    kind = settings.microsoft_app_type
    if kind not in APP_TYPES:
        problems.append(f"MICROSOFT_APP_TYPE must be SingleTenant or UserAssignedMSI, not {kind!r}")
    if kind in ("SingleTenant", "UserAssignedMSI") and not tenant:
        problems.append(f"MICROSOFT_APP_TENANT_ID is required for a {kind} bot")
    if kind in ("SingleTenant", "MultiTenant") and not password:
        problems.append(f"MICROSOFT_APP_PASSWORD is required for a {kind} bot")
    return problems
