"""The Teams app package: manifest.json and the two icons, zipped for "Upload an app".

Pure stdlib: the icons are drawn pixel by pixel and written as PNGs with zlib + struct, so
`upward teams-package` works without Pillow. Manifest schema v1.30 (see platform notes §11).
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCHEMA_URL = "https://developer.microsoft.com/json-schemas/teams/v1.30/MicrosoftTeams.schema.json"
MANIFEST_VERSION = "1.30"
ACCENT_COLOR = "#2E4057"  # the Slack app's background colour, so both apps look alike
COLOR_SIZE = 192
OUTLINE_SIZE = 32
MAX_COMMANDS_PER_LIST = 10  # 12 since v1.24; stay within the older, stricter limit
MAX_COMMAND_TITLE = 32
MAX_COMMAND_DESCRIPTION = 128

SHORT_DESCRIPTION = "Reverse mentoring in Teams: matching, prompts, private check-ins, goals."
FULL_DESCRIPTION = (
    "Upward runs a reverse-mentoring program where your people already are. Junior "
    "colleagues mentor senior leaders; the bot handles opt-in, matching, introductions, "
    "monthly conversation prompts, private check-ins, goal nudges and anonymised digests "
    "for the people who run the program. Check-ins are private to their author; admins "
    "only ever see anonymised totals over several pairs, never what one person wrote. "
    "Chat with the bot in a personal chat (join, status, goals, checkin, pause, end, "
    "leave, help); admins @mention it in a team channel to choose where digests go."
)

# Teams shows at most 10 per scope: `pause`, `circle` and the rest are listed by `help`.
PERSONAL_COMMANDS = [
    ("join", "Opt in to the reverse-mentoring program"),
    ("status", "Where things stand: your pair, your next conversation"),
    ("goals", "Your pair's goals: list them, add one, mark one done"),
    ("checkin", "A private check-in: only you can read it; admins see anonymised totals"),
    ("concern", "Tell the program lead, in confidence, that something is wrong"),
    ("end", "End your pairing, or ask for a re-match"),
    ("leave", "Leave the program"),
    ("my-data", "A copy of everything Upward stores about you"),
    ("forget", "Erase everything Upward stores about you"),
    ("help", "What I can do"),
]
TEAM_COMMANDS = [
    ("admin channel here", "Admins: post the program's digests in this channel"),
    ("admin digest", "Admins: post last month's anonymised digest now"),
    ("admin status", "Admins: program status and delivery failures"),
    ("help", "What I can do"),
]

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"^(?P<name>{_LABEL}(?:\.{_LABEL})*)(?::(?P<port>[0-9]{{1,5}}))?$")
_SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")


# --- the manifest -----------------------------------------------------------------------------


def manifest(
    *,
    app_id: str,
    host: str,
    version: str = "1.0.0",
    name: str = "Upward",
    developer_name: str = "Upward",
    website_url: str | None = None,
    privacy_url: str | None = None,
    terms_url: str | None = None,
) -> dict[str, Any]:
    """The manifest.json of the Teams app; raises ValueError on anything Teams would reject."""
    app_id = _check_app_id(app_id)
    host = _check_host(host)
    if not _SEMVER.match(version):
        raise ValueError(
            f"The app version must look like 1.0.0 (major.minor.patch), got {version!r}."
        )
    if not 1 <= len(name) <= 30:
        raise ValueError(f"The app's short name must be 1 to 30 characters, got {name!r}.")
    if not developer_name.strip():
        raise ValueError("The developer name must not be empty.")
    developer = {
        "name": developer_name,
        "websiteUrl": _https(website_url or f"https://{host}/", "website_url"),
        "privacyUrl": _https(privacy_url or f"https://{host}/privacy", "privacy_url"),
        "termsOfUseUrl": _https(terms_url or f"https://{host}/terms", "terms_url"),
    }
    return {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": developer,
        "name": {"short": name, "full": f"{name}: reverse mentoring"},
        "description": {"short": SHORT_DESCRIPTION, "full": FULL_DESCRIPTION},
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": ACCENT_COLOR,
        "bots": [
            {
                "botId": app_id,
                "scopes": ["personal", "team"],
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [
                    {"scopes": ["personal"], "commands": _commands(PERSONAL_COMMANDS)},
                    {"scopes": ["team"], "commands": _commands(TEAM_COMMANDS)},
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [host],
    }


def _check_app_id(app_id: str) -> str:
    app_id = app_id.strip()
    if not _GUID.match(app_id):
        raise ValueError(
            "The Teams app id must be the bot's Microsoft App ID, a GUID like "
            f"00000000-0000-0000-0000-000000000000 (MICROSOFT_APP_ID); got {app_id!r}."
        )
    return app_id


def _check_host(host: str) -> str:
    host = host.strip()
    if "://" in host:
        raise ValueError(
            f"The host must be a bare host name without a scheme, e.g. upward.example.com "
            f"(not {host!r})."
        )
    found = _HOST.match(host)
    if not found or len(found["name"]) > 253:
        raise ValueError(
            "The host must be a bare host name, optionally with a port, e.g. "
            f"upward.example.com or upward.example.com:8443 (no path); got {host!r}."
        )
    if found["port"] is not None and not 1 <= int(found["port"]) <= 65535:
        raise ValueError(f"The port in {host!r} must be between 1 and 65535.")
    return host


def _https(url: str, what: str) -> str:
    if not re.match(r"^https://[^\s/]+", url):
        raise ValueError(f"{what} must be an https:// URL, got {url!r}.")
    return url


def _commands(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"title": title, "description": description} for title, description in pairs]


# --- the icons --------------------------------------------------------------------------------


def _arrow(x: float, y: float) -> bool:
    """An upward arrow in the unit square (y grows downwards): a triangle head on a shaft."""
    top, neck, bottom = 0.06, 0.50, 0.94
    if top <= y <= neck:  # the head widens from the tip to the neck
        half = 0.44 * (y - top) / (neck - top)
        return abs(x - 0.5) <= half
    return neck < y <= bottom and abs(x - 0.5) <= 0.14


def _rounded_square(x: float, y: float, radius: float = 0.2) -> bool:
    """The unit square with rounded corners."""
    cx = min(max(x, radius), 1 - radius)
    cy = min(max(y, radius), 1 - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def _framed_arrow(x: float, y: float, margin: float = 0.22) -> bool:
    """The arrow in the middle of the colour icon, clear of its edges."""
    scale = 1 - 2 * margin
    return _arrow((x - margin) / scale, (y - margin) / scale)


def _coverage(shape: Callable[[float, float], bool], x0: float, y0: float, step: float) -> float:
    """The share of a pixel's 4×4 sub-samples that fall inside the shape (anti-aliasing)."""
    n = 4
    hits = sum(
        shape(x0 + (i + 0.5) * step / n, y0 + (j + 0.5) * step / n)
        for i in range(n)
        for j in range(n)
    )
    return hits / (n * n)


