"""Mentor circles: each month, junior mentors may opt into a small peer circle (mentors
only: no senior partners, no admins) with a discussion prompt.

Invitations go out at the start of each month; opting in closes on FORM_DAY, when the
circles form. Because nobody can join after that, every replica ticking then sees the same
members and computes the same circles, so each circle's message is queued once.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import yaml

from bot.events import ButtonAction, Command
from bot.messages import Button, Heading, Message, Say, Text, say
from flows import copy
from flows.context import FlowContext, actor_of
from flows.participants import membership, parse_id
from storage.models import Participant, Program

LIBRARY = Path(__file__).parent / "data" / "circles.yaml"
FORM_DAY = 8  # opting in is open from the 1st to the 7th; circles form on the 8th
LARGEST = 6  # a circle small enough to talk in


@cache
def prompts(path: Path = LIBRARY) -> tuple[str, ...]:
    return tuple(" ".join(p.split()) for p in yaml.safe_load(path.read_text())["prompts"])


def period_of(moment: datetime) -> str:
    return f"{moment:%Y-%m}"


def circles_of(ids: list[int], seed: str) -> list[list[int]]:
    """Balanced circles of at most LARGEST, shuffled by a seed so the same mentors don't
    always meet; deterministic, so replicas agree."""
    if len(ids) < 2:
        return []
    order = sorted(ids, key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())
    count = math.ceil(len(order) / LARGEST)
    return [order[i::count] for i in range(count)]


def _eligible(ctx: FlowContext, person: Participant) -> bool:
    """Junior mentors only, and never an admin (a member may invite one themselves)."""
    return (
        person.role == "mentor"
        and person.status == "active"
        and not ctx.policy.is_admin(actor_of(person))
    )


# --- the tick -----------------------------------------------------------------------------


async def due(ctx: FlowContext) -> int:
    """Tick job: the month's invitations once, then, from FORM_DAY, the circles once."""
    queued = 0
    period = period_of(ctx.now)
    for program in await ctx.repos.programs.active():
        if ctx.now.day < FORM_DAY:
            queued += await _invite(ctx, program, period)
        elif await ctx.repos.circles.form_round(program.id, period, ctx.now):  # type: ignore[arg-type]
            queued += await _form(ctx, program, period)
    return queued


async def _invite(ctx: FlowContext, program: Program, period: str) -> int:
    """Mentors in a pair get this month's invitation, once: the round opens with the first
    tick that has someone to invite."""
    if await ctx.repos.circles.round_started(program.id, period):  # type: ignore[arg-type]
        return 0
    people = {p.id: p for p in await ctx.repos.participants.in_program(program.id)}  # type: ignore[arg-type]
    mentoring = {pair.mentor_id for pair in await ctx.repos.pairs.active(program.id)}  # type: ignore[arg-type]
    mentors = [people[i] for i in sorted(mentoring) if i in people and _eligible(ctx, people[i])]
    if not mentors or not await ctx.repos.circles.start_round(program.id, period, ctx.now):  # type: ignore[arg-type]
        return 0
    invitation = copy.notice(
        f"This month's mentor circle: {ctx.now:%B}",
        "Half an hour with a few other junior mentors: no senior partners, no admins. "
        "Swap what's working, what's hard, and how you handle it. What's said in the "
        f"circle stays there. Join by the {FORM_DAY - 1}th; circles form on the {FORM_DAY}th.",
        buttons=(
            Button(
                action_id="circle.join",
                label="Join this month's circle",
                value=f"{program.id}:{period}",
                style="primary",
            ),
        ),
    ).model_dump(mode="json")
    # In bulk, like the tick's other jobs: a large program has many thousands of mentors.
    closes = datetime(int(period[:4]), int(period[5:]), FORM_DAY, tzinfo=UTC)
    items = [
        ctx.person_item(
            f"circle-invite:{program.id}:{period}:{m.id}", m, invitation, expires_at=closes
        )
        for m in mentors
    ]
    return len(await ctx.queue(items))


