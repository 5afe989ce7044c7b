"""A participant's data rights: a copy of everything stored about them (`my-data`), and
erasure (`forget`), which leaves only a non-identifying tombstone.

The export holds what *they* gave and what their pairs share (partner names, goals); never
their partner's check-ins, reviews or exclusions. Erasure ends their pairs the no-fault way,
cancels what was queued for them, and leaves already-published digests as they were.
"""

from __future__ import annotations

import secrets

from bot.events import ButtonAction, Command
from bot.messages import Actions, Button, Divider, Fields, Heading, Say, Text, say
from flows import circles, preparation
from flows.context import FlowContext
from flows.ending import end_pair
from flows.participants import partner_in
from storage.models import Participant


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
                ("Role", me.role),
                ("Status", me.status),
                ("Joined", f"{me.joined_at:%Y-%m-%d}"),
                ("Offers", ", ".join(me.offers)),
                ("Wants", ", ".join(me.wants)),
                ("Off-limits", ", ".join(me.off_limits)),
                (
                    "Don't pair me with",
                    cipher.decrypt_optional(me.exclusions_enc, me.exclusions_context),
                ),
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
        blocks.append(Text(text=f"Preparation cards read: {', '.join(sorted(read))}"))
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
            f"• Check-in {c.cycle}: met {'yes' if c.met else 'no'}, rating {c.rating}, "
            f"themes {', '.join(c.themes) or 'none'}, energy {c.energy or '-'}"
            + (f", note: {cipher.decrypt(c.note_enc, c.note_context)}" if c.note_enc else "")
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


def _present(*items: tuple[str, object]) -> tuple[tuple[str, str], ...]:
    return tuple((label, str(value)) for label, value in items if value not in (None, ""))


async def _holds_anything(ctx: FlowContext, event: Command) -> bool:
    actor = event.actor
    person = await ctx.repos.people.find(actor.platform, actor.tenant, actor.user_id)
    enrolments = await ctx.repos.participants.everywhere(
        actor.platform, actor.tenant, actor.user_id
    )
    return person is not None or bool(enrolments)


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
