"""Transcripts: role cards after opting in, and introductions that wait for both partners."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.events import ButtonAction
from flows.preparation import cards_for
from flows.programs import SAMPLE_PROGRAM, read_program_file, save_program
from storage.models import CardRead, OutboxItem, Pair, PairPrompt
from tests.conftest import ADMIN, START
from tests.helpers import join, text_of

MENTOR = {"role": "mentor", "offers": ["ai_tools"], "wants": ["career_growth"]}
MENTEE = {"role": "mentee", "offers": ["career_growth"], "wants": ["ai_tools"]}


async def rows(app, model):
    async with app.db.session() as s:
        return list((await s.exec(select(model))).all())


async def waiting_pair(session, app):
    """ann (mentor) has read her cards, sam (mentee) hasn't; the pair is approved."""
    await join(session, "ann", **MENTOR)
    await join(session, "sam", prepare=False, **MENTEE)
    await session.say(ADMIN, "admin match 1")
    approved = text_of(await session.say(ADMIN, "admin match approve"))
    await app.engine.dispatch()
    return approved


def intros(console, user):
    return [d for d in console.seen_by(user) if d.message.summary.startswith("Meet your")]


async def test_each_role_reads_its_own_cards_one_at_a_time(session, program, app, console):
    replies = await join(session, "ann", prepare=False, **MENTOR)
    [welcome] = replies  # the first card comes with the welcome, in the person's DM
    assert "5 cards, about a minute each" in text_of(replies)
    assert "Preparation 1 of 5: Why this runs upward" in text_of(replies)
    assert [b.label for b in welcome.message.buttons] == ["Got it"]
    await app.engine.dispatch()
    assert console.seen_by("ann") == []  # nothing else was queued for it

    titles = []
    for _ in range(5):
        replies = await session.press("ann", "Got it")
        titles.append(replies[0].message.summary)
    assert titles[:-1] == [
        f"Preparation {i} of 5: {c.title}" for i, c in enumerate(cards_for("mentor")[1:], 2)
    ]
    assert "You're prepared" in titles[-1]
    assert "mentor-sbi" in {c.id for c in cards_for("mentor")}
    assert {c.id for c in cards_for("mentee")} & {"mentee-no-advice", "mentee-receive-feedback"}
    both = {c.id for c in cards_for("two_way")}
    assert both == {c.id for c in cards_for("mentor")} | {c.id for c in cards_for("mentee")}


async def test_a_double_click_or_someone_elses_click_records_nothing_twice(
    session, program, app, console
):
    await join(session, "ann", prepare=False, **MENTOR)
    await join(session, "bob", prepare=False, **MENTOR)
    await app.engine.dispatch()
    button = console.buttons["ann"][0]
    pressed = ButtonAction(
        actor=session.actor("ann"), action_id=button.action_id, value=button.value
    )
    assert "Preparation 2 of 5" in text_of(await app.engine.handle(pressed))
    assert "Already noted" in text_of(await app.engine.handle(pressed))
    forged = ButtonAction(
        actor=session.actor("bob"), action_id=button.action_id, value=button.value
    )
    assert "isn't for you" in text_of(await app.engine.handle(forged))
    for junk in ("", "x:y", "999:why-upward", f"{button.value.split(':')[0]}:no-such-card"):
        event = ButtonAction(actor=session.actor("bob"), action_id="prep.got_it", value=junk)
        assert "Nothing changed" in text_of(await app.engine.handle(event)), junk
    reads = await rows(app, CardRead)
    assert [(r.participant_id, r.card_id) for r in reads] == [(1, "why-upward")]


