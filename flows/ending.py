"""Ending well: no-fault exits, re-match requests, and the neutral word to the partner."""

from __future__ import annotations

from bot.events import ButtonAction, Command
from bot.messages import Actions, Button, Say, Text, say
from flows import copy
from flows.context import FlowContext
from flows.participants import membership, partner_in
from storage.models import Pair, Participant

END_KINDS = ("ended", "rematch", "left", "completed")


async def end_command(event: Command, ctx: FlowContext) -> Say:
    found = await membership(ctx, event.actor)
    if found is None:
        return copy.not_enrolled()
    if found.pair is None:
        return say("You're not in a pair right now, so there is nothing to end.")
    summary = "Ending is always OK, and nobody is at fault."
    return say(
        summary,
        Text(
            text=f"{summary} Your partner will only be told, neutrally, that the pairing has "
            "ended; never who ended it or why. Your choice is confidential."
        ),
        Actions(
            buttons=(
                Button(
                    action_id="end.confirm", label="End our pairing", value="ended", style="danger"
                ),
                Button(action_id="end.confirm", label="Ask for a re-match", value="rematch"),
                Button(action_id="end.cancel", label="Keep going", value=""),
            )
        ),
    )


async def confirm_end(event: ButtonAction, ctx: FlowContext) -> Say:
    found = await membership(ctx, event.actor)
    if found is None or found.pair is None:
        return say("There is no active pairing to end.")
    kind = "rematch" if event.value == "rematch" else "ended"
    await end_pair(ctx, found.pair, ended_by=found.me, kind=kind)
    if kind == "rematch":
        return say(
            "Done. Your pairing has ended and you'll be first in line at the next matching round."
        )
    return say("Done. Your pairing has ended. Thank you for the time you gave it.")


async def cancel_end(event: ButtonAction, ctx: FlowContext) -> Say:
    return say("Good: nothing has changed.")


async def end_pair(ctx: FlowContext, pair: Pair, *, ended_by: Participant, kind: str) -> None:
    """End a pair. The partner hears the same neutral sentence whatever the reason, and
    goes first at the next matching round; pending messages to the pair are cancelled."""
    pair.status, pair.ended_at, pair.end_kind = "ended", ctx.now, kind
    await ctx.repos.pairs.save(pair)
    await ctx.repos.outbox.cancel_pending_for(f"pair:{pair.id}")
    partner = await partner_in(ctx, pair, ended_by)
    if partner is not None and partner.status != "left":
        partner.priority = True
        await ctx.repos.participants.save(partner)
        await ctx.send_to(f"pair-ended:{pair.id}:{partner.id}", partner, copy.pair_ended())
    if kind == "rematch":
        ended_by.priority = True
        await ctx.repos.participants.save(ended_by)
