"""Monthly conversation starters, chosen for the pair from a library written as data."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from bot.messages import Actions, Button, Heading, Message, Text
from flows.context import FlowContext
from flows.cycles import CYCLE_WORD, current_cycle
from flows.participants import pair_members
from storage.models import Pair, PairPrompt, Participant, Program

LIBRARY = Path(__file__).parent / "data" / "prompts.yaml"


@dataclass(frozen=True)
class Prompt:
    id: str
    focus: str
    topics: frozenset[str]
    lead: str
    text: str


@cache
def library(path: Path = LIBRARY) -> tuple[Prompt, ...]:
    entries = yaml.safe_load(path.read_text())["prompts"]
    return tuple(
        Prompt(e["id"], e["focus"], frozenset(e["topics"]), e["lead"], e["text"].strip())
        for e in entries
    )


def choose(
    prompts: tuple[Prompt, ...],
    *,
    pair_id: int,
    topics: set[str],
    focus: str,
    used: set[str],
    off_limits: set[str],
    senior_leads: bool,
) -> Prompt | None:
    """The best unused prompt: shared topics first, then the program's focus. Ties break on
    a hash of the pair id so pairs with the same topics don't all get the same prompt."""

    def score(prompt: Prompt) -> tuple[int, str]:
        points = 3 * len(prompt.topics & topics)
        points += 2 if prompt.focus == focus else (1 if prompt.focus == "general" else 0)
        tiebreak = hashlib.sha256(f"{pair_id}:{prompt.id}".encode()).hexdigest()
        return points, tiebreak

    allowed = [p for p in prompts if p.id not in used and not (p.topics & off_limits)]
    if senior_leads:  # junior-voiced prompts ("I'll show you…") don't suit a senior lead
        allowed = [p for p in allowed if p.lead == "either"] or allowed
    return max(allowed, key=score, default=None)


async def due(ctx: FlowContext) -> int:
    """Tick job: each active pair gets its current cycle's prompt once. Only the current
    cycle counts, so a long outage never produces a burst of stale prompts."""
    queued = 0
    for program in await ctx.repos.programs.active():
        for pair in await ctx.repos.pairs.active(program.id):
            cycle = current_cycle(pair, program, ctx.now)
            if cycle >= 1 and await _send_prompt(ctx, program, pair, cycle):
                queued += 1
    return queued


async def _send_prompt(ctx: FlowContext, program: Program, pair: Pair, cycle: int) -> bool:
    key = f"prompt:{pair.id}:{cycle}"
    if await ctx.repos.outbox.exists(key):
        return False
    mentor, mentee = await pair_members(ctx, pair)
    if {mentor.status, mentee.status} != {"active"}:
        return False
    history = await ctx.repos.pair_prompts.for_pair(pair.id)  # type: ignore[arg-type]
    lead = mentee if pair.two_way and cycle % 2 == 0 else mentor
    prompt = choose(
        library(),
        pair_id=pair.id,  # type: ignore[arg-type]
        topics=set(pair.shared_topics),
        focus=program.focus,
        used={h.prompt_id for h in history},
        off_limits=set(mentor.off_limits) | set(mentee.off_limits),
        senior_leads=lead is mentee,
    )
    if prompt is None:
        return False
    message = prompt_message(
        prompt,
        cycle,
        lead,
        pair_id=pair.id,
        two_way=pair.two_way,
        cadence=program.cadence,  # type: ignore[arg-type]
    )
    # Queue first: the outbox key decides which of two overlapping ticks owns this prompt.
    if not await ctx.send_to_pair(key, mentor, mentee, pair.id, message):  # type: ignore[arg-type]
        return False
    await ctx.repos.pair_prompts.record(
        PairPrompt(pair_id=pair.id, cycle=cycle, prompt_id=prompt.id, lead_id=lead.id)  # type: ignore[arg-type]
    )
    return True


def prompt_message(
    prompt: Prompt, cycle: int, lead: Participant, *, pair_id: int, two_way: bool, cadence: str
) -> Message:
    who = f"{lead.display_name} leads this one." if two_way else f"{lead.display_name}, you lead."
    word = CYCLE_WORD.get(cadence, "cycle")
    return Message(
        summary=f"Conversation starter for {word} {cycle}: {prompt.text}",
        blocks=(
            Heading(text=f"Conversation starter · {word} {cycle}"),
            Text(text=prompt.text),
            Text(text=f"{who} Find 45 minutes this {word}; a private check-in follows."),
            Actions(
                buttons=(Button(action_id="goals.add", label="Add a goal", value=str(pair_id)),)
            ),
        ),
    )
