"""Transcripts over time: prompts, confidential check-ins, goals and nudges, reviews."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from datetime import timedelta

from sqlmodel import select

from bot.events import ButtonAction
from bot.messages import FormErrors, ShowForm
from flows.prompts import library
from storage.models import AuditEntry, CheckIn, Digest, PairPrompt
from tests.conftest import ADMIN
from tests.helpers import join, matched, opened_checkins, text_of

MARKER = "zq-private-7f3a-marker"


async def one_pair(session, app, *, two_way=False):
    role_a, role_b = ("two_way", "two_way") if two_way else ("mentor", "mentee")
    await join(
        session, "ann", role=role_a, offers=["ai_tools", "social_media"], wants=["career_growth"]
    )
    await join(
        session, "sam", role=role_b, offers=["career_growth"], wants=["ai_tools", "social_media"]
    )
    await matched(session, app)


def prompts_seen(console, user):
    return [
        d for d in console.seen_by(user) if d.message.summary.startswith("Conversation starter")
    ]


async def rows(app, model):
    async with app.db.session() as s:
        return list((await s.exec(select(model))).all())


async def test_one_prompt_per_cycle_never_repeated(session, program, app, clock, console):
    await one_pair(session, app)
    for _ in range(6 * 31):
        clock.advance(timedelta(days=1))
        await app.engine.tick()
    prompts = prompts_seen(console, "ann")
    assert len(prompts) == 6
    assert [p.message for p in prompts] == [p.message for p in prompts_seen(console, "sam")]
    used = [p.prompt_id for p in await rows(app, PairPrompt)]
    assert len(set(used)) == 6
    by_id = {p.id: p for p in library()}
    assert all(by_id[i].topics & {"ai_tools", "social_media"} for i in used[:3])


async def test_a_long_outage_sends_only_the_current_prompt(session, program, app, clock, console):
    await one_pair(session, app)
    clock.advance(timedelta(days=100))  # the process was down for three months
    await app.engine.tick()
    summaries = [d.message.summary for d in prompts_seen(console, "ann")]
    assert len(summaries) == 1 and "month 4" in summaries[0]


async def test_two_way_pairs_alternate_who_leads(session, program, app, clock, console):
    await one_pair(session, app, two_way=True)
    for _ in range(70):
        clock.advance(timedelta(days=1))
        await app.engine.tick()
    leads = [p.lead_id for p in await rows(app, PairPrompt)]
    assert len(leads) == 3
    assert leads[0] != leads[1] and leads[1] != leads[2]


async def test_paused_partner_gets_no_prompt_until_resumed(session, program, app, clock, console):
    await one_pair(session, app)
    await session.say("sam", "pause 2027-02-01")
    clock.advance(timedelta(days=8))
    await app.engine.tick()
    assert prompts_seen(console, "ann") == []
    clock.set(clock.now().replace(month=2, day=1, hour=9))
    await app.engine.tick()
    assert len(prompts_seen(console, "ann")) == 1


async def test_checkin_is_private_encrypted_and_never_logged(
    session, program, app, clock, console, caplog
):
    caplog.set_level(logging.DEBUG)
    await one_pair(session, app)
    clock.advance(timedelta(days=15))  # a week after the first prompt
    await app.engine.tick()
    assert [d for d in console.seen_by("ann") if "private check-in" in d.message.summary]
    replies = await session.press("ann", "Check in privately")
    form = next(r.form for r in replies if isinstance(r, ShowForm))
    assert {f.id for f in form.fields} >= {"met", "rating", "themes", "energy", "note"}

    bad = await session.submit("ann", {"met": "maybe", "rating": "9"})
    assert isinstance(bad[0], FormErrors) and set(bad[0].errors) == {"met", "rating"}
    assert await rows(app, CheckIn) == []

    answers = {
        "met": "yes",
        "rating": "4",
        "themes": ["great_progress"],
        "energy": "5",
        "note": MARKER,
    }
    text = text_of(await session.submit("ann", answers))
    assert "your partner won't see it" in text
    assert "wellbeing" in text  # a heavy conversation gets a pointer to support, for her only
    [stored] = await rows(app, CheckIn)
    assert stored.note_enc and MARKER not in stored.note_enc
    assert app.engine.cipher.decrypt(stored.note_enc, stored.note_context) == MARKER

    for _ in range(60):
        clock.advance(timedelta(days=1))
        await app.engine.tick()
    replies_to_others = [
        *await session.say(ADMIN, "admin digest"),
        *await session.say(ADMIN, "admin status"),
        *await session.say(ADMIN, "admin audit"),
        *await session.say("sam", "status"),
        *await session.say("sam", "goals"),
    ]
    await app.engine.dispatch()
    everything_sent = [d for d in console.delivered if d.to != "ann"]
    assert any(d.to == "#mentoring-admins" for d in everything_sent)
    assert any(d.to == "sam" for d in everything_sent)
    seen_by_others = [d.message.model_dump_json() for d in everything_sent] + [
        r.model_dump_json() for r in replies_to_others
    ]
    assert all(MARKER not in seen for seen in seen_by_others)
    stored_elsewhere = [*await rows(app, AuditEntry), *await rows(app, Digest)]
    assert all(MARKER not in row.model_dump_json() for row in stored_elsewhere)
    assert MARKER not in caplog.text

    await app.db.engine.dispose()  # then fold the write-ahead log into the file
    with contextlib.closing(sqlite3.connect(app.db.sqlite_path)) as raw:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    folder = app.db.sqlite_path.parent
    on_disk = b"".join(f.read_bytes() for f in folder.iterdir() if f.name.startswith("upward.db"))
    assert on_disk and MARKER.encode() not in on_disk


async def test_partner_cannot_open_or_submit_the_other_partners_checkin(
    session, program, app, clock
):
    await one_pair(session, app)
    await join(session, "eve", role="mentor", offers=["ai_tools"], wants=["career_growth"])
    clock.advance(timedelta(days=15))
    await app.engine.tick()
    await session.press("ann", "Check in privately")
    form = session.open_forms["ann"]
    session.open_forms["eve"] = form  # an outsider replays ann's form
    text = text_of(await session.submit("eve", {"met": "yes", "rating": "1"}))
    assert "no longer open" in text
    assert await rows(app, CheckIn) == []


async def test_double_submission_stores_one_answer(session, program, app, clock):
    await one_pair(session, app)
    clock.advance(timedelta(days=15))
    await app.engine.tick()
    await session.press("sam", "Check in privately")
    form = session.open_forms["sam"]
    await session.submit("sam", {"met": "yes", "rating": "3"})
    session.open_forms["sam"] = form
    await session.submit("sam", {"met": "yes", "rating": "5"})
    [stored] = await opened_checkins(app)
    assert stored.rating == 5


async def test_goals_add_list_done_and_a_nudge_once_per_cycle(
    session, program, app, clock, console
):
    await one_pair(session, app)
    await session.say("sam", "goals add")
    bad = await session.submit(
        "sam", {"text": "", "kind": "goal", "owner": "me", "due": "yesterday"}
    )
    assert isinstance(bad[0], FormErrors) and set(bad[0].errors) == {"text", "due"}
    await session.submit(
        "sam",
        {
            "text": "I will try the AI assistant",
            "kind": "commitment",
            "owner": "me",
            "due": "2027-01-20",
        },
    )
    await app.engine.dispatch()
    assert "Sam added a commitment" in console.seen_by("ann")[-1].message.summary
    assert "I will try the AI assistant" in text_of(await session.say("ann", "goals"))

    for _ in range(20):
        clock.advance(timedelta(days=1))
        await app.engine.tick()
    nudges = [d for d in console.seen_by("sam") if "gentle reminder" in d.message.summary]
    assert len(nudges) == 1  # at most once per cycle per reason
    assert "✓" not in text_of(await session.say("sam", "goals"))
    await session.press("sam", "Done: I will try the AI assistant")
    assert "✓ I will try the AI assistant" in text_of(await session.say("sam", "goals"))


async def test_a_pair_that_never_met_gets_one_gentle_nudge(session, program, app, clock, console):
    await one_pair(session, app)
    for _ in range(45):
        clock.advance(timedelta(days=1))
        await app.engine.tick()
    nudges = [d for d in console.delivered if "without a conversation" in d.message.summary]
    assert {d.to for d in nudges} == {"ann", "sam"} and len(nudges) == 2  # one group DM


async def test_end_is_no_fault_and_the_partner_is_told_neutrally(session, program, app, console):
    await one_pair(session, app)
    await session.say("sam", "end")
    await session.press("sam", "End our pairing")
    await app.engine.dispatch()
    [notice] = [d for d in console.seen_by("ann") if "come to an end" in d.message.summary]
    assert "sam" not in notice.message.model_dump_json().lower()  # never who or why
    assert "Not paired yet" in text_of(await session.say("ann", "status"))


async def test_midpoint_and_final_reviews_then_the_pilot_report(
    session, program, app, clock, console
):
    await one_pair(session, app)
    # The pairing ends in July; the report follows July's digest, early in August.
    for _ in range(212):
        clock.advance(timedelta(days=1))
        await app.engine.tick()
        for user in ("ann", "sam"):
            for button in list(console.buttons.get(user, ())):
                if button.action_id == "review.open":
                    await session.press(user, button.label)
                    await session.submit(
                        user,
                        {
                            "confidence_before": "2",
                            "confidence_now": "4",
                            "again": "yes",
                            "changed": MARKER,
                        },
                    )
                    console.buttons[user] = ()
    reviews = [
        d
        for d in console.seen_by("ann")
        if "review" in d.message.summary.lower() or "complete" in d.message.summary
    ]
    assert len(reviews) == 2
    reports = [d for d in console.delivered if "end-of-pilot report" in d.message.summary]
    assert len(reports) == 1
    assert MARKER not in reports[0].message.model_dump_json()
    assert "Pairs: 1 completed" in text_of(await session.say(ADMIN, "admin status"))


async def test_a_forged_checkin_button_for_another_cycle_is_refused(session, program, app, clock):
    await one_pair(session, app)
    clock.advance(timedelta(days=15))
    await app.engine.tick()
    for value in ("1:7", "1:0", "1:x", "999:1", "junk"):
        event = ButtonAction(actor=session.actor("ann"), action_id="checkin.open", value=value)
        assert "no longer open" in text_of(await app.engine.handle(event)), value


async def test_leaving_cancels_messages_still_queued_for_you(session, program, app, clock, console):
    await one_pair(session, app)
    for mentor in ("eve", "fay"):  # two mentors and no mentee: nobody can be matched
        await join(session, mentor, role="mentor", offers=["ai_tools"], wants=["career_growth"])
    await session.say("boss", "admin match 1")
    assert "2 people told" in text_of(await session.say("boss", "admin match approve"))
    await session.say("eve", "leave")  # eve leaves before her message goes out
    await app.engine.dispatch()
    assert console.seen_by("eve") == []
    assert len(console.seen_by("fay")) == 1


async def test_a_pair_drifting_top_down_gets_a_gentle_suggestion_for_the_author_only(
    session, program, app, clock, console
):
    await one_pair(session, app)
    clock.advance(timedelta(days=15))
    await app.engine.tick()
    await session.press("sam", "Check in privately")
    form = session.open_forms["sam"]
    assert "lead" in {f.id for f in form.fields}
    answers = {"met": "yes", "rating": "4", "themes": [], "lead": "senior"}
    thanks = text_of(await session.submit("sam", answers))
    assert "more junior partner leads" in thanks
    [stored] = await opened_checkins(app)
    assert stored.lead == "senior"
    await app.engine.dispatch()
    assert not [d for d in console.seen_by("ann") if "junior partner leads" in str(d.message)]
