"""Ending well: no-fault exits, re-match requests, and the neutral word to the partner."""

from __future__ import annotations

from bot.events import ButtonAction, Command
from bot.messages import Actions, Button, Say, Text, say
from flows import copy
from flows.context import FlowContext
from flows.participants import membership, pair_members, partner_role_in
from storage.models import Pair, Participant


async def end_command(event: Command, ctx: FlowContext) -> Say:
    found = await membership(ctx, event.actor)
    if found is None:
        return copy.not_enrolled()
    if not found.pairs:
        return say("You're not in a pair right now, so there is nothing to end.")
    summary = "Ending is always OK, and nobody is at fault."
    buttons: list[Button] = []
    for pair, partner in found.pairs:
        suffix = f" with {partner.display_name}" if len(found.pairs) > 1 else ""
        buttons += [
            Button(
                action_id="end.confirm",
                label=f"End our pairing{suffix}",
                value=f"{pair.id}:ended",
                style="danger",
            ),
            Button(
                action_id="end.confirm",
                label=f"Ask for a re-match{suffix}",
                value=f"{pair.id}:rematch",
            ),
        ]
    buttons.append(Button(action_id="end.cancel", label="Keep going", value=""))
    return say(
        summary,
        Text(
            text=f"{summary} Your partner will only be told, neutrally, that the pairing has "
            "ended; never who ended it or why. Your choice is confidential."
        ),
        Actions(buttons=tuple(buttons)),
    )


async def confirm_end(event: ButtonAction, ctx: FlowContext) -> Say:
    pair_text, _, kind = event.value.partition(":")
    me, pair = await partner_role_in(ctx, pair_text, event.actor)
    if pair is None or me is None or pair.status != "active" or kind not in ("ended", "rematch"):
        return say("That button is from a pairing that has already ended. Nothing was changed.")
    if not await end_pair(ctx, pair, ended_by=me, kind=kind):
        return say("That button is from a pairing that has already ended. Nothing was changed.")
    if kind == "rematch":
        return say("Done. Your pairing has ended; you'll have priority at the next matching round.")
    return say("Done. Your pairing has ended. Thank you for the time you gave it.")


async def cancel_end(event: ButtonAction, ctx: FlowContext) -> Say:
    return say("Good: nothing has changed.")


async def end_pair(ctx: FlowContext, pair: Pair, *, ended_by: Participant, kind: str) -> bool:
    """End a pair. Both partners hear the same neutral sentence whatever the reason, both go
    first at the next matching round, and anything still queued for the pair is cancelled.
    Nothing stored says which partner ended it (`kind` is ended, rematch or left)."""
    if not await ctx.repos.pairs.end_if_active(pair, at=ctx.now, kind=kind):
        return False
    await ctx.repos.outbox.cancel_pending_for_pair(pair.id)  # type: ignore[arg-type]
    for member in await pair_members(ctx, pair):
        if member.status == "left" or (member.id == ended_by.id and kind == "left"):
            continue
        member.priority = True
        await ctx.repos.participants.save(member)
        await ctx.send_to(f"pair-ended:{pair.id}:{member.id}", member, copy.pair_ended())
    return True
