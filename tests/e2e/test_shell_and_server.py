"""`upward shell` driven through its stdin, and the server's health check and scheduler."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.server import SCHEDULER, build_web_app
from tests.e2e.teams_world import settle
from tests.e2e.test_cli import REPO, upward


def test_shell_asks_forms_field_by_field_and_presses_numbered_buttons(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'u.db'}"}
    upward("db", "upgrade", cwd=tmp_path, env=env)
    upward("program", "load", str(REPO / "flows/data/sample_program.yaml"), cwd=tmp_path, env=env)
    script = "\n".join(
        [
            "@alice /mentoring join",
            "1",  # role: mentor
            "1,6",  # offers: AI tools, Hybrid work
            "8",  # wants: Career growth
            "",  # off-limits: none
            "",  # avoid: nobody
            "Mars/Base",  # a bad time zone ...
            "no",  # ... and no agreement yet
            "Europe/London",  # asked again: only the fields that were wrong
            "yes",
            "@alice status",
            "@alice end",
            "@alice 7",  # there is no button 7: the shell says so and carries on
            "tick tomorrow",
            "tick 2027-02-01T09:00",
            "quit",
        ]
    )
    result = upward("shell", cwd=tmp_path, env=env, stdin=script)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Your role" in out and "1. Mentor" in out
    assert "! Use a time zone name like Europe/London" in out
    assert "! Please read and accept the agreement" in out
    assert "Welcome to Upward pilot! You're in." in out
    assert "you're a mentor" in out
    assert "You're not in a pair right now" in out
    assert "@alice has no button 7" in out
    assert "Give the moment as ISO-8601" in out
    assert "tick at 2027-02-01 09:00 UTC" in out


async def test_server_health_check_and_scheduled_tick(app) -> None:
    web_app = build_web_app(app)
    web_app.on_cleanup.clear()  # the test fixture closes the app itself
    async with TestClient(TestServer(web_app)) as client:
        response = await client.get("/healthz")
        assert response.status == 200 and (await response.json()) == {"ok": True}
        privacy = await (await client.get("/privacy")).text()  # the Teams app links here
        assert "never your check-in answers" in privacy
        assert "No-fault exit" in await (await client.get("/terms")).text()
        jobs = {job.id: job for job in web_app[SCHEDULER].get_jobs()}
        assert set(jobs) == {"tick", "dispatch"}
        assert jobs["tick"].coalesce and jobs["tick"].misfire_grace_time == 600
        await settle()  # the start-up tick, before the fixture closes the database under it
        web_app[SCHEDULER].shutdown(wait=False)


async def test_readiness_needs_a_reachable_database_at_the_latest_schema(tmp_path: Path) -> None:
    from bot.app import build_app
    from bot.settings import load_settings
    from storage.migrate import upgrade_async

    url = f"sqlite+aiosqlite:///{tmp_path / 'ready.db'}"
    app = build_app(load_settings(database_url=url))
    web_app = build_web_app(app)
    async with TestClient(TestServer(web_app)) as client:  # its cleanup closes the app
        await settle()  # the start-up tick, which finds no tables yet
        response = await client.get("/readyz")
        assert response.status == 503
        assert "run `upward db upgrade`" in (await response.json())["database"]
        await upgrade_async(url)
        response = await client.get("/readyz")
        assert response.status == 200 and (await response.json())["ok"] is True
        assert (await client.get("/healthz")).status == 200


def test_a_second_server_on_the_same_sqlite_file_is_refused(tmp_path: Path) -> None:
    import pytest

    from bot.errors import ConfigurationError
    from bot.server import hold_sqlite_lock

    database = tmp_path / "upward.db"
    first = hold_sqlite_lock(database)
    with pytest.raises(ConfigurationError, match="SQLite supports one server"):
        hold_sqlite_lock(database)
    first.close()  # the first server stopped (or died): the next one may start
    hold_sqlite_lock(database).close()
