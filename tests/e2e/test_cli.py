"""The `upward` command as a newcomer runs it: a real process, a real SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

UPWARD = str(Path(sys.executable).with_name("upward"))
REPO = Path(__file__).resolve().parents[2]


def upward(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("UPWARD_") and k != "DATABASE_URL"
    }
    return subprocess.run(  # noqa: S603
        [UPWARD, *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    result = upward("demo", cwd=tmp_path_factory.mktemp("demo"))
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_demo_runs_a_whole_pilot(demo_output: str) -> None:
    for expected in (
        "Proposed 5 pairs",
        "Unmatched this round",
        "meet your partner",
        "Why you were matched",
        "Conversation starter",
        "private check-in",
        "gentle reminder",
        "without a conversation",
        "come to an end",
        "monthly digest",
        "Pairs who met",
        "Not shown, to keep answers private:",
    ):
        assert expected in demo_output, expected


def test_demo_never_shows_a_private_note_to_anyone(demo_output: str) -> None:
    note = "Felt nervous telling a VP"
    assert demo_output.count(note) == 1  # only the closing line that explains it
    assert demo_output.rstrip().splitlines()[-2].startswith("Ben's private note")


def test_demo_is_deterministic(tmp_path: Path, demo_output: str) -> None:
    again = upward("demo", cwd=tmp_path)
    assert again.stdout == demo_output


def test_db_upgrade_program_roster_and_tick(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'u.db'}"}
    assert "Created a new database" in upward("db", "upgrade", cwd=tmp_path, env=env).stdout
    assert "up to date" in upward("db", "upgrade", cwd=tmp_path, env=env).stdout  # idempotent
    loaded = upward(
        "program", "load", str(REPO / "flows/data/sample_program.yaml"), cwd=tmp_path, env=env
    )
    assert "Upward pilot" in loaded.stdout and "created" in loaded.stdout
    roster = upward(
        "roster", "import", str(REPO / "flows/data/demo_roster.csv"), cwd=tmp_path, env=env
    )
    assert "Imported 14 people" in roster.stdout
    (tmp_path / "notes.txt").write_text("Dear diary,\nnothing to see here\n")
    refused = upward("roster", "import", str(tmp_path / "notes.txt"), cwd=tmp_path, env=env)
    assert refused.returncode == 1 and "doesn't look like a roster" in refused.stderr
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    binary = upward("roster", "import", str(tmp_path / "photo.png"), cwd=tmp_path, env=env)
    assert binary.returncode == 2 and "can't read" in binary.stderr
    ticked = upward("tick", "--at", "2027-02-01T09:00:00+00:00", cwd=tmp_path, env=env)
    assert ticked.returncode == 0 and "Tick at 2027-02-01T09:00:00+00:00" in ticked.stdout
    key = tmp_path / ".upward" / "secret.key"
    assert key.exists() and oct(key.stat().st_mode & 0o777) == "0o600"
    audit = upward("audit", cwd=tmp_path, env=env).stdout
    assert "program load upward-pilot -> ok" in audit
    assert "roster import console:demo 14 people -> ok" in audit


def test_keys_rotate_reencrypts_every_secret_while_old_rows_stay_readable(tmp_path: Path) -> None:
    old, new = (upward("keys", "new", cwd=tmp_path).stdout.strip() for _ in range(2))
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'u.db'}",
        "UPWARD_ENCRYPTION_KEYS": old,
    }
    upward("db", "upgrade", cwd=tmp_path, env=env)
    upward("program", "load", str(REPO / "flows/data/sample_program.yaml"), cwd=tmp_path, env=env)
    upward("roster", "import", str(REPO / "flows/data/demo_roster.csv"), cwd=tmp_path, env=env)
    # ann asks not to be paired with ben: an encrypted exclusion
    script = "@ann /mentoring join\n1\n1\n8\n\nben\nEurope/London\nyes\nquit\n"
    joined = upward("shell", cwd=tmp_path, env=env, stdin=script)
    assert "You're in" in joined.stdout, joined.stdout
    refused = upward("keys", "rotate", cwd=tmp_path, env=env)
    assert refused.returncode == 2 and "Put a new key first" in refused.stderr

    both = {**env, "UPWARD_ENCRYPTION_KEYS": f"{new},{old}"}
    rotated = upward("keys", "rotate", cwd=tmp_path, env=both)
    assert rotated.returncode == 0, rotated.stderr
    assert "Re-encrypted 1 rows" in rotated.stdout and "remove the old key" in rotated.stdout
    assert "keys rotate 1 rows -> ok" in upward("audit", cwd=tmp_path, env=both).stdout
    wrong = {**env, "UPWARD_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()},{old}"}
    stale = upward(
        "keys", "rotate", cwd=tmp_path, env=wrong
    )  # the old key alone no longer reads it
    assert stale.returncode == 1 and "1 rows could not be read" in stale.stderr


def test_version(tmp_path: Path) -> None:
    result = upward("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip().startswith("upward ")
