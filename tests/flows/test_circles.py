"""Transcripts: monthly mentor circles, for junior mentors only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from bot.events import ButtonAction
from flows.circles import LARGEST, circles_of
from storage.models import OutboxItem
from tests.conftest import ADMIN
from tests.helpers import matched, pilot, text_of

SENIORS = ("sam", "tom", "uma")


def circle_messages(console, user):
    return [d for d in console.seen_by(user) if d.message.summary.startswith("Your mentor circle")]


def invitations(console, user):
    return [d for d in console.seen_by(user) if "mentor circle:" in d.message.summary]


async def test_mentors_opt_in_and_meet_in_a_circle_without_seniors(
    session, program, app, clock, console
):
    await pilot(session, app)
    await matched(session, app)
    await app.engine.tick()
    await app.engine.tick()  # invitations go out once a month
    for mentor in ("ann", "bob", "cat"):
        assert len(invitations(console, mentor)) == 1
    for nobody in (*SENIORS, ADMIN):
        assert invitations(console, nobody) == []

    for mentor in ("ann", "bob"):
        assert "You're in" in text_of(await session.press(mentor, "Join this month's circle"))
    assert "already in" in text_of(await session.say("ann", "circle"))
    senior = ButtonAction(actor=session.actor("sam"), action_id="circle.join", value="1:2027-01")
    assert "for junior mentors" in text_of(await app.engine.handle(senior))

    clock.advance(timedelta(days=4))  # Friday the 8th: the circles form
    await app.engine.tick()
    await app.engine.tick()
    assert "have formed" in text_of(await session.say("cat", "circle"))
    [circle] = circle_messages(console, "ann")
    assert circle.where in ("group DM: @ann + @bob", "group DM: @bob + @ann")
    assert "This month's question" in circle.message.model_dump_json()
    assert len(circle_messages(console, "bob")) == 1
    for nobody in ("cat", *SENIORS, ADMIN):
        assert circle_messages(console, nobody) == []


async def test_a_lone_mentor_is_told_kindly(session, program, app, clock, console):
    await pilot(session, app)
    await matched(session, app)
    await app.engine.tick()
    await session.say("cat", "circle")
    clock.advance(timedelta(days=4))
    await app.engine.tick()
    assert circle_messages(console, "cat") == []
    assert any("Nobody else joined" in d.message.summary for d in console.seen_by("cat"))


async def test_an_old_invitation_cannot_join_a_later_month(session, program, app, clock):
    await pilot(session, app)
    await matched(session, app)
    old = ButtonAction(actor=session.actor("ann"), action_id="circle.join", value="1:2026-12")
    assert "has passed" in text_of(await app.engine.handle(old))


@given(ids=st.lists(st.integers(1, 10_000), unique=True, max_size=60), seed=st.text(max_size=8))
def test_circles_are_balanced_and_hold_everyone_once(ids, seed):
    circles = circles_of(ids, seed)
    if len(ids) < 2:
        assert circles == []
        return
    placed = [i for circle in circles for i in circle]
    assert sorted(placed) == sorted(ids)
    sizes = [len(c) for c in circles]
    assert max(sizes) <= LARGEST and max(sizes) - min(sizes) <= 1 and min(sizes) >= 2
    assert circles == circles_of(list(reversed(ids)), seed)  # replicas agree


async def test_someone_who_leaves_before_the_circle_message_goes_is_left_out(
    session, program, app, clock, console
):
    await pilot(session, app)
    await matched(session, app)
    await app.engine.tick()
    for mentor in ("ann", "bob", "cat"):
        await session.press(mentor, "Join this month's circle")
    clock.advance(timedelta(days=4, hours=9))  # the 8th, 18:00: formed, not yet sent
    await app.engine.tick()
    await session.say("cat", "forget")
    await session.press("cat", "Erase my data")
    clock.advance(timedelta(days=2, hours=15))  # Monday morning
    await app.engine.dispatch()
    [circle] = circle_messages(console, "ann")
    assert "Cat" not in circle.message.summary and "@cat" not in circle.where
    assert circle_messages(console, "cat") == []


async def test_an_invitation_is_never_delivered_after_its_circle_has_formed(
    session, program, app, clock, console
):
    """An outage over the opt-in week: February's invitation would say "join by the 7th"
    on the 9th. It expires instead of arriving."""
    await pilot(session, app)
    await matched(session, app)
    await app.engine.tick()
    assert len(invitations(console, "ann")) == 1  # January's
    clock.set(datetime(2027, 2, 1, 0, 30, tzinfo=UTC))  # queued, for working hours
    await app.engine.tick()
    clock.set(datetime(2027, 2, 9, 10, 0, tzinfo=UTC))  # the dispatcher is back after the 8th
    await app.engine.dispatch()
    assert len(invitations(console, "ann")) == 1
    async with app.db.session() as s:
        february = (
            await s.exec(
                select(OutboxItem).where(OutboxItem.key.startswith("circle-invite:1:2027-02"))
            )
        ).all()
    assert february and {item.status for item in february} == {"expired"}
