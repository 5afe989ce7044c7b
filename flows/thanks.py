"""Recognition at the end: the mentored partner is invited to write the junior mentor a short
thank-you, which the mentor receives and may share; admins can thank everyone at once."""

from __future__ import annotations

from typing import Protocol

from bot.events import ButtonAction, Command, FormSubmission
from bot.messages import (
    Actions,
    Button,
    Form,
    FormErrors,
    FormField,
    Heading,
    Message,
    Say,
    ShowForm,
    Text,
    say,
)
from flows import copy
from flows.answers import one
from flows.channels import admin_channels
from flows.context import FlowContext
from flows.kickoff import announce
from flows.participants import is_actor, parse_id, partner_in, partner_role_in
from flows.programs import current_program
from storage.models import Pair, Participant, ThankYou

LIMIT = 1000


class _Pair(Protocol):
    id: int | None
    two_way: bool


def writers(pair: _Pair, members: tuple[Participant, Participant]) -> list[Participant]:
    """Who thanks whom: the mentee thanks the mentor; in a two-way pair, each the other."""
    mentor, mentee = members
    return [mentee, mentor] if pair.two_way else [mentee]


async def invite(ctx: FlowContext, pair: _Pair, members: tuple[Participant, Participant]) -> int:
    """At completion: ask whoever was mentored to write a thank-you."""
    queued = 0
    for author in writers(pair, members):
        other = members[1] if author.id == members[0].id else members[0]
        if author.status == "left" or other.status == "left":
            continue
        queued += await ctx.send_to(
            f"thanks-invite:{pair.id}:{author.id}",
            author,
            copy.notice(
                f"Would you write {other.display_name} a short thank-you?",
                f"A few lines on what {other.display_name} helped you see. They receive it "
                "from you; nobody else reads it unless they choose to share it.",
                buttons=(
                    Button(
                        action_id="thanks.write",
                        label="Write a thank-you",
                        value=str(pair.id),
                        style="primary",
                    ),
                ),
            ),
        )
    return queued


async def open_form(event: ButtonAction, ctx: FlowContext) -> Say | ShowForm:
    me, pair = await partner_role_in(ctx, event.value, event.actor)
    problem = await _cannot_write(ctx, me, pair)
    if problem:
        return say(problem)
    partner = await partner_in(ctx, pair, me)  # type: ignore[arg-type]
    name = partner.display_name if partner else "your partner"
    return ShowForm(
        form=Form(
            form_id="thanks",
            title="Say thank you",
            intro=f"{name} receives this from you, and may share it.",
            fields=(
                FormField(
                    id="text",
                    label=f"Your thank-you to {name}",
                    type="long_text",
                    max_length=LIMIT,
                ),
            ),
            submit_label="Send",
            state={"pair_id": str(pair.id)},  # type: ignore[union-attr]
        )
    )


async def submit(event: FormSubmission, ctx: FlowContext) -> Say | FormErrors:
    me, pair = await partner_role_in(ctx, event.state.get("pair_id", ""), event.actor)
    problem = await _cannot_write(ctx, me, pair)
    if problem:
        return say(problem)
    text = (one(event.values.get("text")) or "").strip()
    if not text or len(text) > LIMIT:
        return FormErrors(errors={"text": f"Write a few words (up to {LIMIT} characters)."})
    partner = await partner_in(ctx, pair, me)  # type: ignore[arg-type]
    thanks = await ctx.repos.thanks.write(pair.id, me.id, partner.id, text, ctx.now)  # type: ignore[union-attr, arg-type]
    if thanks is None:
        return say("You've already sent your thank-you. It has been delivered.")
    # A pointer, not the words: the outbox keeps what it sends, and the text belongs in
    # its sealed row (erased with `forget`).
    await ctx.send_to(
        f"thanks:{thanks.id}",
        partner,  # type: ignore[arg-type]
        copy.notice(
            f"A thank-you from {me.display_name}, your mentoring partner",  # type: ignore[union-attr]
            "It's yours to keep, and to share with the program team if you like.",
            buttons=(
                Button(
                    action_id="thanks.read", label="Read it", value=str(thanks.id), style="primary"
                ),
            ),
        ),
    )
    return say(f"Sent. {partner.display_name} will receive it in their working hours.")  # type: ignore[union-attr]


