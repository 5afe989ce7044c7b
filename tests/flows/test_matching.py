"""Transcripts: an admin previews matching, drops a pair, approves; pairs are introduced."""

from __future__ import annotations

from sqlmodel import select

from bot.messages import FormErrors
from storage.models import AuditEntry, Pair, Participant
from tests.conftest import ADMIN
from tests.helpers import JOIN_DEFAULTS, join, matched, pilot, text_of


async def rows(app, model):
    async with app.db.session() as s:
        return list((await s.exec(select(model))).all())


async def names(app) -> set[frozenset[str]]:
    people = {p.id: p.user_id for p in await rows(app, Participant)}
    return {
        frozenset({people[p.mentor_id], people[p.mentee_id]})
        for p in await rows(app, Pair)
        if p.status == "active"
    }


async def test_preview_changes_nothing_until_approved(session, program, app, console):
    await pilot(session, app)
    text = text_of(await session.say(ADMIN, "admin match 1"))
    assert "Proposed 3 pairs" in text and "You both chose AI tools" in text
    await app.engine.dispatch()
    assert await rows(app, Pair) == []
    assert console.delivered == []  # nobody is told anything before approval


async def test_approval_introduces_each_pair_with_why_they_were_matched(
    session, program, app, console
):
    await pilot(session, app)
    text = text_of(await matched(session, app))
    assert "3 pairs introduced" in text
    pairs = await names(app)
    assert len(pairs) == 3
    assert frozenset({"ann", "sam"}) not in pairs  # never in the same reporting line
    intro = console.seen_by("ann")[0]
    assert intro.where.startswith("group DM")
    blocks = " ".join(getattr(b, "text", "") for b in intro.message.blocks)
    assert "Why you were matched: You both chose AI tools" in blocks
    assert "please reach out first" in blocks and "Confidentiality" in blocks


async def test_dropping_a_pair_leaves_them_unmatched_and_told_kindly(
    session, program, app, console
):
    await pilot(session, app)
    await session.say(ADMIN, "admin match 1")
    text = text_of(await session.say(ADMIN, "admin match drop 1"))
    assert "Proposed 2 pairs" in text
    await session.say(ADMIN, "admin match approve")
    await app.engine.dispatch()
    assert len(await names(app)) == 2
    unmatched = [d for d in console.delivered if "No match for you this round" in d.message.summary]
    assert len(unmatched) == 2
    assert all(
        p.priority for p in await rows(app, Participant) if p.user_id in {d.to for d in unmatched}
    )


async def test_a_proposal_with_every_pair_dropped_cannot_be_approved(
    session, program, app, console
):
    await pilot(session, app)
    await session.say(ADMIN, "admin match 1")
    await app.engine.dispatch()
    before = len(console.delivered)
    for position in ("1", "2"):
        await session.say(ADMIN, f"admin match drop {position}")
    text = text_of(await session.say(ADMIN, "admin match drop 3"))
    assert "Proposed 0 pairs for" in text and "(3 dropped)" in text
    unmatched = text.split("Unmatched this round")[1]
    assert all(name in unmatched.lower() for name in ("ann", "bob", "cat", "sam", "tom", "uma"))
    refused = text_of(await session.say(ADMIN, "admin match approve"))
    assert "nothing to approve" in refused and "nobody was told anything" in refused
    await app.engine.dispatch()
    assert len(console.delivered) == before


async def test_unmatched_people_go_first_next_round(session, program, app, console):
    await pilot(session, app, mentors=("ann", "bob"), mentees=("sam", "tom", "uma"))
    await matched(session, app)
    [left_out] = [d.to for d in console.delivered if "No match" in d.message.summary]
    await join(session, "cat", role="mentor", offers=["ai_tools"], wants=["career_growth"])
    await matched(session, app)
    assert any(left_out in pair for pair in await names(app))


async def test_non_admin_is_refused_politely_and_audited(session, program, app):
    await pilot(session, app)
    text = text_of(await session.say("ann", "admin match"))
    assert "only program admins" in text
    assert await rows(app, Pair) == []
    audit = await rows(app, AuditEntry)
    assert [(a.actor, a.action, a.outcome) for a in audit] == [
        ("console:acme:ann", "admin match", "refused")
    ]


async def test_admin_actions_are_audited(session, program, app):
    await pilot(session, app)
    await matched(session, app)
    actions = [(a.action, a.target, a.outcome) for a in await rows(app, AuditEntry)]
    assert actions == [("admin match", "1", "ok"), ("admin match", "approve", "ok")]
    text = text_of(await session.say(ADMIN, "admin audit"))
    assert "admin match approve" in text


async def test_no_repeat_of_a_past_pair_after_a_rematch(session, program, app):
    await pilot(session, app, mentors=("bob",), mentees=("tom",))
    await matched(session, app)
    await session.say("bob", "end")
    assert "priority" in text_of(await session.press("bob", "Ask for a re-match"))
    text = text_of(await session.say(ADMIN, "admin match 1"))
    assert "Proposed 0 pairs" in text  # bob and tom are never paired again


async def test_confidential_exclusion_is_honoured(session, program, app):
    await join(session, "tom", role="mentee", offers=["career_growth"], wants=["ai_tools"])
    mentor = {"role": "mentor", "offers": ["ai_tools"], "wants": ["career_growth"]}
    replies = await join(session, "bob", **mentor, avoid="Tom, Zed")
    assert isinstance(replies[0], FormErrors)
    assert "couldn't find Zed" in replies[0].errors["avoid"]  # never silently ignored
    await session.submit("bob", {**JOIN_DEFAULTS, **mentor, "avoid": "Tom"})
    text = text_of(await session.say(ADMIN, "admin match 1"))
    assert "Proposed 0 pairs" in text
    bob = next(p for p in await rows(app, Participant) if p.user_id == "bob")
    assert bob.exclusions_enc and "tom" not in bob.exclusions_enc  # stored encrypted
