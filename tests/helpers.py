"""Small helpers for transcript tests."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from adapters.console.harness import ConsoleSession
from bot.messages import FormErrors, Say, ShowForm
from storage.answers import CheckInView, ReviewView
from storage.models import Pair
from storage.repositories import Repositories


def text_of(replies: list[Say | ShowForm | FormErrors]) -> str:
    parts = []
    for reply in replies:
        if isinstance(reply, Say):
            parts.append(reply.message.summary)
            for block in reply.message.blocks:
                parts.append(getattr(block, "text", ""))
                parts.extend(f"{label}: {value}" for label, value in getattr(block, "items", ()))
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


async def join(
    session: ConsoleSession, user: str, *, prepare: bool = True, **answers: str | list[str]
) -> list:
    """Opt in through the form; with `prepare`, also read the role cards that arrive."""
    replies = await session.say(user, "/mentoring join")
    assert any(isinstance(r, ShowForm) for r in replies), replies
    replies = await session.submit(user, {**JOIN_DEFAULTS, **answers})
    if prepare:
        await read_cards(session, user, replies)
    return replies


def _has_card(replies: list) -> bool:
    return any(
        b.label == "Got it" for r in replies if isinstance(r, Say) for b in r.message.buttons
    )


async def read_cards(session: ConsoleSession, user: str, replies: list | None = None) -> int:
    """Press "Got it" on each preparation card in turn, starting from the one in `replies`
    (the join's answer) or else one that arrives now; how many were read."""
    if replies is None:
        session.adapter.buttons.pop(user, None)  # only a card that arrives now counts
        await session.engine.dispatch()
        pending = any(b.label == "Got it" for b in session.adapter.buttons.get(user, ()))
    else:
        pending = _has_card(replies)
    read = 0
    while pending:
        replies = await session.press(user, "Got it")
        assert "Already noted" not in text_of(replies), replies
        read += 1
        pending = _has_card(replies)
    # Out of the way, so tests about later messages see only those.
    delivered = session.adapter.delivered
    delivered[:] = [d for d in delivered if not d.message.summary.startswith("Preparation ")]
    return read


async def roster(app, csv_text: str) -> None:
    from flows.roster import import_roster

    report = await app.engine.run(
        lambda ctx: import_roster(ctx, csv_text, platform="console", tenant="acme")
    )
    assert not report.problems, report.problems


# Juniors (mentors) and seniors (mentees) with one reporting line: ann reports to sam.
ROSTER = """user_id,name,job_level,department,manager,timezone
ann,Ann,1,Support,sam,Europe/London
bob,Bob,2,Engineering,,Europe/London
cat,Cat,1,Sales,,Europe/London
sam,Sam,6,Support,,Europe/London
tom,Tom,6,Finance,,Europe/London
uma,Uma,7,Marketing,,Europe/London
"""


async def pilot(session, app, *, mentors=("ann", "bob", "cat"), mentees=("sam", "tom", "uma")):
    """Everyone joins wanting/offering AI tools; ann may not be paired with her manager sam."""
    await roster(app, ROSTER)
    for user in mentors:
        await join(
            session,
            user,
            role="mentor",
            offers=["ai_tools", "hybrid_work"],
            wants=["career_growth"],
        )
    for user in mentees:
        await join(session, user, role="mentee", offers=["career_growth"], wants=["ai_tools"])


async def matched(session, app, admin="boss"):
    await session.say(admin, "admin match 1")
    replies = await session.say(admin, "admin match approve")
    await app.engine.dispatch()
    return replies


async def opened_checkins(app: Any) -> list[CheckInView]:
    """Every stored check-in with its sealed answers opened, as the flows read them."""
    async with app.db.session() as s:
        pair_ids = list((await s.exec(select(Pair.id))).all())
        return await Repositories(s, app.engine.cipher).checkins.for_pairs(pair_ids)


async def opened_reviews(app: Any) -> list[ReviewView]:
    async with app.db.session() as s:
        pair_ids = list((await s.exec(select(Pair.id))).all())
        return await Repositories(s, app.engine.cipher).reviews.for_pairs(pair_ids)
