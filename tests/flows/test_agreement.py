"""Transcripts: the first-meeting agreement a pair fills in together."""

from __future__ import annotations

import json

from sqlmodel import select

from bot.events import ButtonAction
from storage.models import OutboxItem, PairAgreement
from tests.conftest import ADMIN
from tests.flows.test_cycles import one_pair
from tests.helpers import text_of

OURS = {
    "focus": "How the new ticketing tool lands on the front line",
    "off_limits": "Salaries",
    "feedback": "Situation, behaviour, impact; five minutes at the end",
    "meet": "fortnightly",
}


def agreements_seen(console, user):
    return [d for d in console.seen_by(user) if "Your agreement" in d.message.summary]


async def test_either_partner_fills_it_in_and_both_receive_it(session, program, app, console):
    await one_pair(session, app)
    await app.engine.dispatch()
    await session.press("ann", "Fill in our agreement")
    assert session.open_forms["ann"].form_id == "agreement"
    await session.submit("ann", {**OURS, "focus": ""})
    assert "focus" in session.last_errors["ann"]
    assert "Saved" in text_of(await session.submit("ann", OURS))
    await app.engine.dispatch()
    for user in ("ann", "sam"):
        [seen] = agreements_seen(console, user)
        assert OURS["focus"] not in seen.message.model_dump_json()  # a pointer only
        shown = text_of(await session.press(user, "Read our agreement"))
        assert OURS["focus"] in shown and "Every two weeks" in shown
    assert agreements_seen(console, ADMIN) == [] and console.seen_by("#mentoring-admins") == []
    async with app.db.session() as s:
        queued = [json.dumps(o.message) for o in (await s.exec(select(OutboxItem))).all()]
    assert all(OURS["focus"] not in m and "Salaries" not in m for m in queued)
    reader = ButtonAction(actor=session.actor("bob"), action_id="agreement.read", value="1")
    assert "no agreement to show you" in text_of(await app.engine.handle(reader))

    await session.press("sam", "Change it")
    form = session.open_forms["sam"]
    assert {f.id: f.initial for f in form.fields}["focus"] == OURS["focus"]  # prefilled
    await session.submit("sam", {**OURS, "meet": "monthly"})
    await app.engine.dispatch()
    assert len(agreements_seen(console, "ann")) == 2

    async with app.db.session() as s:
        [row] = (await s.exec(select(PairAgreement))).all()
    assert OURS["focus"] not in row.answers_enc and "Salaries" not in row.answers_enc
    assert OURS["focus"] in text_of(await session.say("ann", "my-data"))


async def test_only_the_pair_can_open_or_submit_it(session, program, app):
    await one_pair(session, app)
    for outsider in (ADMIN, "bob"):
        event = ButtonAction(actor=session.actor(outsider), action_id="agreement.open", value="1")
        assert "isn't open to you" in text_of(await app.engine.handle(event))
