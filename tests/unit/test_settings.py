"""Settings from the environment, and the encryption key the app builds from them."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.app import build_cipher
from bot.errors import ConfigurationError
from bot.events import Actor
from bot.settings import load_settings
from flows.context import Policy
from storage.db import Database


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No UPWARD_* / DATABASE_URL from the caller's shell, and no `.env` in the cwd."""
    for name in list(os.environ):
        if name.upper().startswith("UPWARD_") or name.upper() == "DATABASE_URL":
            monkeypatch.delenv(name)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    yield


# --- load_settings -----------------------------------------------------------------------------


def test_defaults() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///upward.db"
    assert settings.encryption_keys == []
    assert settings.key_file is None
    assert settings.admins == []
    assert settings.admin_channels == []
    assert (settings.work_start_hour, settings.work_end_hour) == (9, 17)
    assert settings.default_timezone == "UTC"
    assert settings.tick_minutes == 15


def test_comma_separated_variables_are_split_and_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("UPWARD_ADMINS", "slack:T1:U1, console:acme:boss ,,teams:U9")
    monkeypatch.setenv("UPWARD_ADMIN_CHANNELS", "slack:T1:C42")
    monkeypatch.setenv("UPWARD_ENCRYPTION_KEYS", f" {first} , {second} ")
    settings = load_settings()
    assert settings.admins == ["slack:T1:U1", "console:acme:boss", "teams:U9"]
    assert settings.admin_channels == ["slack:T1:C42"]
    assert settings.encryption_keys == [first, second]
    policy = Policy(admins=frozenset(settings.all_admins()))
    assert policy.is_admin(Actor(platform="slack", tenant="T1", user_id="U1"))
    assert policy.is_admin(Actor(platform="teams", tenant="any-tenant", user_id="U9"))
    assert not policy.is_admin(Actor(platform="slack", tenant="T1", user_id="U2"))


def test_empty_list_variable_means_empty_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPWARD_ADMINS", "")
    assert load_settings().admins == []


def test_database_url_has_no_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql+asyncpg://upward:secret@db.example/upward"
    monkeypatch.setenv("DATABASE_URL", url)
    assert load_settings().database_url == url


def test_other_variables_use_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPWARD_WORK_START_HOUR", "8")
    monkeypatch.setenv("UPWARD_WORK_END_HOUR", "16")
    monkeypatch.setenv("UPWARD_DEFAULT_TIMEZONE", "Europe/London")
    monkeypatch.setenv("UPWARD_KEY_FILE", "/var/lib/upward/secret.key")
    settings = load_settings()
    assert (settings.work_start_hour, settings.work_end_hour) == (8, 16)
    assert settings.default_timezone == "Europe/London"
    assert settings.key_file == Path("/var/lib/upward/secret.key")


def test_overrides_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPWARD_TICK_MINUTES", "5")
    assert load_settings(tick_minutes=30).tick_minutes == 30


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("UPWARD_WORK_START_HOUR", "nine"),
        ("UPWARD_WORK_START_HOUR", "24"),
        ("UPWARD_WORK_END_HOUR", "25"),
        ("UPWARD_WORK_END_HOUR", "0"),
        ("UPWARD_TICK_MINUTES", "0"),
        ("UPWARD_TICK_MINUTES", "often"),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert variable in str(raised.value)


def test_every_bad_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPWARD_WORK_START_HOUR", "nine")
    monkeypatch.setenv("UPWARD_TICK_MINUTES", "0")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert "UPWARD_WORK_START_HOUR" in str(raised.value)
    assert "UPWARD_TICK_MINUTES" in str(raised.value)


@pytest.mark.parametrize(("start", "end"), [("17", "9"), ("9", "9"), ("12", "11")])
def test_end_hour_not_after_start_hour_is_refused(
    monkeypatch: pytest.MonkeyPatch, start: str, end: str
) -> None:
    monkeypatch.setenv("UPWARD_WORK_START_HOUR", start)
    monkeypatch.setenv("UPWARD_WORK_END_HOUR", end)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert "UPWARD_WORK_END_HOUR" in str(raised.value)
    assert "UPWARD_WORK_START_HOUR" in str(raised.value)


def test_a_full_day_window_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPWARD_WORK_START_HOUR", "0")
    monkeypatch.setenv("UPWARD_WORK_END_HOUR", "24")
    settings = load_settings()
    assert (settings.work_start_hour, settings.work_end_hour) == (0, 24)


# --- build_cipher ---------------------------------------------------------------------------------


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def key_in(path: Path) -> str:
    return path.read_text().strip()


async def test_sqlite_without_keys_creates_a_private_key_file_beside_the_database(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{data / 'upward.db'}")
    db = Database(settings.database_url)
    try:
        cipher = build_cipher(settings, db)
        token = cipher.encrypt("what I said in my check-in", "checkin.note:1:2:1")
    finally:
        await db.dispose()

    key_files = files_under(data)
    assert len(key_files) == 1
    key_file = key_files[0]
    assert key_file.parent.parent == data  # <database dir>/.upward/secret.key
    assert mode_of(key_file) == 0o600
    key = key_in(key_file)
    Fernet(key.encode())  # a real Fernet key

    again = Database(settings.database_url)
    try:
        reused = build_cipher(settings, again)
    finally:
        await again.dispose()
    assert key_in(key_file) == key
    assert reused.decrypt(token, "checkin.note:1:2:1") == "what I said in my check-in"
    assert files_under(data) == [key_file]


async def test_configured_key_file_is_used(tmp_path: Path) -> None:
    key_file = tmp_path / "keys" / "upward.key"
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'upward.db'}", key_file=key_file
    )
    db = Database(settings.database_url)
    try:
        build_cipher(settings, db)
    finally:
        await db.dispose()
    assert files_under(tmp_path / "keys") == [key_file]
    assert mode_of(key_file) == 0o600
    assert [p for p in files_under(tmp_path) if ".upward" in p.parts] == []


async def test_configured_keys_need_no_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("UPWARD_ENCRYPTION_KEYS", key)
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'upward.db'}")
    db = Database(settings.database_url)
    try:
        cipher = build_cipher(settings, db)
    finally:
        await db.dispose()
    sealed = Fernet(key.encode()).decrypt(cipher.encrypt("hi", "row:1").encode())
    assert sealed.endswith(b"row:1\nhi")
    assert [p for p in files_under(tmp_path) if p.suffix == ".key"] == []


async def test_postgresql_without_keys_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://upward:pw@db.invalid:5432/upward")
    settings = load_settings()
    db = Database(settings.database_url)  # builds an engine; connects to nothing
    try:
        with pytest.raises(ConfigurationError, match="UPWARD_ENCRYPTION_KEYS"):
            build_cipher(settings, db)
    finally:
        await db.dispose()
    assert files_under(Path.cwd()) == []
