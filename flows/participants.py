"""Finding the participant behind an actor, and their partner."""

from __future__ import annotations

from dataclasses import dataclass

from bot.events import Actor
from flows.answers import whole_number
from flows.context import FlowContext
from storage.models import Pair, Participant, Program


@dataclass
class Membership:
    """A person's enrolment. `pair`/`partner` are the first active pair; a mentor with
    capacity for several mentees has the rest in `pairs`/`partners` too."""

    program: Program
    me: Participant
    pair: Pair | None
    partner: Participant | None
    pairs: list[tuple[Pair, Participant]]


async def membership(ctx: FlowContext, actor: Actor) -> Membership | None:
    """The person's current enrolment (their first program not left), with any active pair."""
    enrolments = await ctx.repos.participants.enrolments(
        actor.platform, actor.tenant, actor.user_id
    )
    for me in enrolments:
        program = await ctx.repos.programs.get(me.program_id)
        if program is None or not program.active:
            continue
        pairs = []
        for pair in await ctx.repos.pairs.active_for(me.id):  # type: ignore[arg-type]
            partner = await partner_in(ctx, pair, me)
            if partner is not None:
                pairs.append((pair, partner))
        first, first_partner = pairs[0] if pairs else (None, None)
        return Membership(program, me, first, first_partner, pairs)
    return None


async def partner_in(ctx: FlowContext, pair: Pair, me: Participant) -> Participant | None:
    other = pair.mentee_id if pair.mentor_id == me.id else pair.mentor_id
    return await ctx.repos.participants.get(other)


async def pair_members(ctx: FlowContext, pair: Pair) -> tuple[Participant, Participant]:
    mentor = await ctx.repos.participants.get(pair.mentor_id)
    mentee = await ctx.repos.participants.get(pair.mentee_id)
    assert mentor is not None and mentee is not None
    return mentor, mentee


def is_actor(participant: Participant, actor: Actor) -> bool:
    """Whether `actor` (who pressed or sent something) is this participant."""
    return (participant.platform, participant.tenant, participant.user_id) == (
        actor.platform,
        actor.tenant,
        actor.user_id,
    )


def role_label(participant: Participant) -> str:
    return {"mentor": "mentor", "mentee": "mentee", "two_way": "two-way partner"}[participant.role]


def parse_id(text: str) -> int | None:
    """A database id from a button value or form state; None for anything else."""
    return whole_number(text)


async def partner_role_in(
    ctx: FlowContext, pair_id: str, actor: Actor
) -> tuple[Participant | None, Pair | None]:
    """The actor's participant record in the pair named by a button or form, and the pair;
    (None, None) unless the actor really is one of its two partners."""
    pair = await ctx.repos.pairs.get(number) if (number := parse_id(pair_id)) else None
    if pair is None:
        return None, None
    for member in await pair_members(ctx, pair):
        if is_actor(member, actor):
            return member, pair
    return None, None
