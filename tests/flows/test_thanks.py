"""Transcripts: thank-yous at the end of a pairing, and the admins' program-wide thanks."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import select

from bot.events import ButtonAction, FormSubmission
from storage.models import OutboxItem, ThankYou
from tests.conftest import ADMIN
from tests.flows.test_cycles import one_pair
from tests.helpers import text_of

WORDS = "You showed me how our tools really get used. I changed two meetings because of you."


async def completed(session, app, clock, *, two_way=False):
    await one_pair(session, app, two_way=two_way)
    clock.advance(timedelta(days=200))  # past the six months
    while clock.now().weekday() >= 5:
        clock.advance(timedelta(days=1))
    await app.engine.tick()


def invites(console, user):
    return [d for d in console.seen_by(user) if "thank-you?" in d.message.summary]


async def test_the_mentee_thanks_the_mentor_who_receives_it_and_may_share_it(
    session, program, app, clock, console
):
    await completed(session, app, clock)
    assert invites(console, "ann") == []  # the junior mentor is the one thanked
    [invite] = invites(console, "sam")
    assert "Ann" in invite.message.summary

    await session.press("sam", "Write a thank-you")
    assert "Sent" in text_of(await session.submit("sam", {"text": WORDS}))
    await app.engine.dispatch()
    [received] = [d for d in console.seen_by("ann") if "thank-you from Sam" in d.message.summary]
    assert WORDS not in received.message.model_dump_json()  # a pointer: the words stay sealed
    assert all(WORDS not in json.dumps(o.message) for o in await outbox(app))
    forged_read = ButtonAction(actor=session.actor("sam"), action_id="thanks.read", value="1")
    assert "isn't for you" in text_of(await app.engine.handle(forged_read))
    assert WORDS in text_of(await session.press("ann", "Read it"))

    [thanks] = [t for t in await rows(app) if t.author_id == 2]
    assert WORDS not in thanks.text_enc  # sealed at rest
    forged = ButtonAction(
        actor=session.actor("sam"), action_id="thanks.share", value=str(thanks.id)
    )
    assert "isn't for you" in text_of(await app.engine.handle(forged))

    assert "Shared" in text_of(await session.press("ann", "Share with the program team"))
    assert "already shared" in text_of(await session.press("ann", "Share with the program team"))
    await app.engine.dispatch()
    assert WORDS in text_of(await session.say("ann", "my-data"))
    [shared] = console.seen_by("#mentoring-admins")[-1:]
    assert WORDS in shared.message.model_dump_json() and "Ann shared" in shared.message.summary


async def test_one_thank_you_per_author_and_only_from_the_pair(
    session, program, app, clock, console
):
    await completed(session, app, clock)
    await session.press("sam", "Write a thank-you")
    await session.submit("sam", {"text": WORDS})
    again = FormSubmission(
        actor=session.actor("sam"), form_id="thanks", values={"text": "x"}, state={"pair_id": "1"}
    )
    assert "already sent" in text_of(await app.engine.handle(again))
    mentor = ButtonAction(actor=session.actor("ann"), action_id="thanks.write", value="1")
    assert "isn't open" in text_of(await app.engine.handle(mentor))
    stranger = ButtonAction(actor=session.actor("bob"), action_id="thanks.write", value="1")
    assert "isn't open" in text_of(await app.engine.handle(stranger))
    await session.press("sam", "Write a thank-you")
    assert len(await rows(app)) == 1


async def test_an_active_pair_cannot_send_thanks_yet(session, program, app):
    await one_pair(session, app)
    early = ButtonAction(actor=session.actor("sam"), action_id="thanks.write", value="1")
    assert "isn't open" in text_of(await app.engine.handle(early))


async def test_two_way_partners_thank_each_other(session, program, app, clock, console):
    await completed(session, app, clock, two_way=True)
    assert len(invites(console, "ann")) == 1 and len(invites(console, "sam")) == 1


async def test_admins_thank_everyone_once(session, program, app, console):
    await one_pair(session, app)
    assert "admins" in text_of(await session.say("ann", "admin thanks")).lower()
    await session.say(ADMIN, "admin thanks")
    assert "2 people" in text_of(await session.submit(ADMIN, {"text": "Thank you, all!"}))
    await session.say(ADMIN, "admin thanks")
    assert "0 people" in text_of(await session.submit(ADMIN, {"text": "Thank you, all!"}))
    await app.engine.dispatch()
    assert [d.to for d in console.delivered if "thank you" in d.message.summary] == ["ann", "sam"]


async def outbox(app):
    async with app.db.session() as s:
        return list((await s.exec(select(OutboxItem))).all())


async def rows(app):
    async with app.db.session() as s:
        return list((await s.exec(select(ThankYou))).all())
