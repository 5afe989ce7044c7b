"""Transcripts: programs by admin command, admin status with delivery failures, roster."""

from __future__ import annotations

import re

from sqlmodel import select

from bot.errors import PermanentDeliveryError
from bot.messages import FormErrors, ShowForm
from flows.roster import import_roster
from storage.models import Program
from tests.conftest import ADMIN
from tests.helpers import join, matched, text_of


async def test_admin_creates_a_program_with_a_form(session, app):
    replies = await session.say(ADMIN, "admin program")
    assert isinstance(replies[0], ShowForm)
    bad = await session.submit(
        ADMIN, {"name": "", "slug": "Bad Slug!", "focus": "cooking", "topics": "one"}
    )
    assert isinstance(bad[0], FormErrors)
    assert set(bad[0].errors) >= {"name", "slug", "focus", "topics"}
    assert "no mentoring program open" in text_of(await session.say("ann", "join"))

    values = {
        "name": "Inclusion circle",
        "slug": "inclusion-2027",
        "focus": "inclusion",
        "topics": "Accessibility, Hybrid work, Feedback culture",
        "cadence": "monthly",
        "duration_months": "4",
        "mentor_capacity": "1",
        "anonymity_threshold": "3",
    }
    text = text_of(await session.submit(ADMIN, values))
    assert "“Inclusion circle” created: 3 topics, monthly, 4 months, k = 3" in text
    form = next(r.form for r in await session.say("ann", "join") if isinstance(r, ShowForm))
    offers = next(f for f in form.fields if f.id == "offers")
    assert [o.value for o in offers.options] == ["accessibility", "hybrid_work", "feedback_culture"]


async def test_the_program_form_refuses_a_threshold_below_three(session, app):
    await session.say(ADMIN, "admin program")
    values = {
        "name": "X pilot",
        "slug": "x",
        "focus": "general",
        "topics": "A, B",
        "anonymity_threshold": "2",
    }
    bad = await session.submit(ADMIN, {**values, "slug": "x-pilot"})
    assert isinstance(bad[0], FormErrors) and "anonymity_threshold" in bad[0].errors


async def test_a_permanent_delivery_failure_shows_in_admin_status(session, program, app, console):
    await join(session, "ann", role="mentor", offers=["ai_tools"], wants=["career_growth"])
    await join(session, "sam", role="mentee", offers=["career_growth"], wants=["ai_tools"])
    deliver = console.deliver

    async def gone(address, message, *, key):
        if key.startswith("intro:"):
            raise PermanentDeliveryError("user_not_found: the person has left the workspace")
        return await deliver(address, message, key=key)

    console.deliver = gone  # the platform answers that the person is gone
    await matched(session, app)
    text = text_of(await session.say(ADMIN, "admin status"))
    assert "Could not be delivered" in text
    assert re.search(r"• intro #\d+: user_not_found: the person has left the workspace", text)
    assert "intro:" not in text  # the kind of message, not its key
    assert "Messages failed: 1" in text


async def test_roster_import_reports_bad_rows_and_keeps_good_ones(app):
    csv_text = (
        "user_id,job_level,timezone\nann,1,Europe/London\n,2,UTC\nbob,senior,UTC\ncat,3,Mars/Base\n"
    )
    report = await app.engine.run(
        lambda ctx: import_roster(ctx, csv_text, platform="console", tenant="acme")
    )
    assert report.imported == 1
    assert report.problems == [
        "line 3: no user_id or email",
        "line 4: job_level must be a whole number",
        "line 5: unknown time zone 'Mars/Base'",
    ]


async def test_help_lists_admin_commands_only_for_admins(session, program):
    assert "admin match" not in text_of(await session.say("ann", "help"))
    assert "admin match" in text_of(await session.say(ADMIN, "help"))


async def test_editing_a_program_keeps_topic_ids_support_and_pilot(session, program, app):
    await join(session, "ann", offers=["data_literacy"], wants=["career_growth"])
    form = next(
        r.form
        for r in await session.say(ADMIN, "admin program upward-pilot")
        if isinstance(r, ShowForm)
    )
    values = {f.id: f.initial for f in form.fields if f.initial is not None}
    assert values["pilot"] == "yes" and "wellbeing team" in values["support"]

    dropped = {**values, "topics": "AI tools, Social media"}
    bad = await session.submit(ADMIN, dropped)
    assert isinstance(bad[0], FormErrors) and "Data & analytics" in bad[0].errors["topics"]

    text = text_of(await session.submit(ADMIN, {**values, "name": "Upward pilot 2027"}))
    assert "“Upward pilot 2027” updated" in text
    async with app.db.session() as s:
        saved = (await s.exec(select(Program))).one()
    assert saved.pilot and "wellbeing team" in saved.support
    assert "data_literacy" in saved.topics  # not renamed to data_analytics


async def test_admin_channel_here_is_said_in_the_channel_and_audited(session, app, program):
    from bot.events import Command
    from storage.models import AdminChannel, AuditEntry

    def said(user: str, where: str | None, *args: str) -> Command:
        return Command(
            actor=session.actor(user), name="admin", args=("channel", *args), where=where
        )

    dm = text_of(await app.engine.handle(said(ADMIN, None, "here")))
    assert "in the channel itself" in dm
    refused = text_of(await app.engine.handle(said("ann", "C-general", "here")))
    assert "admins" in refused.lower()
    done = text_of(await app.engine.handle(said(ADMIN, "C-admins", "here")))
    assert "digests will be posted in this channel" in done
    again = text_of(await app.engine.handle(said(ADMIN, "C-admins", "here")))
    assert "already" in again
    listing = text_of(await app.engine.handle(said(ADMIN, None)))
    assert "C-admins" in listing and "mentoring-admins" in listing
    async with app.db.session() as s:
        [chosen] = (await s.exec(select(AdminChannel))).all()
        outcomes = [(e.action, e.outcome) for e in (await s.exec(select(AuditEntry))).all()]
    assert chosen.channel_id == "C-admins" and chosen.added_by == f"console:acme:{ADMIN}"
    assert ("admin channel", "refused") in outcomes and ("admin channel", "ok") in outcomes
    off = text_of(await app.engine.handle(said(ADMIN, "C-admins", "off")))
    assert "no longer" in off


async def test_admin_kickoff_announces_to_everyone_in_their_working_hours(
    session, program, app, console, clock
):
    from tests.helpers import join

    await join(session, "ann")
    await join(session, "sam", role="mentee", offers=["career_growth"], wants=["ai_tools"])
    assert "only program admins" in text_of(await session.say("ann", "admin kickoff"))
    form = await session.say(ADMIN, "admin kickoff")
    assert isinstance(form[0], ShowForm)
    bad = await session.submit(ADMIN, {"date": "2020-01-01", "time": "", "link": "x"})
    assert isinstance(bad[0], FormErrors) and set(bad[0].errors) == {"date", "time", "agenda"}
    answers = {
        "date": "2027-01-20",
        "time": "15:00 Europe/London",
        "link": "https://meet.example/kick",
        "agenda": "Why we do this; confidentiality; questions",
    }
    await session.say(ADMIN, "admin kickoff")
    done = text_of(await session.submit(ADMIN, answers))
    assert "on its way to 2 people" in done
    await session.say(ADMIN, "admin kickoff")
    await session.submit(ADMIN, answers)  # the same announcement again: queued once
    await app.engine.dispatch()
    for user in ("ann", "sam"):
        kickoffs = [d for d in console.seen_by(user) if "kick-off" in d.message.summary]
        assert len(kickoffs) == 1
        assert "https://meet.example/kick" in kickoffs[0].message.model_dump_json()
