"""Digests for admins: monthly, on demand, and at the end of a pilot. Aggregates only.

What was published is the ledger: each period's figures are frozen once, with the ids of
the answers they counted. Re-posting a period reuses its snapshot; a later period never
counts an answer an earlier one counted (an answer edited after its month was published
is not counted again); and the end-of-pilot report is built only from the frozen months.
Later answers, erasures and endings therefore never change, or add to, what admins can
work out from everything they have been shown (see `flows.disclosure`).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta

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
from flows.disclosure import NOT_SHOWN
from flows.programs import current_program
from storage.answers import ReviewView
from storage.models import Digest, Program


async def gather(
    ctx: FlowContext, program: Program, since: datetime, until: datetime
) -> tuple[DigestInput, dict[str, list[int]]]:
    """Facts for one period (check-ins and reviews given in it, goals due in it), leaving
    out every answer an earlier published period counted; and the ids of those counted."""
    counted = await _already_counted(ctx, program)
    everyone = await ctx.repos.participants.in_program(
        program.id, statuses=("active", "paused", "left")
    )  # type: ignore[arg-type]
    roles = {p.id: p.role for p in everyone}
    admins = {p.id for p in everyone if ctx.policy.is_admin(actor_of(p))}
    pairs = await ctx.repos.pairs.in_program(program.id)  # type: ignore[arg-type]
    pair_ids: list[int] = [p.id for p in pairs]  # type: ignore[misc]
    # An admin who is also a participant must not read her own pair back out.
    excluded = {p.id for p in pairs if p.mentor_id in admins or p.mentee_id in admins}
    checkins = [
        c
        for c in await ctx.repos.checkins.for_pairs(pair_ids, since=since, until=until)
        if c.id not in counted["checkins"] and c.pair_id not in excluded
    ]
    goals = [
        g
        for g in await ctx.repos.goals.for_pairs(pair_ids)
        if g.due_on is not None and since <= _end_of(g.due_on) < until
        and g.id not in counted["goals"] and g.pair_id not in excluded
    ]  # fmt: skip
    latest: dict[tuple[int, int], ReviewView] = {}  # final answers replace midpoint ones
    for review in await ctx.repos.reviews.for_pairs(pair_ids, since=since, until=until):
        if review.id not in counted["reviews"] and review.pair_id not in excluded:
            key = (review.pair_id, review.participant_id)
            if key not in latest or review.stage == "final":
                latest[key] = review
    data = DigestInput(
        k=program.anonymity_threshold,
        participants=sum(1 for p in everyone if p.status != "left"),
        active_pairs=sum(1 for p in pairs if p.status == "active"),
        checkins=tuple(
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
            for c in checkins
        ),
        goals=tuple(
            GoalFact(pair_id=g.pair_id, done=g.done_at is not None and g.done_at < until)
            for g in goals
        ),
        reviews=tuple(
            ReviewFact(
                pair_id=r.pair_id,
                participant_id=r.participant_id,
                confidence_before=r.confidence_before,
                confidence_now=r.confidence_now,
                again=r.again,
            )
            for r in latest.values()
        ),
        themes=THEMES,
        exclude_pairs=frozenset(excluded),
    )
    covered = {
        "checkins": sorted(c.id for c in checkins),  # type: ignore[misc]
        "goals": sorted(g.id for g in goals),  # type: ignore[misc]
        "reviews": sorted(r.id for r in latest.values()),  # type: ignore[misc]
    }
    return data, covered


async def _already_counted(ctx: FlowContext, program: Program) -> dict[str, set[int]]:
    counted: dict[str, set[int]] = {"checkins": set(), "goals": set(), "reviews": set()}
    for entry in await ctx.repos.digests.of_program(program.id):  # type: ignore[arg-type]
        for kind, ids in (entry.covered or {}).items():
            counted.setdefault(kind, set()).update(ids)
    return counted


def _end_of(day: date) -> datetime:
    """A goal due on a day counts in the period that holds the end of that day (UTC)."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


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
        data, covered = await gather(ctx, program, since, until)
        snapshot = await ctx.repos.digests.save(
            Digest(
                program_id=program.id,
                period=period,
                figures=[asdict(f) for f in compute_figures(data)],
                covered=covered,
                created_at=ctx.now,
            )  # type: ignore[arg-type]
        )
    return await _post(ctx, program, snapshot, title, label, request)


async def _post(
    ctx: FlowContext, program: Program, snapshot: Digest, title: str, label: str, request: str
) -> int:
    figures = [Figure(**f) for f in snapshot.figures]
    period = snapshot.period
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
        if program.pilot:  # a report waiting for this month's digest can follow it now
            queued += await pilot_report_due(ctx, program)
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
    """When every pair of a pilot has finished and the month it finished in has had its
    digest, one end-of-pilot report, restating the frozen months side by side: it is built
    from what was already published, so it can tell nobody anything new."""
    pairs = await ctx.repos.pairs.in_program(program.id)  # type: ignore[arg-type]
    if (
        not pairs
        or any(p.status in ("active", "waiting") for p in pairs)
        or not any(p.status == "completed" for p in pairs)
    ):
        return 0
    months = [d for d in await ctx.repos.digests.of_program(program.id) if _is_month(d.period)]  # type: ignore[arg-type]
    finished = max(p.ended_at or p.started_at for p in pairs).astimezone(UTC)
    if not months or f"{finished:%Y-%m}" > max(d.period for d in months):
        return 0  # the last month's digest comes first, early next month
    snapshot = await ctx.repos.digests.find(program.id, "pilot-report")  # type: ignore[arg-type]
    if snapshot is None:
        snapshot = await ctx.repos.digests.save(
            Digest(
                program_id=program.id,
                period="pilot-report",
                figures=[asdict(f) for f in pilot_figures(months)],
                covered={},
                created_at=ctx.now,
            )  # type: ignore[arg-type]
        )
    first, last = min(d.period for d in months), max(d.period for d in months)
    label = f"the whole pilot, month by month ({_month_name(first)} to {_month_name(last)})"
    title = f"{program.name}: end-of-pilot report"
    return await _post(ctx, program, snapshot, title, label, "")


def pilot_figures(months: list[Digest]) -> list[Figure]:
    """One line per figure, its value in each frozen month ("Jan: 4 of 5 · Feb: not
    shown"). A theme a month didn't list was, that month, one of its "other themes"."""
    ordered = sorted(months, key=lambda d: d.period)
    labels: dict[str, str] = {}
    for digest in ordered:
        for figure in digest.figures:
            key = "themes_other" if figure["key"] == "themes" else figure["key"]
            labels.setdefault(key, "Other themes" if key == "themes_other" else figure["label"])
    lines: dict[str, list[str]] = {key: [] for key in labels}
    for digest in ordered:
        values = {f["key"]: f["value"] for f in digest.figures}
        other = values.get("themes_other")
        month = _month_name(digest.period, short=True)
        for key in labels:
            value = values.get(key)
            if value is None and key.startswith("theme:") and other:
                value = other.replace("each raised in", "raised in", 1)
            lines[key].append(f"{month}: {value or NOT_SHOWN}")
    return [Figure(key, labels[key], " · ".join(values), 0) for key, values in lines.items()]


def _is_month(period: str) -> bool:
    return len(period) == 7 and period[4] == "-"


def _month_name(period: str, *, short: bool = False) -> str:
    moment = datetime.strptime(period, "%Y-%m").replace(tzinfo=UTC)
    return f"{moment:%b}" if short else f"{moment:%B %Y}"
