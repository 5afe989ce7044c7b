"""Transcripts: digests are closed, frozen and exclude admins' own pairs; edge cases of
pairs ending, stale buttons, capacity and cadence."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.messages import Fields, Text
from storage.answers import CheckInAnswers
from storage.models import Pair, Program
from storage.repositories import Repositories
from tests.conftest import ADMIN
from tests.helpers import join, matched, text_of


async def many_pairs(session, app, n: int, *, admin_mentee: bool = False) -> None:
    for i in range(n):
        await join(session, f"m{i}", role="mentor", offers=["ai_tools"], wants=["career_growth"])
        mentee = ADMIN if admin_mentee and i == 0 else f"s{i}"
        await join(session, mentee, role="mentee", offers=["career_growth"], wants=["ai_tools"])
    await matched(session, app)


async def change_program(app, **fields) -> None:  # type: ignore[no-untyped-def]
    async with app.db.session() as s:
        sample = (await s.exec(select(Program))).one()
        for name, value in fields.items():
            setattr(sample, name, value)
        await s.commit()


async def one_mentor_two_mentees(session) -> None:  # type: ignore[no-untyped-def]
    await join(session, "m0", role="mentor", offers=["ai_tools"], wants=["career_growth"])
    for user in ("s0", "s1"):
        await join(session, user, role="mentee", offers=["career_growth"], wants=["ai_tools"])


async def check_in_everyone(session, console, rating: str = "4") -> None:
    for user, buttons in list(console.buttons.items()):
        if any(b.action_id == "checkin.open" for b in buttons):
            await session.press(user, "Check in privately")
            await session.submit(user, {"met": "yes", "rating": rating})
            console.buttons[user] = ()


def digests(console) -> list[str]:
    return [
        "\n".join(_lines(d.message.blocks))
        for d in console.delivered
        if d.to == "#mentoring-admins"
    ]


def _lines(blocks) -> list[str]:
    """Fields as "label: value", and the text blocks (the line naming what is withheld)."""
    out = []
    for block in blocks:
        if isinstance(block, Fields):
            out += [f"{label}: {value}" for label, value in block.items]
        elif isinstance(block, Text):
            out.append(block.text)
    return out


async def test_on_demand_digest_waits_for_a_full_month(session, program, app):
    await many_pairs(session, app, 5)
    text = text_of(await session.say(ADMIN, "admin digest"))
    assert "ready on 01 February 2027" in text


async def test_monthly_digest_is_frozen_and_reposted_unchanged(
    session, program, app, clock, console
):
    await many_pairs(session, app, 5)
    clock.advance(timedelta(days=15))  # a week after the first prompt
    await app.engine.tick()
    await check_in_everyone(session, console)
    clock.set(clock.now().replace(month=2, day=1, hour=9))
    await app.engine.tick()
    [first] = digests(console)
    # 5 pairs and k = 5: no wording of a count could leave a pair on each side
    assert "Not shown, to keep answers private: Pairs who met," in first
    assert "How it's going, 1–5: 4.0 average" in first

    # January's answers change afterwards (an erasure, a correction): January must not.
    async with app.db.session() as s:
        repos = Repositories(s, app.engine.cipher)
        pair_ids = [p.id for p in (await s.exec(select(Pair))).all()]
        for c in await repos.checkins.for_pairs(pair_ids):
            changed = CheckInAnswers(met=False, rating=1, themes=c.themes, energy=c.energy)
            await repos.checkins.record(
                c.pair_id, c.participant_id, c.cycle, changed, None, c.submitted_at
            )
        await s.commit()
    text = text_of(await session.say(ADMIN, "admin digest"))
    assert "January 2027 was posted" in text
    await app.engine.dispatch()
    assert digests(console) == [first, first]


async def test_an_admins_own_pair_never_counts(session, program, app, clock, console):
    await many_pairs(session, app, 5, admin_mentee=True)
    clock.advance(timedelta(days=15))  # a week after the first prompt
    await app.engine.tick()
    await check_in_everyone(session, console)
    clock.set(clock.now().replace(month=2, day=1, hour=9))
    await app.engine.tick()
    [digest] = digests(console)
    # five pairs answered; the admin's is left out, and 4 is below k
    assert "Pairs who checked in: fewer than 5" in digest
    assert "Not shown, to keep answers private: Pairs who met," in digest


async def test_both_partners_hear_the_same_neutral_word_when_a_pair_ends(
    session, program, app, console
):
    await many_pairs(session, app, 1)
    await session.say("s0", "end")
    await session.press("s0", "End our pairing")
    await app.engine.dispatch()
    for user in ("m0", "s0"):
        assert [d.message.summary for d in console.seen_by(user)][-1] == (
            "Your mentoring pairing has come to an end."
        )


async def test_an_old_end_button_never_ends_a_new_pairing(session, program, app, console):
    await many_pairs(session, app, 1)
    await session.say("s0", "end")
    stale = list(console.buttons["s0"])
    await session.press("s0", "Ask for a re-match")
    await join(session, "m9", role="mentor", offers=["ai_tools"], wants=["career_growth"])
    await matched(session, app)
    console.buttons["s0"] = tuple(stale)
    text = text_of(await session.press("s0", "End our pairing"))
    assert "already ended" in text
    async with app.db.session() as s:
        pairs = (await s.exec(select(Pair))).all()
    assert sorted(p.status for p in pairs) == ["active", "ended"]


async def test_an_old_approve_button_never_approves_a_newer_proposal(
    session, program, app, console
):
    for user, role in (("m0", "mentor"), ("s0", "mentee")):
        await join(session, user, role=role, offers=["ai_tools"], wants=["ai_tools"])
    await session.say(ADMIN, "admin match 1")
    stale = list(console.buttons[ADMIN])
    await session.say(ADMIN, "admin match 2")  # a new preview replaces the old one
    fresh = list(console.buttons[ADMIN])
    console.buttons[ADMIN] = tuple(stale)
    assert "no longer open" in text_of(await session.press(ADMIN, "Approve and introduce"))
    console.buttons[ADMIN] = tuple(fresh)
    assert "1 pair introduced" in text_of(await session.press(ADMIN, "Approve and introduce"))


async def test_a_mentor_with_capacity_two_gets_two_mentees_and_leaving_ends_both(
    session, program, app, console
):
    await change_program(app, mentor_capacity=2)
    await one_mentor_two_mentees(session)
    assert "2 pairs introduced" in text_of(await matched(session, app))
    status = text_of(await session.say("m0", "status"))
    assert "Your partner: S0" in status and "Your partner: S1" in status
    await session.say("m0", "leave")
    await app.engine.dispatch()
    for user in ("s0", "s1"):
        assert (
            console.seen_by(user)[-1].message.summary
            == "Your mentoring pairing has come to an end."
        )


async def test_weekly_programs_get_prompts_and_checkins(session, program, app, clock, console):
    await change_program(app, cadence="weekly", duration_months=3)
    await many_pairs(session, app, 1)
    for _ in range(4 * 7):
        clock.advance(timedelta(days=1))
        await app.engine.tick()
    summaries = [d.message.summary for d in console.seen_by("m0")]
    # cycles start on days 7, 14, 21 and 28; check-ins come half a week after each
    assert sum("Conversation starter for week" in s for s in summaries) == 4
    assert sum("private check-in" in s for s in summaries) == 3


async def test_a_goal_added_from_one_pairs_intro_stays_with_that_pair(
    session, program, app, console
):
    await change_program(app, mentor_capacity=2)
    await one_mentor_two_mentees(session)
    await matched(session, app)
    intro_with_s1 = next(d for d in console.seen_by("m0") if "S1" in d.message.summary)
    [add] = [b for b in intro_with_s1.message.buttons if b.action_id == "goals.add"]
    console.buttons["m0"] = (add,)
    await session.press("m0", 1)
    await session.submit("m0", {"text": "Meet at the S1 site", "kind": "goal", "owner": "me"})
    await app.engine.dispatch()
    assert any("Meet at the S1 site" in d.message.summary for d in console.seen_by("s1"))
    assert not any("Meet at the S1 site" in d.message.summary for d in console.seen_by("s0"))