def color_icon() -> bytes:
    """192×192 RGBA: a rounded square in the accent colour with a white upward arrow."""
    size = COLOR_SIZE
    accent = tuple(int(ACCENT_COLOR[i : i + 2], 16) for i in (1, 3, 5))
    step = 1 / size
    rows = []
    for py in range(size):
        row = bytearray()
        for px in range(size):
            x, y = px * step, py * step
            background = _coverage(_rounded_square, x, y, step)
            white = _coverage(_framed_arrow, x, y, step)
            red, green, blue = (round(c + (255 - c) * white) for c in accent)
            row += bytes((red, green, blue, round(255 * max(background, white))))
        rows.append(bytes(row))
    return _png(size, size, rows)


def outline_icon() -> bytes:
    """32×32 RGBA: the white arrow on a fully transparent background (white and clear only)."""
    size = OUTLINE_SIZE
    margin = 3 / size
    scale = 1 - 2 * margin
    rows = []
    for py in range(size):
        row = bytearray()
        for px in range(size):
            x, y = (px + 0.5) / size, (py + 0.5) / size
            inside = _arrow((x - margin) / scale, (y - margin) / scale)
            row += bytes((255, 255, 255, 255)) if inside else bytes((0, 0, 0, 0))
        rows.append(bytes(row))
    return _png(size, size, rows)


def _png(width: int, height: int, rows: list[bytes]) -> bytes:
    """An 8-bit RGBA PNG from rows of width×4 bytes (filter 0 on every scanline)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


# --- the package ------------------------------------------------------------------------------


def write_package(path: Path, *, app_id: str, host: str, version: str = "1.0.0") -> Path:
    """Writes the zip Teams accepts: manifest.json, color.png and outline.png at its root."""
    files = {
        "manifest.json": json.dumps(
            manifest(app_id=app_id, host=host, version=version), indent=2, ensure_ascii=False
        ).encode(),
        "color.png": color_icon(),
        "outline.png": outline_icon(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # reproducible zips
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path
