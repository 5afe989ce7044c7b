"""Small helpers for transcript tests."""

from __future__ import annotations

from adapters.console.harness import ConsoleSession
from bot.messages import FormErrors, Say, ShowForm


def text_of(replies: list[Say | ShowForm | FormErrors]) -> str:
    parts = []
    for reply in replies:
        if isinstance(reply, Say):
            parts.append(reply.message.summary)
            parts.extend(getattr(b, "text", "") for b in reply.message.blocks)
    return "\n".join(parts)


JOIN_DEFAULTS: dict[str, str | list[str]] = {
    "role": "mentor",
    "offers": ["ai_tools", "hybrid_work"],
    "wants": ["career_growth"],
    "off_limits": [],
    "avoid": "",
    "timezone": "Europe/London",
    "agree": "yes",
}


async def join(session: ConsoleSession, user: str, **answers: str | list[str]) -> list:
    replies = await session.say(user, "/mentoring join")
    assert any(isinstance(r, ShowForm) for r in replies), replies
    return await session.submit(user, {**JOIN_DEFAULTS, **answers})
