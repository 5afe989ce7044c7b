"""A participant's data rights: a copy of everything stored about them (`my-data`), and
erasure (`forget`), which leaves only a non-identifying tombstone.

The export holds what *they* gave and what their pairs share (partner names, goals); never
their partner's check-ins, reviews or exclusions. Erasure ends their pairs the no-fault way,
cancels what was queued for them, and leaves already-published digests as they were.
"""

from __future__ import annotations

import json
import secrets

from bot.events import ButtonAction, Command
from bot.messages import Actions, Button, Divider, Fields, Heading, Say, Text, say
from flows import circles, preparation
from flows.checkins import LEADS, THEMES
from flows.context import FlowContext
from flows.ending import end_pair
from flows.participants import partner_in, role_label
from storage.models import Participant, Program


async def my_data(event: Command, ctx: FlowContext) -> Say:
    actor = event.actor
    person = await ctx.repos.people.find(actor.platform, actor.tenant, actor.user_id)
    enrolments = await ctx.repos.participants.everywhere(
        actor.platform, actor.tenant, actor.user_id
    )
    if person is None and not enrolments:  # the same test as `_holds_anything`
        return say("I hold nothing about you: you've never joined a program here.")
    blocks: list = [Heading(text="Everything Upward stores about you")]
    if person is not None:
        blocks.append(
            Fields(
                items=_present(
                    ("Name", person.display_name),
                    ("Email", person.email),
                    ("Job level (roster)", person.job_level),
                    ("Department (roster)", person.department),
                    ("Manager (roster)", person.manager_user_id),
                    ("Time zone", person.timezone),
                )
            )
        )
    for me in enrolments:
        blocks += [Divider(), *await _enrolment(ctx, me)]
    blocks.append(
        Text(
            text="Your partner's check-ins, reviews and exclusions are theirs and aren't "
            "shown here. `/mentoring forget` erases what is yours."
        )
    )
    return say("Everything Upward stores about you", *blocks)


async def _enrolment(ctx: FlowContext, me: Participant) -> list:
    program = await ctx.repos.programs.get(me.program_id)
    cipher = ctx.repos.cipher
    blocks: list = [
        Heading(text=f"Program: {program.name if program else me.program_id}"),
        Fields(
            items=_present(
                ("Role", role_label(me)),
                ("Status", STATUS_WORDS.get(me.status, me.status)),
                ("Joined", f"{me.joined_at:%d %B %Y}"),
                ("Can share", _topics(program, me.offers)),
                ("Wants to learn", _topics(program, me.wants)),
                ("Off-limits", _topics(program, me.off_limits)),
                ("Don't pair me with", await _excluded(ctx, me)),
                ("Time zone", me.timezone),
            )
        ),
    ]
    pairs = await ctx.repos.pairs.of_participant(me.id)  # type: ignore[arg-type]
    pair_ids = [p.id for p in pairs]
    checkins = [
        c for c in await ctx.repos.checkins.for_pairs(pair_ids) if c.participant_id == me.id
    ]
    reviews = [r for r in await ctx.repos.reviews.for_pairs(pair_ids) if r.participant_id == me.id]
    goals = await ctx.repos.goals.for_pairs(pair_ids)
    read = (await ctx.repos.card_reads.read_by([me.id]))[me.id]  # type: ignore[list-item]
    if read:
        titles = [card.title for card in preparation.library() if card.id in read]
        blocks.append(Text(text=f"Preparation cards read: {'; '.join(titles)}"))
    for thanks in await ctx.repos.thanks.involving(me.id):  # type: ignore[arg-type]
        way = "you wrote" if thanks.author_id == me.id else "you received"
        blocks.append(Text(text=f"A thank-you {way}: “{ctx.repos.thanks.text(thanks)}”"))
    for pair in pairs:
        if pair.status == "waiting":  # no name until the introduction, even here
            blocks.append(Text(text=f"Matched on {pair.started_at:%Y-%m-%d}, not yet introduced"))
            continue
        if pair.end_kind == "cancelled":  # never introduced: never named
            blocks.append(Text(text=f"A match on {pair.started_at:%Y-%m-%d} that didn't go ahead"))
            continue
        partner = await partner_in(ctx, pair, me)
        name = (partner.display_name if partner else "") or "a former participant"
        lines = [f"With {name}, {pair.status}, since {pair.started_at:%Y-%m-%d}"]
        agreed = await ctx.repos.agreements.get(pair.id)  # type: ignore[arg-type]
        if agreed:
            lines.append("• Your agreement: " + "; ".join(f"{k}: {v}" for k, v in agreed.items()))
        lines += [
            f"• Check-in {c.cycle}: met {'yes' if c.met else 'not yet'}; how it's going "
            f"{c.rating} of 5; {', '.join(THEMES.get(t, t) for t in c.themes) or 'no themes'}"
            + (f"; energy it took {c.energy} of 5" if c.energy else "")
            + (f"; who led: {LEADS[c.lead]}" if c.lead in LEADS else "")
            + (f"; note: {cipher.decrypt(c.note_enc, c.note_context)}" if c.note_enc else "")
            for c in checkins
            if c.pair_id == pair.id
        ]
        lines += [
            f"• {r.stage.title()} review: confidence {r.confidence_before}→{r.confidence_now}, "
            f"again {'yes' if r.again else 'no'}"
            + (
                f", what changed: {cipher.decrypt(r.changed_enc, r.changed_context)}"
                if r.changed_enc
                else ""
            )
            for r in reviews
            if r.pair_id == pair.id
        ]
        lines += [
            f"• {g.kind.title()}: {g.text}" + (" (done)" if g.done_at else "")
            for g in goals
            if g.pair_id == pair.id and me.id in (g.owner_id, g.created_by_id)
        ]
        blocks.append(Text(text="\n".join(lines)))
    for concern in await ctx.repos.concerns.by_author(me.id):  # type: ignore[arg-type]
        text = ctx.repos.concerns.text(concern)
        blocks.append(
            Text(text=f"Concern you raised, named, {concern.created_at:%Y-%m-%d}: {text}")
        )
    return blocks


