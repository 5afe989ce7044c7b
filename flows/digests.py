"""Digests for admins: monthly, on demand, and at the end of a pilot. Aggregates only.

What was published is stored as a frozen snapshot: re-posting a period reuses it, so later
answers or erasures never change a digest that admins have already seen.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from bot.events import Command
from bot.messages import Say, say
from bot.timing import add_months
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
from flows.channels import admin_channels
from flows.checkins import THEMES
from flows.context import FlowContext, actor_of
from flows.programs import current_program
from storage.answers import ReviewView
from storage.models import Digest, Program


async def gather(
    ctx: FlowContext, program: Program, since: datetime, until: datetime
) -> DigestInput:
    """Facts for one period: check-ins and reviews given in it, goals as they stood at its end."""
    everyone = await ctx.repos.participants.in_program(
        program.id, statuses=("active", "paused", "left")
    )  # type: ignore[arg-type]
    roles = {p.id: p.role for p in everyone}
    admins = {p.id for p in everyone if ctx.policy.is_admin(actor_of(p))}
    pairs = await ctx.repos.pairs.in_program(program.id)  # type: ignore[arg-type]
    pair_ids: list[int] = [p.id for p in pairs]  # type: ignore[misc]
    in_period = lambda moment: since <= moment < until  # noqa: E731
    checkins = [
        CheckinFact(
            pair_id=c.pair_id,
            participant_id=c.participant_id,
            role=roles.get(c.participant_id, "mentee"),
            met=c.met,
            rating=c.rating,
            themes=frozenset(c.themes),
            energy=c.energy,
            lead=c.lead,
        )
        for c in await ctx.repos.checkins.for_pairs(pair_ids, since=since, until=until)
        if in_period(c.submitted_at)
    ]
    goals = [
        GoalFact(pair_id=g.pair_id, done=g.done_at is not None and g.done_at < until)
        for g in await ctx.repos.goals.for_pairs(pair_ids)
        if g.created_at < until
    ]
    latest: dict[tuple[int, int], ReviewView] = {}  # final answers replace midpoint ones
    for review in await ctx.repos.reviews.for_pairs(pair_ids, since=since, until=until):
        if in_period(review.submitted_at):
            key = (review.pair_id, review.participant_id)
            if key not in latest or review.stage == "final":
                latest[key] = review
    reviews = [
        ReviewFact(
            pair_id=r.pair_id,
            participant_id=r.participant_id,
            confidence_before=r.confidence_before,
            confidence_now=r.confidence_now,
            again=r.again,
        )
        for r in latest.values()
    ]
    return DigestInput(
        k=program.anonymity_threshold,
        participants=sum(1 for p in everyone if p.status != "left"),
        active_pairs=sum(1 for p in pairs if p.status == "active"),
        checkins=tuple(checkins),
        goals=tuple(goals),
        reviews=tuple(reviews),
        themes=THEMES,
        # An admin who is also a participant must not read their own pair back out.
        exclude_pairs=frozenset(
            p.id
            for p in pairs
            if p.mentor_id in admins or p.mentee_id in admins  # type: ignore[misc]
        ),
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
    request: str = "",
) -> int:
    """Snapshot the figures for `period` once, then post them to every admin channel.
    `request` distinguishes an admin's repeat request (same frozen figures, posted again)."""
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
    for channel in await admin_channels(ctx):
        queued += await ctx.send(
            f"digest:{program.id}:{period}:{channel.platform}:{channel.channel_id}{request}",
            channel,
            message,
        )
    return queued


def last_closed_month(now: datetime) -> tuple[datetime, datetime]:
    this_month = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (this_month - timedelta(days=1)).replace(day=1), this_month


async def publish_month(ctx: FlowContext, program: Program, request: str = "") -> int | None:
    """The digest of the last full calendar month, or None if no pair existed yet then."""
    since, until = last_closed_month(ctx.now)
    if not await ctx.repos.pairs.any_started_before(program.id, until):  # type: ignore[arg-type]
        return None
    return await publish(
        ctx,
        program,
        period=f"{since:%Y-%m}",
        label=f"{since:%B %Y}",
        title=f"{program.name}: monthly digest",
        since=since,
        until=until,
        request=request,
    )


async def due(ctx: FlowContext) -> int:
    """Tick job: early each month, the digest of the month before, for programs with pairs."""
    queued = 0
    for program in await ctx.repos.programs.active():
        queued += await publish_month(ctx, program) or 0
    return queued


async def admin_digest(event: Command, ctx: FlowContext) -> Say:
    """Posts the last full month's digest. Always a closed, frozen period: two digests over
    overlapping windows could be subtracted to isolate a single pair's answers."""
    program = await current_program(ctx)
    if program is None:
        return copy.no_program()
    if not await admin_channels(ctx):
        return say(
            "No admin channel yet, so there is nowhere to post: say `admin channel here` in the "
            "channel where digests should go (or set UPWARD_ADMIN_CHANNELS)."
        )
    queued = await publish_month(ctx, program, request=f":asked:{ctx.now:%Y-%m-%dT%H:%M}")
    if queued is None:
        _, until = last_closed_month(ctx.now)
        first = add_months(until, 1)
        return say(
            f"The first digest covers a full calendar month of pairs; it will be ready on "
            f"{first:%d %B %Y}."
        )
    since, _ = last_closed_month(ctx.now)
    return say(f"The digest for {since:%B %Y} was posted to the admin channel.")


async def pilot_report_due(ctx: FlowContext, program: Program) -> int:
    """When every pair of a pilot has finished, one end-of-pilot report over the whole pilot."""
    pairs = await ctx.repos.pairs.in_program(program.id)  # type: ignore[arg-type]
    if (
        not pairs
        or any(p.status in ("active", "waiting") for p in pairs)
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
