"""Configuration from the environment (and `.env`), validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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

    @field_validator("encryption_keys", "admins", "admin_channels", mode="before")
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

    def is_admin(self, platform: str, tenant: str, user_id: str) -> bool:
        return f"{platform}:{tenant}:{user_id}" in self.admins or f"{platform}:{user_id}" in (
            self.admins
        )


def load_settings(**overrides: object) -> Settings:
    """Settings or a ConfigurationError that names each bad variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(f"{_variable(err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigurationError(f"Invalid settings: {problems}") from None
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
