"""Socket Mode: no public URL; Slack pushes envelopes over a websocket that the app opened."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

from cryptography.fernet import Fernet

from bot.app import build_app
from bot.settings import load_settings
from flows.programs import SAMPLE_PROGRAM, read_program_file, save_program
from tests.e2e.slack_world import TEAM, until
from tests.fakes.slack_api import FakeSlack, slash_command_body


async def test_a_slash_command_over_socket_mode(tmp_path: Path) -> None:
    async with FakeSlack(team_id=TEAM, token="xoxb-test") as slack:
        slack.add_user("U0AMY", "amy", "Amy")
        settings = load_settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'u.db'}",
            encryption_keys=[Fernet.generate_key().decode()],
            slack_bot_token="xoxb-test",
            slack_app_token=slack.app_token,
            slack_api_url=slack.base_url,
        )
        app = build_app(settings)
        await app.db.create_all()
        await app.engine.run(lambda ctx: save_program(ctx, read_program_file(SAMPLE_PROGRAM)))
        assert app.slack is not None
        await app.slack.start()  # checks the token, then opens the websocket
        try:
            await until(lambda: bool(slack.sockets))
            body = slash_command_body(
                text="help",
                user_id="U0AMY",
                team_id=TEAM,
                trigger_id="1.1.socket",
                response_url=slack.response_url("s1"),
            )
            await slack.send_envelope("slash_commands", dict(parse_qsl(body)), "env-1")
            await until(lambda: any(a.get("envelope_id") == "env-1" for a in slack.socket_acks))
            await until(lambda: bool(slack.responses("s1")))
            assert "/mentoring join" in str(slack.responses("s1")[-1].args)
        finally:
            await app.slack.stop()
            await app.close()