async def _form(ctx: FlowContext, program: Program, period: str) -> int:
    members = await ctx.repos.circles.members(program.id, period)  # type: ignore[arg-type]
    people = {m.participant_id: await ctx.repos.participants.get(m.participant_id) for m in members}
    ids = [i for i, p in people.items() if p is not None and p.status == "active"]
    circles = circles_of(ids, f"{program.id}:{period}")
    number = {pid: n for n, circle in enumerate(circles, 1) for pid in circle}
    for member in members:
        member.circle = number.get(member.participant_id, 0)
        await ctx.repos.circles.save(member)
    queued = 0
    prompt = prompt_for(period)
    for n, circle in enumerate(circles, 1):
        group = [people[i] for i in circle]
        queued += await ctx.send_to_group(
            f"circle:{program.id}:{period}:{n}",
            group,  # type: ignore[arg-type]
            _circle_message(group, prompt),  # type: ignore[arg-type]
        )
    for pid in ids:
        if pid not in number:  # the only one who joined this month
            queued += await ctx.send_to(
                f"circle-alone:{program.id}:{period}:{pid}",
                people[pid],  # type: ignore[arg-type]
                copy.notice(
                    "Nobody else joined this month's mentor circle, so there isn't one.",
                    "Thank you for opting in; you'll be asked again next month.",
                ),
            )
    return queued


def prompt_for(period: str) -> str:
    return prompts()[(int(period[:4]) * 12 + int(period[5:])) % len(prompts())]


async def withdraw(ctx: FlowContext, participant: Participant) -> None:
    """Someone leaving (or erasing their data): a circle message not sent yet goes out
    without them, to the others if at least two remain."""
    for mine in await ctx.repos.circles.memberships(participant.id):  # type: ignore[arg-type]
        key = f"circle:{mine.program_id}:{mine.period}:{mine.circle}"
        if not mine.circle or not await ctx.repos.outbox.cancel_pending_keyed(key):
            continue
        others = []
        for member in await ctx.repos.circles.members(mine.program_id, mine.period):
            person = await ctx.repos.participants.get(member.participant_id)
            if member.circle == mine.circle and person and person.id != participant.id:
                others.append(person)
        others = [p for p in others if p.status == "active"]
        if len(others) >= 2:
            await ctx.send_to_group(
                f"{key}:without:{participant.id}",
                others,
                _circle_message(others, prompt_for(mine.period)),
            )


def _circle_message(members: list[Participant], prompt: str) -> Message:
    names = ", ".join(m.display_name for m in members)
    return Message(
        summary=f"Your mentor circle this month: {names}",
        blocks=(
            Heading(text="Your mentor circle"),
            Text(
                text=f"{names}: junior mentors only, no senior partners, no admins. What's "
                "said here stays here; don't name your partners."
            ),
            Text(text=f"*This month's question:* {prompt}"),
            Text(text="Find half an hour together this month: one of you suggests a time."),
        ),
    )


# --- opting in --------------------------------------------------------------------------


async def join_button(event: ButtonAction, ctx: FlowContext) -> Say:
    program_text, _, period = event.value.partition(":")
    number = parse_id(program_text)
    program = await ctx.repos.programs.get(number) if number else None
    if program is None or period != period_of(ctx.now):
        return say("That invitation is for a month that has passed. Nothing changed.")
    me = await ctx.repos.participants.find(program.id, *_key(event))  # type: ignore[arg-type]
    return await _join(ctx, program, me)


async def circle_command(event: Command, ctx: FlowContext) -> Say:
    found = await membership(ctx, event.actor)
    if found is None:
        return copy.not_enrolled()
    return await _join(ctx, found.program, found.me)


async def _join(ctx: FlowContext, program: Program, me: Participant | None) -> Say:
    if me is not None and me.status == "paused" and me.paused_until:
        return say(
            f"You're paused until {me.paused_until:%d %B %Y}, so no circle until then; the "
            "invitation after your pause is yours. Nothing changed."
        )
    if me is None or not _eligible(ctx, me):
        return say("Mentor circles are for junior mentors taking part. Nothing changed.")
    period = period_of(ctx.now)
    if ctx.now.day >= FORM_DAY or not await ctx.repos.circles.open_for_joining(
        program.id,  # type: ignore[arg-type]
        period,
    ):
        return say(
            f"This month's circles have formed. Next month's invitation comes on the 1st; "
            f"join by the {FORM_DAY - 1}th."
        )
    if not await ctx.repos.circles.join(program.id, period, me.id, ctx.now):  # type: ignore[arg-type]
        return say("You're already in this month's circle.")
    return say(
        f"You're in this month's mentor circle. You'll meet the others on the {FORM_DAY}th "
        "in a group message: mentors only."
    )


def _key(event: ButtonAction) -> tuple[str, str, str]:
    return event.actor.platform, event.actor.tenant, event.actor.user_id