async def _cannot_write(ctx: FlowContext, me: Participant | None, pair: Pair | None) -> str:
    if me is None or pair is None or pair.status != "completed":
        return "This thank-you isn't open. Nothing changed."
    members = (
        await ctx.repos.participants.get(pair.mentor_id),
        await ctx.repos.participants.get(pair.mentee_id),
    )
    if me.id not in {w.id for w in writers(pair, members)}:  # type: ignore[arg-type]
        return "This thank-you isn't open. Nothing changed."
    return ""


async def _received(
    ctx: FlowContext, event: ButtonAction
) -> tuple[ThankYou | None, Participant | None]:
    """The thank-you a button names, and its recipient, only if the recipient pressed it."""
    number = parse_id(event.value)
    thanks = await ctx.repos.thanks.get(number) if number else None
    me = await ctx.repos.participants.get(thanks.recipient_id) if thanks else None
    if me is None or not is_actor(me, event.actor):
        return None, None
    return thanks, me


async def read(event: ButtonAction, ctx: FlowContext) -> Say:
    thanks, _me = await _received(ctx, event)
    if thanks is None:
        return say("That button isn't for you, or the thank-you was erased.")
    author = await ctx.repos.participants.get(thanks.author_id)
    from_whom = author.display_name if author and author.display_name else "your partner"
    return say(
        f"A thank-you from {from_whom}",
        Heading(text=f"A thank-you from {from_whom}"),
        Text(text=f"“{ctx.repos.thanks.text(thanks)}”"),
        Actions(
            buttons=(
                Button(
                    action_id="thanks.share",
                    label="Share with the program team",
                    value=str(thanks.id),
                ),
            )
        ),
    )


async def share(event: ButtonAction, ctx: FlowContext) -> Say:
    """The recipient, and only the recipient, shares their thank-you with the admins."""
    thanks, me = await _received(ctx, event)
    if thanks is None or me is None:
        return say("That button isn't for you. Nothing was shared.")
    if not await ctx.repos.thanks.mark_shared(thanks, ctx.now):  # type: ignore[arg-type]
        return say("You've already shared it. Thank you!")
    author = await ctx.repos.participants.get(thanks.author_id)  # type: ignore[union-attr]
    from_whom = author.display_name if author else "their partner"
    message = copy.notice(
        f"{me.display_name} shared a thank-you from {from_whom}:",
        f"“{ctx.repos.thanks.text(thanks)}”",  # type: ignore[arg-type]
    )
    for channel in await admin_channels(ctx):
        await ctx.send(
            f"thanks-shared:{thanks.id}:{channel.platform}:{channel.channel_id}", channel, message
        )  # type: ignore[union-attr]
    return say("Shared with the program team.")


# --- admins: a program-level thank-you -------------------------------------------------------


async def admin_thanks(event: Command, ctx: FlowContext) -> Say | ShowForm:
    program = await current_program(ctx)
    if program is None:
        return copy.no_program()
    return ShowForm(
        form=Form(
            form_id="admin.thanks",
            title="Thank everyone",
            intro="Sent to everyone taking part, in their own working hours.",
            fields=(
                FormField(id="text", label="Your message", type="long_text", max_length=LIMIT),
            ),
            submit_label="Send",
            state={"program_id": str(program.id)},
        )
    )


async def submit_admin_thanks(event: FormSubmission, ctx: FlowContext) -> Say | FormErrors:
    program = await ctx.repos.programs.get(parse_id(event.state.get("program_id", "")) or 0)
    if program is None:
        return copy.no_program()
    text = (one(event.values.get("text")) or "").strip()
    if not text or len(text) > LIMIT:
        return FormErrors(errors={"text": f"Write a few words (up to {LIMIT} characters)."})
    message = Message(
        summary=f"{program.name}: thank you",
        blocks=(Heading(text=f"{program.name}: thank you"), Text(text=text)),
    )
    queued = await announce(ctx, program, "program-thanks", message)
    return say(f"Your thank-you is on its way to {queued} people.")
