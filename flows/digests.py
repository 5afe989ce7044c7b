"""Digests for admins: monthly, on demand, and at the end of a pilot. Aggregates only.

What was published is stored as a frozen snapshot: re-posting a period reuses it, so later
answers or erasures never change a digest that admins have already seen.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from bot.events import Command
from bot.messages import Say, say
from flows import copy
from flows.anonymity import (
    CheckinFact,
    DigestInput,
    Figure,
    GoalFact,
    ReviewFact,
    compute_figures,
    render_digest,
)
from flows.checkins import THEMES
from flows.context import FlowContext
from flows.programs import current_program
from storage.models import Digest, Program

ON_DEMAND_WINDOW = timedelta(days=30)


async def gather(
    ctx: FlowContext, program: Program, since: datetime, until: datetime
) -> DigestInput:
    people = await ctx.repos.participants.in_program(program.id)  # type: ignore[arg-type]
    roles = {
        p.id: p.role
        for p in await ctx.repos.participants.in_program(
            program.id, statuses=("active", "paused", "left")
        )
    }  # type: ignore[arg-type]
    pairs = await ctx.repos.pairs.in_program(program.id)  # type: ignore[arg-type]
    pair_ids = [p.id for p in pairs]
    checkins = [
        CheckinFact(
            pair_id=c.pair_id,
            participant_id=c.participant_id,
            role=roles.get(c.participant_id, "mentee"),
            met=c.met,
            rating=c.rating,
            themes=frozenset(c.themes),
            energy=c.energy,
        )
        for c in await ctx.repos.checkins.for_pairs(pair_ids)  # type: ignore[arg-type]
        if since <= c.submitted_at.astimezone(UTC) < until
    ]
    goals = [
        GoalFact(pair_id=g.pair_id, done=g.done_at is not None)
        for g in await ctx.repos.goals.for_pairs(pair_ids)
    ]  # type: ignore[arg-type]
    reviews = [
        ReviewFact(
            pair_id=r.pair_id,
            participant_id=r.participant_id,
            confidence_before=r.confidence_before,
            confidence_now=r.confidence_now,
            again=r.again,
        )
        for r in await ctx.repos.reviews.for_pairs(pair_ids)  # type: ignore[arg-type]
    ]
    return DigestInput(
        k=program.anonymity_threshold,
        participants=len(people),
        active_pairs=sum(1 for p in pairs if p.status == "active"),
        checkins=tuple(checkins),
        goals=tuple(goals),
        reviews=tuple(reviews),
        themes=THEMES,
    )


async def publish(
    ctx: FlowContext,
    program: Program,
    *,
    period: str,
    label: str,
    title: str,
    since: datetime,
    until: datetime,
) -> int:
    """Snapshot the figures for `period` once, then post them to every admin channel."""
    snapshot = await ctx.repos.digests.find(program.id, period)  # type: ignore[arg-type]
    if snapshot is None:
        figures = compute_figures(await gather(ctx, program, since, until))
        snapshot = await ctx.repos.digests.save(
            Digest(
                program_id=program.id,
                period=period,
                figures=[asdict(f) for f in figures],
                created_at=ctx.now,
            )  # type: ignore[arg-type]
        )
    figures = [Figure(**f) for f in snapshot.figures]
    message = render_digest(title, label, figures, program.anonymity_threshold)
    queued = 0
    for channel in ctx.policy.channels():
        queued += await ctx.send(
            f"digest:{program.id}:{period}:{channel.platform}:{channel.channel_id}",
            channel,
            message,
        )
    return queued


async def due(ctx: FlowContext) -> int:
    """Tick job: early each month, the digest of the month before, for programs with pairs."""
    queued = 0
    this_month = ctx.now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    for program in await ctx.repos.programs.active():
        pairs = await ctx.repos.pairs.in_program(program.id)  # type: ignore[arg-type]
        if not any(p.started_at.astimezone(UTC) < this_month for p in pairs):
            continue
        queued += await publish(
            ctx,
            program,
            period=f"{last_month:%Y-%m}",
            label=f"{last_month:%B %Y}",
            title=f"{program.name}: monthly digest",
            since=last_month,
            until=this_month,
        )
    return queued


async def admin_digest(event: Command, ctx: FlowContext) -> Say:
    program = await current_program(ctx)
    if program is None:
        return copy.no_program()
    if not ctx.policy.channels():
        return say(
            "No admin channel is configured (UPWARD_ADMIN_CHANNELS), so there is nowhere to post."
        )
    queued = await publish(
        ctx,
        program,
        period=f"on-demand:{ctx.now:%Y-%m-%dT%H:%M}",
        label=f"the 30 days to {ctx.now:%d %B %Y}",
        title=f"{program.name}: digest",
        since=ctx.now - ON_DEMAND_WINDOW,
        until=ctx.now + timedelta(seconds=1),
    )
    return say(f"Digest posted to {queued} admin channel(s).")


async def pilot_report_due(ctx: FlowContext, program: Program) -> int:
    """When every pair of a pilot has finished, one end-of-pilot report over the whole pilot."""
    pairs = await ctx.repos.pairs.in_program(program.id)  # type: ignore[arg-type]
    if (
        not pairs
        or any(p.status == "active" for p in pairs)
        or not any(p.status == "completed" for p in pairs)
    ):
        return 0
    return await publish(
        ctx,
        program,
        period="pilot-report",
        label="the whole pilot",
        title=f"{program.name}: end-of-pilot report",
        since=program.created_at.astimezone(UTC),
        until=ctx.now + timedelta(seconds=1),
    )