STATUS_WORDS = {"active": "taking part", "paused": "paused", "left": "left the program"}


def _topics(program: Program | None, ids: list[str]) -> str:
    """The topics as the join form named them."""
    labels = program.topics if program else {}
    return ", ".join(labels.get(t, t.replace("_", " ")) for t in ids)


async def _excluded(ctx: FlowContext, me: Participant) -> str:
    """The people you asked not to be paired with, by name where the roster has one."""
    stored = ctx.repos.cipher.decrypt_optional(me.exclusions_enc, me.exclusions_context)
    names = []
    for user_id in json.loads(stored) if stored else []:
        person = await ctx.repos.people.find(me.platform, me.tenant, user_id)
        names.append((person.display_name if person else "") or user_id)
    return ", ".join(names)


def _present(*items: tuple[str, object]) -> tuple[tuple[str, str], ...]:
    return tuple((label, str(value)) for label, value in items if value not in (None, ""))


async def _holds_anything(ctx: FlowContext, event: Command) -> bool:
    actor = event.actor
    person = await ctx.repos.people.find(actor.platform, actor.tenant, actor.user_id)
    enrolments = await ctx.repos.participants.everywhere(
        actor.platform, actor.tenant, actor.user_id
    )
    if person is not None or enrolments:
        return True
    return await ctx.repos.accepted_forms.holds_any_of(actor.platform, actor.tenant, actor.user_id)


async def forget(event: Command, ctx: FlowContext) -> Say:
    if not await _holds_anything(ctx, event):
        return say("There's nothing to erase: I hold nothing about you.")
    summary = "Erase everything Upward stores about you?"
    return say(
        summary,
        Text(
            text=f"{summary} Your profile, answers, check-ins, reviews and goals are deleted, "
            "any pairing ends (your partner is told neutrally, as for any ending), and nothing "
            "more is sent to you. Digests already published stay as they are: they never "
            "named you. This can't be undone."
        ),
        Actions(
            buttons=(
                Button(action_id="forget.confirm", label="Erase my data", style="danger"),
                Button(action_id="forget.cancel", label="Keep it"),
            )
        ),
    )


async def confirm_forget(event: ButtonAction, ctx: FlowContext) -> Say:
    actor = event.actor
    for me in await ctx.repos.participants.everywhere(actor.platform, actor.tenant, actor.user_id):
        for pair in await ctx.repos.pairs.active_for(me.id):  # type: ignore[arg-type]
            await end_pair(ctx, pair, ended_by=me, kind="left")
        await preparation.cancel_waiting(ctx, me)
        await circles.withdraw(ctx, me)
        await ctx.repos.erasure.participant(me, tombstone=f"erased-{secrets.token_hex(8)}")
    await ctx.repos.outbox.cancel_pending_for(actor.key)
    await ctx.repos.erasure.person(actor.platform, actor.tenant, actor.user_id)
    await ctx.repos.accepted_forms.forget_person(actor.platform, actor.tenant, actor.user_id)
    return say(
        "Done: what Upward stored about you has been erased. "
        "`/mentoring join` starts afresh if you ever want to come back."
    )


async def cancel_forget(event: ButtonAction, ctx: FlowContext) -> Say:
    return say("Good: nothing was erased.")