async def test_no_introduction_until_both_partners_are_prepared(
    session, program, app, clock, console
):
    approved = await waiting_pair(session, app)
    assert "0 pairs introduced" in approved and "1 pair will be introduced as soon as" in approved
    assert intros(console, "ann") == [] and intros(console, "sam") == []
    [pair] = await rows(app, Pair)
    assert pair.status == "waiting"
    status = text_of(await session.say("ann", "status"))
    assert "You've been matched" in status and "Sam" not in status  # no name before the intro
    mine = text_of(await session.say("ann", "my-data"))
    assert (
        "not yet introduced" in mine
        and "Sam" not in mine
        and "How to give feedback: situation, behaviour, impact" in mine
    )

    clock.advance(timedelta(days=21))  # weeks pass: still nothing for the pair
    await app.engine.tick()
    assert await rows(app, PairPrompt) == [] and intros(console, "ann") == []
    reminders = [d for d in console.seen_by("sam") if "matched" in d.message.summary]
    assert len(reminders) == 1  # a late tick sends the latest reminder only, not a burst

    await session.press("sam", "Continue")  # on the latest reminder
    replies = []
    while not any("prepared" in text_of([r]) for r in replies):
        replies = await session.press("sam", "Got it")
    assert "Your introduction is on its way" in text_of(replies)
    await app.engine.dispatch()
    assert len(intros(console, "ann")) == 1 and len(intros(console, "sam")) == 1
    [pair] = await rows(app, Pair)
    assert pair.status == "active" and pair.started_at == clock.now()  # the calendar starts now


async def test_a_gentle_reminder_goes_only_to_whoever_has_not_finished(
    session, program, app, clock, console
):
    await waiting_pair(session, app)
    console.delivered.clear()
    clock.advance(timedelta(days=1))
    await app.engine.tick()
    assert console.delivered == []
    clock.advance(timedelta(days=1, hours=1))
    await app.engine.tick()
    await app.engine.tick()  # a second tick the same day sends nothing more
    assert console.seen_by("ann") == []
    [reminder] = console.seen_by("sam")
    words = " ".join(getattr(b, "text", "") for b in reminder.message.blocks)
    assert "5 short cards left" in words and "partner" not in words.lower()
    clock.advance(timedelta(days=5))
    await app.engine.tick()
    assert len(console.seen_by("sam")) == 2  # the second and last reminder, a week in
    clock.advance(timedelta(days=30))
    await app.engine.tick()
    assert len(console.seen_by("sam")) == 2


async def test_admins_see_counts_only_and_can_override(session, program, app, console):
    await waiting_pair(session, app)
    text = text_of(await session.say(ADMIN, "admin introduce"))
    assert "Preparation: not shown." in text  # fewer than k: no count at all
    assert "waiting for their introduction: 1" in text
    assert "sam" not in text.lower() and "ann" not in text.lower()
    status = text_of(await session.say(ADMIN, "admin status"))
    assert "Preparation: not shown" in status and "Pairs: 1 waiting" in status

    refused = text_of(await session.say("ann", "admin introduce all"))
    assert "admins" in refused.lower()
    # The same answer whether or not the person had a pair waiting: no probing by name.
    ghost = text_of(await session.say(ADMIN, "admin introduce @ghost"))
    assert "can't find @ghost" in ghost and "Nothing changed" in ghost
    await join(session, "tom", **MENTEE)  # taking part, but with no pair waiting
    nobody = text_of(await session.say(ADMIN, "admin introduce @tom")).replace("@tom", "X")
    await app.engine.dispatch()
    assert intros(console, "ann") == []
    somebody = text_of(await session.say(ADMIN, "admin introduce @Sam")).replace("@Sam", "X")
    assert nobody == somebody
    assert "Introduced 0 pairs" in text_of(await session.say(ADMIN, "admin introduce all"))
    await app.engine.dispatch()
    assert len(intros(console, "ann")) == 1 and len(intros(console, "sam")) == 1


