"""The Teams app package: the manifest Teams validates, the icons it insists on, the zip."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.teams.package import color_icon, manifest, outline_icon, write_package
from bot.cli import cli

APP_ID = "8f0c2f5e-4b1a-4c3d-9e2f-0a1b2c3d4e5f"
HOST = "upward.example.com"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, checking each CRC on the way."""
    assert png.startswith(PNG_SIGNATURE)
    found, at = [], len(PNG_SIGNATURE)
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF, kind
        found.append((kind, data))
        at += 12 + length
    assert found[0][0] == b"IHDR" and found[-1] == (b"IEND", b"")
    return found


def ihdr(png: bytes) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type)."""
    width, height, depth, colour, *_ = struct.unpack(">IIBBBBB", chunks(png)[0][1])
    return width, height, depth, colour


def rgba_pixels(png: bytes) -> list[tuple[int, int, int, int]]:
    """Decodes an 8-bit RGBA, non-interlaced PNG whose scanlines all use filter 0 (None)."""
    width, height, depth, colour = ihdr(png)
    assert (depth, colour) == (8, 6)
    raw = zlib.decompress(b"".join(data for kind, data in chunks(png) if kind == b"IDAT"))
    stride = 1 + 4 * width
    assert len(raw) == stride * height
    pixels = []
    for y in range(height):
        line = raw[y * stride : (y + 1) * stride]
        assert line[0] == 0, "only filter type 0 is decoded here"
        pixels += [tuple(line[1 + 4 * x : 5 + 4 * x]) for x in range(width)]
    return pixels  # type: ignore[return-value]


# --- the manifest -----------------------------------------------------------------------------


def test_manifest_is_schema_v1_30_with_the_bot_in_personal_and_team_scope() -> None:
    found = manifest(app_id=APP_ID, host=HOST, version="1.2.3")
    assert found["$schema"] == (
        "https://developer.microsoft.com/json-schemas/teams/v1.30/MicrosoftTeams.schema.json"
    )
    assert found["manifestVersion"] == "1.30"
    assert found["id"] == APP_ID
    assert found["version"] == "1.2.3"
    (bot,) = found["bots"]
    assert bot["botId"] == APP_ID
    assert bot["scopes"] == ["personal", "team"]
    assert bot["supportsFiles"] is False and bot["isNotificationOnly"] is False
    assert found["permissions"] == ["identity", "messageTeamMembers"]
    assert found["validDomains"] == [HOST]
    assert found["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert found["accentColor"].startswith("#") and len(found["accentColor"]) == 7
    int(found["accentColor"][1:], 16)
    assert "webApplicationInfo" not in found
    json.dumps(found)  # serialisable as is


def test_manifest_texts_fit_teams_limits_and_tell_the_truth_about_privacy() -> None:
    found = manifest(app_id=APP_ID, host=HOST)
    assert 0 < len(found["name"]["short"]) <= 30 and found["name"]["full"]
    assert 0 < len(found["description"]["short"]) <= 80
    assert 0 < len(found["description"]["full"]) <= 4000
    full = found["description"]["full"]
    assert "private" in full and "anonymised totals" in full


def test_developer_urls_default_to_the_host_over_https() -> None:
    developer = manifest(app_id=APP_ID, host=HOST, developer_name="Acme")["developer"]
    assert developer["name"] == "Acme"
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        assert developer[key].startswith(f"https://{HOST}/"), key
    custom = manifest(app_id=APP_ID, host=HOST, privacy_url="https://acme.example/privacy")
    assert custom["developer"]["privacyUrl"] == "https://acme.example/privacy"
    with pytest.raises(ValueError, match="https"):
        manifest(app_id=APP_ID, host=HOST, terms_url="http://acme.example/terms")


def test_command_lists_offer_the_personal_and_team_commands_within_limits() -> None:
    (bot,) = manifest(app_id=APP_ID, host=HOST)["bots"]
    lists = {tuple(entry["scopes"]): entry["commands"] for entry in bot["commandLists"]}
    assert set(lists) == {("personal",), ("team",)}
    titles = {scope: [c["title"] for c in commands] for scope, commands in lists.items()}
    assert titles[("personal",)] == [
        "join",
        "status",
        "goals",
        "checkin",
        "concern",
        "end",
        "leave",
        "my-data",
        "forget",
        "help",
    ]
    assert titles[("team",)] == ["admin channel here", "admin digest", "admin status", "help"]
    for commands in lists.values():
        assert len(commands) <= 10
        for command in commands:
            assert set(command) == {"title", "description"}
            assert 0 < len(command["title"]) <= 32
            assert 0 < len(command["description"]) <= 128


@pytest.mark.parametrize(
    "app_id",
    [
        "",
        "not-a-guid",
        "8f0c2f5e4b1a4c3d9e2f0a1b2c3d4e5f",
        "{8f0c2f5e-4b1a-4c3d-9e2f-0a1b2c3d4e5f}",
    ],
)
def test_the_app_id_must_be_a_guid(app_id: str) -> None:
    with pytest.raises(ValueError, match="GUID"):
        manifest(app_id=app_id, host=HOST)


@pytest.mark.parametrize(
    "host",
    [
        "https://upward.example.com",
        "upward.example.com/teams",
        "",
        "upward example.com",
        "-upward.example.com",
        "upward.example.com:99999",
        "upward.example.com:",
    ],
)
def test_the_host_must_be_a_bare_host_name(host: str) -> None:
    with pytest.raises(ValueError, match=r"host|port"):
        manifest(app_id=APP_ID, host=host)


@pytest.mark.parametrize("host", ["localhost", "upward.example.com:8443", "bot-1.corp.example"])
def test_a_host_may_carry_a_port(host: str) -> None:
    assert manifest(app_id=APP_ID, host=host)["validDomains"] == [host]


def test_the_version_must_be_semver() -> None:
    with pytest.raises(ValueError, match="version"):
        manifest(app_id=APP_ID, host=HOST, version="1.0")


# --- the icons --------------------------------------------------------------------------------


def test_the_colour_icon_is_a_192_png_in_full_colour() -> None:
    png = color_icon()
    assert ihdr(png)[:2] == (192, 192)
    pixels = rgba_pixels(png)
    assert len(pixels) == 192 * 192
    centre_row = pixels[96 * 192 : 97 * 192]
    assert (255, 255, 255, 255) in centre_row  # the arrow
    assert len({p[:3] for p in pixels if p[3] == 255}) > 2  # more than black and white


def test_the_outline_icon_is_a_32_png_of_white_on_transparent_only() -> None:
    png = outline_icon()
    assert ihdr(png) == (32, 32, 8, 6)
    pixels = rgba_pixels(png)
    assert len(pixels) == 32 * 32
    assert all(p == (255, 255, 255, 255) or p[3] == 0 for p in pixels)
    assert (255, 255, 255, 255) in pixels and any(p[3] == 0 for p in pixels)


# --- the package ------------------------------------------------------------------------------


def test_the_zip_holds_exactly_the_manifest_and_both_icons_at_its_root(tmp_path: Path) -> None:
    path = write_package(tmp_path / "out" / "teams.zip", app_id=APP_ID, host=HOST, version="2.0.0")
    assert path == tmp_path / "out" / "teams.zip"
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        assert archive.testzip() is None
        found = json.loads(archive.read("manifest.json"))
        assert ihdr(archive.read("color.png"))[:2] == (192, 192)
        assert ihdr(archive.read("outline.png"))[:2] == (32, 32)
    assert found["id"] == APP_ID and found["version"] == "2.0.0"
    assert found["icons"] == {"color": "color.png", "outline": "outline.png"}


# --- the command ------------------------------------------------------------------------------


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("MICROSOFT_APP_ID", raising=False)
    monkeypatch.delenv("UPWARD_PUBLIC_HOST", raising=False)
    return CliRunner()


def test_the_command_writes_the_package(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "upward.zip"
    result = runner.invoke(
        cli, ["teams-package", "--out", str(out), "--host", HOST, "--app-id", APP_ID]
    )
    assert result.exit_code == 0, result.output
    assert str(out) in result.stdout
    assert "Upload an app" in result.stdout
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read("manifest.json"))["bots"][0]["botId"] == APP_ID


def test_the_command_reads_the_app_id_and_host_from_the_environment(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        cli,
        ["teams-package", "--version", "1.0.1"],
        env={"MICROSOFT_APP_ID": APP_ID, "UPWARD_PUBLIC_HOST": HOST},
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "upward-teams.zip") as archive:
        found = json.loads(archive.read("manifest.json"))
    assert (found["id"], found["validDomains"], found["version"]) == (APP_ID, [HOST], "1.0.1")


def test_the_command_names_microsoft_app_id_when_there_is_none(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "upward.zip"
    result = runner.invoke(cli, ["teams-package", "--out", str(out), "--host", HOST])
    assert result.exit_code == 2
    assert "MICROSOFT_APP_ID" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def test_the_command_explains_a_bad_host(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "upward.zip"
    result = runner.invoke(
        cli, ["teams-package", "--out", str(out), "--host", f"https://{HOST}", "--app-id", APP_ID]
    )
    assert result.exit_code == 2
    assert "without a scheme" in result.stderr
    assert not out.exists()
