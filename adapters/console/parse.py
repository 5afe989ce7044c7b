"""Console input lines and form answers into neutral events and values."""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands import parse_command_text
from bot.events import Actor, Command
from bot.messages import FormField

PLATFORM = "console"


@dataclass(frozen=True)
class ConsoleLine:
    user: str
    text: str


def parse_line(line: str) -> ConsoleLine | None:
    """`@alice /mentoring join` -> ConsoleLine("alice", "/mentoring join"); None if no `@user`."""
    stripped = line.strip()
    if not stripped.startswith("@") or len(stripped) < 2:
        return None
    user, _, text = stripped[1:].partition(" ")
    return ConsoleLine(user=user, text=text.strip()) if user else None


def to_command(line: ConsoleLine, tenant: str) -> Command:
    name, args = parse_command_text(line.text)
    return Command(
        actor=Actor(platform=PLATFORM, tenant=tenant, user_id=line.user),
        display_name=line.user.capitalize(),
        name=name,
        args=args,
    )


def field_answer(field: FormField, answer: str) -> str | list[str]:
    """Numbers pick options; an empty answer takes the default."""
    text = answer.strip() or (field.initial if isinstance(field.initial, str) else "") or ""
    if field.type == "checkbox":
        return "yes" if text.lower() in ("y", "yes", "true", "1") else ""
    if field.type not in ("select", "multi_select"):
        return text
    picks = [_option(field, part.strip()) for part in text.split(",") if part.strip()]
    values = [p for p in picks if p]
    return values if field.type == "multi_select" else (values[0] if values else "")


def _option(field: FormField, pick: str) -> str:
    if pick.isascii() and pick.isdigit() and 1 <= int(pick) <= len(field.options):
        return field.options[int(pick) - 1].value
    return pick