async def test_counts_never_say_everyone_or_no_one_has_finished(session, program, app):
    for user in ("ann", "bob", "cat"):
        await join(session, user, **MENTOR)
    await join(session, "tom", **MENTEE)
    await join(session, "sam", prepare=False, **MENTEE)
    # Five people and k = 5: no wording leaves k on each side, so no count at all.
    assert "Preparation: not shown." in text_of(await session.say(ADMIN, "admin introduce"))
    await join(session, "uma", **MENTEE)
    text = text_of(await session.say(ADMIN, "admin introduce"))
    assert "at least 5 of 6 participants have finished" in text
    await read_all(session, app, "sam")  # now all six have: the wording doesn't change
    assert text == text_of(await session.say(ADMIN, "admin introduce"))


async def read_all(session, app, user):
    await app.engine.dispatch()
    replies = await session.press(user, "Got it")
    while "prepared" not in text_of(replies):
        replies = await session.press(user, "Got it")


async def test_leaving_before_the_introduction_cancels_the_match_quietly(
    session, program, app, clock, console
):
    await waiting_pair(session, app)
    clock.advance(timedelta(days=2, hours=9))  # Wednesday 18:00, after hours
    await app.engine.tick()  # sam's first reminder is queued for the morning
    [reminder] = [o for o in await rows(app, OutboxItem) if o.key.startswith("prep-reminder")]
    assert reminder.status == "pending"
    await session.say("sam", "leave")
    clock.advance(timedelta(hours=15))  # Thursday morning
    await app.engine.dispatch()
    [pair] = await rows(app, Pair)
    assert pair.status == "ended" and pair.end_kind == "cancelled"
    [told] = console.seen_by("ann")
    assert "couldn't go ahead" in told.message.summary and "Sam" not in told.message.summary
    [reminder] = [o for o in await rows(app, OutboxItem) if o.key.startswith("prep-reminder")]
    assert reminder.status == "cancelled"  # and sam's reminder never goes
    await join(session, "tom", **MENTEE)
    assert "Proposed 1 pair" in text_of(await session.say(ADMIN, "admin match 2"))


async def test_a_program_without_preparation_introduces_at_once(session, app, console):
    spec = read_program_file(SAMPLE_PROGRAM).model_copy(update={"preparation": False})
    await app.engine.run(lambda ctx: save_program(ctx, spec))
    replies = await join(session, "ann", prepare=False, **MENTOR)
    assert "cards" not in text_of(replies)
    await join(session, "sam", prepare=False, **MENTEE)
    await app.engine.dispatch()
    assert console.delivered == []
    await session.say(ADMIN, "admin match 1")
    assert "1 pair introduced" in text_of(await session.say(ADMIN, "admin match approve"))


async def test_a_cancelled_match_never_names_the_other_person(session, program, app):
    await waiting_pair(session, app)
    await session.say("sam", "leave")
    mine = text_of(await session.say("ann", "my-data"))
    assert "didn't go ahead" in mine and "Sam" not in mine


async def test_a_ready_pair_left_waiting_is_introduced_by_the_next_tick(
    session, program, app, console
):
    """Both partners' last cards read in two transactions at once: neither saw the other's."""
    await waiting_pair(session, app)
    async with app.db.session() as s:  # sam's cards, recorded without the flow's check
        for card in cards_for("mentee"):
            s.add(CardRead(participant_id=2, card_id=card.id, read_at=START))
        await s.commit()
    await app.engine.tick()
    assert len(intros(console, "ann")) == 1 and len(intros(console, "sam")) == 1


async def test_someone_who_never_got_a_first_card_gets_it_at_matching(
    session, program, app, console
):
    await join(session, "ann", **MENTOR)
    await join(session, "sam", prepare=False, **MENTEE)
    async with app.db.session() as s:  # as if sam joined before preparation existed
        for item in (await s.exec(select(OutboxItem))).all():
            await s.delete(item)
        await s.commit()
    console.delivered.clear()
    await session.say(ADMIN, "admin match 1")
    await session.say(ADMIN, "admin match approve")
    await app.engine.dispatch()
    assert [d.message.summary for d in console.seen_by("sam")] == [
        "Preparation 1 of 5: Why this runs upward"
    ]
    assert console.seen_by("ann") == []  # prepared, waiting: nothing yet
