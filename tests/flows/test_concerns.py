"""Transcripts: raising a concern with the program lead, anonymously or named."""

from __future__ import annotations

from bot.messages import FormErrors, ShowForm
from storage.models import AuditEntry, Concern, OutboxItem
from tests.conftest import ADMIN
from tests.flows.test_cycles import one_pair, rows
from tests.helpers import text_of

WORRY = "zq-my partner keeps cancelling and it is getting awkward"


async def test_a_concern_reaches_the_lead_and_never_the_partner(session, program, app, console):
    await one_pair(session, app)
    form = await session.say("ann", "concern")
    assert isinstance(form[0], ShowForm)
    bad = await session.submit("ann", {"text": "  ", "named": "anonymous"})
    assert isinstance(bad[0], FormErrors) and set(bad[0].errors) == {"text"}
    assert await rows(app, Concern) == []

    await session.say("ann", "concern")
    thanks = text_of(await session.submit("ann", {"text": WORRY, "named": "anonymous"}))
    assert "anonymously" in thanks and "partner is not told" in thanks
    [stored] = await rows(app, Concern)
    assert stored.author_id is None and WORRY not in stored.text_enc
    await app.engine.dispatch()
    [notice] = [d for d in console.delivered if "concern" in d.message.summary]
    assert notice.to == "#mentoring-admins" and WORRY not in notice.message.model_dump_json()
    assert not [d for d in console.seen_by("sam") if "concern" in d.message.model_dump_json()]

    assert "only program admins" in text_of(await session.say("sam", "admin concerns"))
    read = text_of(await session.say(ADMIN, "admin concerns"))
    assert WORRY in read and "anonymous" in read and "Ann" not in read
    assert "No new concerns" in text_of(await session.say(ADMIN, "admin concerns"))
    stored_elsewhere = [*await rows(app, AuditEntry), *await rows(app, OutboxItem)]
    assert all(WORRY not in row.model_dump_json() for row in stored_elsewhere)


async def test_a_named_concern_shows_who_raised_it_and_is_theirs_to_export_or_erase(
    session, program, app
):
    await one_pair(session, app)
    await session.say("sam", "concern")
    await session.submit("sam", {"text": WORRY, "named": "named"})
    read = text_of(await session.say(ADMIN, "admin concerns"))
    assert WORRY in read and "from sam" in read.lower()
    assert WORRY in text_of(await session.say("sam", "my-data"))
    assert WORRY not in text_of(await session.say("ann", "my-data"))
    await session.say("sam", "forget")
    await session.press("sam", "Erase my data")
    assert await rows(app, Concern) == []


async def test_only_participants_can_raise_a_concern(session, program, app):
    assert "not in a mentoring program" in text_of(await session.say("zed", "concern"))
