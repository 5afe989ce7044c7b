"""Transcripts: opting in, leaving, pausing, status and help."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.messages import FormErrors, ShowForm
from storage.models import Participant
from tests.helpers import join, text_of


async def participants(app) -> list[Participant]:
    async with app.db.session() as s:
        return list((await s.exec(select(Participant))).all())


async def test_join_shows_the_agreement_and_enrols_after_acceptance(session, program, app):
    replies = await session.say("alice", "/mentoring join")
    form = next(r.form for r in replies if isinstance(r, ShowForm))
    assert "Confidentiality" in form.intro and "No-fault exit" in form.intro
    assert {f.id for f in form.fields} >= {"role", "offers", "wants", "timezone", "agree"}

    replies = await join(session, "alice")
    assert "Welcome to Upward pilot" in text_of(replies)
    assert "Who can see what" in text_of(replies)
    [alice] = await participants(app)
    assert (alice.user_id, alice.role, alice.timezone) == ("alice", "mentor", "Europe/London")


async def test_nobody_is_enrolled_without_accepting_the_agreement(session, program, app):
    replies = await join(session, "bob", agree="")
    assert isinstance(replies[0], FormErrors)
    assert "agree" in replies[0].errors
    assert await participants(app) == []


async def test_bad_form_input_gets_field_errors_and_stores_nothing(session, program, app):
    replies = await join(session, "bob", role="boss", timezone="Mars/Olympus", offers=["nope"])
    assert isinstance(replies[0], FormErrors)
    assert set(replies[0].errors) >= {"role", "timezone", "offers"}
    assert await participants(app) == []


async def test_joining_twice_is_answered_kindly(session, program, app):
    await join(session, "alice")
    replies = await session.say("alice", "/mentoring join")
    assert "already in" in text_of(replies)
    assert len(await participants(app)) == 1


async def test_commands_for_people_not_opted_in(session, program):
    for command in ("status", "leave", "pause 2027-02-01", "end"):
        assert "not in a mentoring program" in text_of(await session.say("zed", command))


async def test_unknown_command_gets_help(session, program):
    text = text_of(await session.say("alice", "/mentoring dance"))
    assert "don't know the command `dance`" in text and "`/mentoring join`" in text


async def test_pause_until_a_date_then_resume_automatically(session, program, app, clock, console):
    await join(session, "alice")
    assert "couldn't read `tomorrow` as a date" in text_of(
        await session.say("alice", "pause tomorrow")
    )
    text = text_of(await session.say("alice", "pause until 2027-01-20"))
    assert "Paused until Wednesday 20 January 2027" in text
    [alice] = await participants(app)
    assert alice.status == "paused"

    clock.advance(timedelta(days=16))  # Wednesday 20 January, 09:00
    await app.engine.tick()
    [alice] = await participants(app)
    assert alice.status == "active"
    assert "pause is over" in console.seen_by("alice")[-1].message.summary


async def test_leave(session, program, app):
    await join(session, "alice")
    assert "You've left Upward pilot" in text_of(await session.say("alice", "leave"))
    [alice] = await participants(app)
    assert alice.status == "left"
    assert "not in a mentoring program" in text_of(await session.say("alice", "status"))
    await join(session, "alice")  # and can come back
    [alice] = await participants(app)
    assert alice.status == "active"


async def test_the_join_form_is_checked_early_without_storing_anything(program, app):
    """What lets the platform have its answer before the join is stored: a read-only check
    that answers field errors (or a final word), else nothing."""
    from bot.events import Actor, FormSubmission
    from tests.helpers import JOIN_DEFAULTS

    def submitted(user: str, **answers: str | list[str]) -> FormSubmission:
        values = {k: v for k, v in {**JOIN_DEFAULTS, **answers}.items() if v not in ("", [])}
        return FormSubmission(
            actor=Actor(platform="console", tenant="acme", user_id=user),
            form_id="join",
            values=values,
            state={"program_id": str(program)},
        )

    bad, good = submitted("bob", timezone="Mars/Olympus"), submitted("alice")
    assert app.engine.acks_first(bad) and app.engine.acks_first(good)
    [errors] = await app.engine.check(bad)
    assert isinstance(errors, FormErrors) and set(errors.errors) == {"timezone"}
    assert await app.engine.check(good) == []
    assert await participants(app) == []

    assert "Welcome" in text_of(await app.engine.handle_acked(good))
    [again] = await app.engine.check(good)
    assert "already in" in text_of([again])
    assert len(await participants(app)) == 1


async def test_each_wrong_pause_date_is_told_what_is_wrong(session, program, app):
    await join(session, "alice")
    for words, expected in (
        ("pause", "Tell me until when"),
        ("pause 2027-02-30", "couldn't read `2027-02-30` as a date that exists"),
        ("pause 2027-01-01", "isn't in the future"),
        ("pause 2027-09-01", "more than four months away; the latest is"),
    ):
        text = text_of(await session.say("alice", words))
        assert expected in text and "Nothing was changed" in text, (words, text)
    [alice] = await participants(app)
    assert alice.status == "active"


async def test_the_join_form_refuses_contradictions(session, program, app):
    replies = await join(session, "ben", avoid="ben", off_limits=["career_growth"])
    assert isinstance(replies[0], FormErrors)
    assert "That's you" in replies[0].errors["avoid"]
    assert "can't be off-limits and also" in replies[0].errors["off_limits"]
    assert await participants(app) == []
