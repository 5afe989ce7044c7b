"""Transcripts: a participant's copy of their data, and erasure with a tombstone."""

from __future__ import annotations

from datetime import timedelta

from bot.events import FormSubmission
from bot.messages import ShowForm
from storage.models import (
    CheckIn,
    ContactAddress,
    Digest,
    OutboxItem,
    PairAgreement,
    Participant,
    Person,
)
from tests.conftest import ADMIN
from tests.flows.test_cycles import one_pair, rows
from tests.helpers import text_of

ANN_NOTE, SAM_NOTE = "ann-only-note-41c9", "sam-only-note-88d2"


async def check_in(session, user: str, note: str) -> None:
    replies = await session.press(user, "Check in privately")
    assert any(isinstance(r, ShowForm) for r in replies)
    answers = {"met": "yes", "rating": "4", "themes": ["great_progress"], "energy": "3"}
    await session.submit(user, {**answers, "note": note})


async def both_checked_in(session, app, clock) -> None:
    await one_pair(session, app)
    await session.say("sam", "goals add")
    await session.submit("sam", {"text": "Shadow a support shift", "kind": "commitment"})
    clock.advance(timedelta(days=15))
    await app.engine.tick()
    await check_in(session, "ann", ANN_NOTE)
    await check_in(session, "sam", SAM_NOTE)
    assert len(await rows(app, CheckIn)) == 2


async def test_my_data_is_everything_of_mine_and_nothing_private_of_my_partner(
    session, program, app, clock
):
    await both_checked_in(session, app, clock)
    mine = text_of(await session.say("ann", "my-data"))
    assert ANN_NOTE in mine and "Role: mentor" in mine
    assert "With Sam, active" in mine
    assert SAM_NOTE not in mine
    # In the words the forms used, never internal ids.
    assert "Great progress" in mine and "great_progress" not in mine
    assert "how it's going 4 of 5" in mine and "energy it took 3 of 5" in mine
    assert "ai_tools" not in mine and "Status: taking part" in mine
    theirs = text_of(await session.say("sam", "my-data"))
    assert SAM_NOTE in theirs and ANN_NOTE not in theirs
    assert "Shadow a support shift" in theirs
    assert "nothing" in text_of(await session.say("zed", "my-data"))


async def test_forget_erases_leaves_a_tombstone_and_keeps_published_digests(
    session, program, app, clock, console
):
    await both_checked_in(session, app, clock)
    clock.set(clock.now().replace(month=2, day=1, hour=9))
    await app.engine.tick()
    [digest_before] = await rows(app, Digest)

    warning = text_of(await session.say("ann", "forget"))
    assert "can't be undone" in warning
    assert "nothing was erased" in text_of(await session.press("ann", "Keep it")).lower()
    await session.say("ann", "forget")
    done = text_of(await session.press("ann", "Erase my data"))
    assert "erased" in done

    people = {p.user_id for p in await rows(app, Person)}
    assert "ann" not in people
    ann = [p for p in await rows(app, Participant) if p.user_id.startswith("erased-")]
    assert len(ann) == 1 and ann[0].display_name == "" and ann[0].offers == []
    assert [c.participant_id for c in await rows(app, CheckIn)] != [] and all(
        c.participant_id != ann[0].id for c in await rows(app, CheckIn)
    )
    assert not [c for c in await rows(app, ContactAddress) if c.user_id == "ann"]
    pending_for_ann = [i for i in await rows(app, OutboxItem) if i.recipient == "console:acme:ann"]
    assert all(i.status != "pending" for i in pending_for_ann)
    await app.engine.dispatch()
    assert any("come to an end" in d.message.summary for d in console.seen_by("sam"))

    await session.say(ADMIN, "admin digest")  # the same closed month, posted again
    [digest_after] = await rows(app, Digest)
    assert digest_after.figures == digest_before.figures
    assert "I hold nothing about you" in text_of(await session.say("ann", "my-data"))
    assert "not in a mentoring program" in text_of(await session.say("ann", "status"))


async def test_check_in_text_is_purged_after_the_retention_period(session, program, app, clock):
    await both_checked_in(session, app, clock)
    agreed = {"focus": "Tools", "feedback": "SBI", "meet": "monthly"}
    await app.engine.handle(
        FormSubmission(
            actor=session.actor("sam"), form_id="agreement", values=agreed, state={"pair_id": "1"}
        )
    )
    await session.say("ann", "end")
    await session.press("ann", "End our pairing")
    clock.advance(timedelta(days=89))
    await app.engine.tick()
    assert all(c.note_enc for c in await rows(app, CheckIn))
    assert len(await rows(app, PairAgreement)) == 1
    clock.advance(timedelta(days=2))
    report = await app.engine.tick()
    assert report.queued["retention"] == 3  # two notes and the pair's agreement
    assert await rows(app, PairAgreement) == []
    checkins = await rows(app, CheckIn)
    opened = [app.engine.cipher.decrypt_json(c.answers_enc, c.answers_context) for c in checkins]
    assert len(checkins) == 2 and all(c.note_enc is None for c in checkins)
    assert all(answers["rating"] == 4 for answers in opened)  # the sealed answers stay


async def test_forget_offers_nothing_to_erase_when_nothing_is_held(session, program, app):
    assert "I hold nothing about you" in text_of(await session.say("zed", "my-data"))
    text = text_of(await session.say("zed", "forget"))
    assert "nothing to erase" in text and "Erase my data" not in text
