"""A safe way to raise a concern: either partner tells the program lead, in confidence, that
something is wrong. The partner is never told. This is the only path by which an identified
concern reaches an admin, and only because its author chose to be named.

The text is encrypted and never travels in a message: admins are told *that* a concern was
raised (in the admin channel, with no content) and read it with `admin concerns`.
"""

from __future__ import annotations

from bot.events import Command, FormSubmission
from bot.messages import (
    Form,
    FormErrors,
    FormField,
    Heading,
    Message,
    Option,
    Say,
    ShowForm,
    Text,
    say,
)
from flows import copy
from flows.answers import one
from flows.channels import admin_channels
from flows.context import FlowContext
from flows.participants import membership
from flows.programs import current_program

MAX_TEXT = 2000


async def concern(event: Command, ctx: FlowContext) -> Say | ShowForm:
    found = await membership(ctx, event.actor)
    if found is None:
        return copy.not_enrolled()
    return ShowForm(
        form=Form(
            form_id="concern",
            title="Raise a concern",
            intro=(
                "Tell the program lead, in confidence, that something isn't right. Your "
                "partner is never told. Stay anonymous, or give your name so the lead can "
                "talk to you."
            ),
            fields=(
                FormField(
                    id="text",
                    label="What's wrong?",
                    type="long_text",
                    max_length=MAX_TEXT,
                ),
                FormField(
                    id="named",
                    label="Who the lead sees",
                    type="select",
                    options=(
                        Option(value="anonymous", label="Keep me anonymous"),
                        Option(value="named", label="Show my name, so they can follow up"),
                    ),
                    initial="anonymous",
                ),
            ),
            submit_label="Send to the lead",
            state={"program_id": str(found.program.id)},
        )
    )


async def submit_concern(event: FormSubmission, ctx: FlowContext) -> Say | FormErrors:
    found = await membership(ctx, event.actor)
    if found is None or str(found.program.id) != event.state.get("program_id"):
        return copy.not_enrolled()
    text = (one(event.values.get("text")) or "").strip()
    named = one(event.values.get("named")) or "anonymous"
    errors = {}
    if not text:
        errors["text"] = "Tell the lead what is wrong, in a sentence or two."
    elif len(text) > MAX_TEXT:
        errors["text"] = f"Please keep it under {MAX_TEXT} characters."
    if named not in ("anonymous", "named"):
        errors["named"] = "Choose whether the lead sees your name."
    if errors:
        return FormErrors(errors=errors)
    raised = await ctx.repos.concerns.raise_(
        found.program.id,  # type: ignore[arg-type]
        text,
        author_id=found.me.id if named == "named" else None,
        now=ctx.now,
    )
    notice = Message(
        summary="A participant raised a concern with the program lead",
        blocks=(
            Heading(text="A participant raised a concern"),
            Text(text="Read it with `/mentoring admin concerns` (admins only)."),
        ),
    )
    for channel in await admin_channels(ctx):
        await ctx.send(
            f"concern:{raised.id}:{channel.platform}:{channel.channel_id}", channel, notice
        )
    who = "with your name" if named == "named" else "anonymously"
    support = found.program.support or "Your program lead can also point you to support."
    return say(
        f"Thank you. Your concern reached the program lead {who}. Your partner is not told. "
        + support
    )


async def admin_concerns(event: Command, ctx: FlowContext) -> Say:
    """Concerns not read yet, oldest first; reading them marks them read."""
    program = await current_program(ctx)
    if program is None:
        return copy.no_program()
    unseen = await ctx.repos.concerns.unseen(program.id)  # type: ignore[arg-type]
    if not unseen:
        return say("No new concerns.")
    blocks: list = [Heading(text=f"New concerns ({len(unseen)})")]
    for concern in unseen:
        author = await ctx.repos.participants.get(concern.author_id) if concern.author_id else None
        who = f"from {author.display_name}" if author else "anonymous"
        blocks.append(
            Text(text=f"{concern.created_at:%Y-%m-%d}, {who}:\n{ctx.repos.concerns.text(concern)}")
        )
    await ctx.repos.concerns.mark_seen(unseen, ctx.now)
    return say(f"New concerns ({len(unseen)})", *blocks)
