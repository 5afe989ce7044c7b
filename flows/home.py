"""A person's home view (Slack's App Home tab; any platform may show it): where they stand,
their goals with "done" buttons, and for admins a short summary."""

from __future__ import annotations

from bot.events import ButtonAction, Command
from bot.messages import Actions, Button, Divider, Heading, Say, ShowForm, Text, say
from flows import admin, goals, optin
from flows.context import FlowContext
from flows.participants import membership
from flows.programs import current_program


async def home(event: Command, ctx: FlowContext) -> Say:
    blocks: list = []
    found = await membership(ctx, event.actor)
    if found is None:
        program = await current_program(ctx)
        if program is None:
            blocks.append(Text(text="There is no mentoring program open right now."))
        else:
            blocks += [
                Heading(text=program.name),
                Text(
                    text="Reverse mentoring: share what leaders can't see from the top, or "
                    "learn it. Joining takes two minutes."
                ),
                Actions(buttons=(Button(action_id="join.open", label="Join", style="primary"),)),
            ]
    else:
        blocks += list((await optin.status(event, ctx)).message.blocks)
        if found.pairs:
            blocks += [Divider(), *(await goals.goal_lists(ctx, found)).message.blocks]
    if ctx.policy.is_admin(event.actor):
        blocks += [Divider(), *(await admin.admin_status(event, ctx)).message.blocks]
    return say("Your mentoring", *blocks)


async def join_button(event: ButtonAction, ctx: FlowContext) -> Say | ShowForm:
    command = Command(
        actor=event.actor,
        display_name=event.display_name,
        timezone=event.timezone,
        email=event.email,
        name="join",
    )
    return await optin.join(command, ctx)
