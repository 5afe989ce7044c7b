"""Monthly conversation starters, chosen for the pair from a library written as data."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import yaml

from bot.messages import Actions, Button, Heading, Message, Text
from flows.context import FlowContext, Item, Person
from flows.cycles import CYCLE_WORD, Calendar
from storage.jsontext import Hole, JsonText, Template
from storage.models import Program
from storage.repositories.pairs import ActivePair, Partners
from storage.repositories.participants import Member

LIBRARY = Path(__file__).parent / "data" / "prompts.yaml"


@dataclass(frozen=True)
class Prompt:
    id: str
    focus: str
    topics: frozenset[str]
    lead: str
    text: str


Ranking = tuple[tuple[int, Prompt], ...]
Past = tuple[list[str], set[str]]  # a pair's shared topics, and the prompts it has had


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

    def tiebreak(prompt: Prompt) -> str:
        return hashlib.sha256(f"{pair_id}:{prompt.id}".encode()).hexdigest()

    ranked = _ranked(prompts, frozenset(topics), focus, frozenset(off_limits))
    # Junior-voiced prompts ("I'll show you…") don't suit a senior lead, unless that's all
    # there is left.
    ties = _best(ranked, used, either_only=True) if senior_leads else []
    ties = ties or _best(ranked, used, either_only=False)
    return max(ties, key=tiebreak, default=None)


def _best(ranked: Ranking, used: set[str], *, either_only: bool) -> list[Prompt]:
    """The unused prompts with the most points (all tied), from a ranking."""
    ties: list[Prompt] = []
    best = 0
    for points, prompt in ranked:
        if ties and points < best:
            break
        if prompt.id in used or (either_only and prompt.lead != "either"):
            continue
        best = points
        ties.append(prompt)
    return ties


_RANKINGS: dict[tuple[int, frozenset[str], str, frozenset[str]], tuple[object, Ranking]] = {}


def _ranked(
    prompts: tuple[Prompt, ...], topics: frozenset[str], focus: str, off_limits: frozenset[str]
) -> Ranking:
    """The prompts clear of `off_limits`, most points first (shared topics, then the
    program's focus); remembered, since many pairs share topics."""
    key = (id(prompts), topics, focus, off_limits)
    cached = _RANKINGS.get(key)
    if cached is not None and cached[0] is prompts:
        return cached[1]

    def points(prompt: Prompt) -> int:
        bonus = 2 if prompt.focus == focus else (1 if prompt.focus == "general" else 0)
        return 3 * len(prompt.topics & topics) + bonus

    scored = [(points(p), p) for p in prompts if not (p.topics & off_limits)]
    ranking = tuple(sorted(scored, key=lambda entry: -entry[0]))
    if len(_RANKINGS) >= 10_000:
        _RANKINGS.clear()
    _RANKINGS[key] = (prompts, ranking)
    return ranking


CHUNK = 5_000  # pairs per round of queries: bounds a tick's memory


async def due(ctx: FlowContext) -> int:
    """Tick job: each active pair gets its current cycle's prompt once. Only the current
    cycle counts, so a long outage never produces a burst of stale prompts. Works a chunk
    of pairs at a time, with a handful of queries per chunk."""
    queued = 0
    for program in await ctx.repos.programs.active():
        queued += await _program_prompts(ctx, program)
    return queued


@dataclass(frozen=True)
class _Batch:
    """A chunk's pairs whose prompt is due and not queued, and what choosing it needs."""

    pairs: list[ActivePair]
    cycles: dict[int, int]
    partners: dict[int, Partners]
    used: dict[int, set[str]]


Planned = list[tuple[dict[str, object], list[str]]]  # a prompt record, and its items' keys


async def _program_prompts(ctx: FlowContext, program: Program) -> int:
    """A chunk at a time: read, build the rows, write."""
    calendar = Calendar(program, ctx.now)
    chunks = aiter(ctx.repos.pairs.active_chunks(program.id, CHUNK))  # type: ignore[arg-type]
    if ctx.repos.writes_in_background:
        return await _pipelined(ctx, program, chunks, calendar)
    queued = 0
    while (batch := await _next_batch(ctx, chunks, calendar)) is not None:
        queued += await _write(ctx, *await _build(ctx, program, batch))
    return queued


async def _pipelined(
    ctx: FlowContext,
    program: Program,
    chunks: AsyncIterator[list[ActivePair]],
    calendar: Calendar,
) -> int:
    """The same, with each chunk's write running while the next chunk is built: PostgreSQL
    works on a write in its own process. The next chunk is read before the write starts,
    as a session runs one statement at a time; a write in flight ends before the job's
    transaction may roll back."""
    queued, writing = 0, None
    try:
        batch = await _next_batch(ctx, chunks, calendar)
        while batch is not None:
            items, planned = await _build(ctx, program, batch)
            if writing is not None:
                queued, writing = queued + await writing, None
            batch = await _next_batch(ctx, chunks, calendar)
            writing = asyncio.ensure_future(_write(ctx, items, planned))
    except BaseException:
        if writing is not None:
            with contextlib.suppress(Exception):
                await writing
        raise
    return queued + (await writing if writing is not None else 0)


async def _next_batch(
    ctx: FlowContext, chunks: AsyncIterator[list[ActivePair]], calendar: Calendar
) -> _Batch | None:
    """The next chunk with any prompt to queue, read in bulk; None after the last."""
    async for chunk in chunks:
        cycles = {pair.id: cycle for pair in chunk if (cycle := calendar.current(pair)) >= 1}
        keys = {pair_id: f"prompt:{pair_id}:{cycle}" for pair_id, cycle in cycles.items()}
        pairs = await _not_yet_prompted(ctx, chunk, keys)
        if pairs:
            ids = [pair.id for pair in pairs]
            partners = await ctx.repos.pairs.partners(ids)
            return _Batch(pairs, cycles, partners, await ctx.repos.pair_prompts.used_by(ids))
    return None


YIELD_EVERY = 50  # pairs built between two turns of the event loop (a write in flight advances)


async def _build(ctx: FlowContext, program: Program, batch: _Batch) -> tuple[list[Item], Planned]:
    """The outbox rows of a batch's prompts, and the prompt records they stand for."""
    items: list[Item] = []
    planned: Planned = []
    calendar = Calendar(program, ctx.now)
    for number, pair in enumerate(batch.pairs, start=1):
        if number % YIELD_EVERY == 0:
            await asyncio.sleep(0)
        mentor, mentee, topics = batch.partners[pair.id]
        partners, cycle = (mentor, mentee), batch.cycles[pair.id]
        history = (topics, batch.used.get(pair.id, set()))
        chosen = _prompt_for(program, pair, cycle, partners, history)
        if chosen is None:
            continue
        these = _prompt_items(ctx, program, pair, cycle, partners, chosen)
        end = calendar.cycle_end(pair, cycle)  # a prompt is never delivered in the next cycle
        for item in these:
            item["expires_at"] = end
        items.extend(these)
        prompt, lead = chosen
        entry = {"pair_id": pair.id, "cycle": cycle, "prompt_id": prompt.id, "lead_id": lead.id}
        planned.append((entry, [item["key"] for item in these]))
    return items, planned


async def _write(ctx: FlowContext, items: list[Item], planned: Planned) -> int:
    """Queue first: the outbox keys decide which of two overlapping ticks owns each prompt,
    and only a prompt queued by this tick is recorded as the pair's."""
    inserted = await ctx.queue(items)
    entries = [entry for entry, item_keys in planned if inserted.intersection(item_keys)]
    await ctx.repos.pair_prompts.record_many(entries)
    return len(entries)


async def _not_yet_prompted(
    ctx: FlowContext, chunk: list[ActivePair], keys: dict[int, str]
) -> list[ActivePair]:
    """The pairs with a prompt due whose prompt (or both partners' copies of it, where a
    platform splits pair messages) isn't queued yet: decided before anything else is read."""
    split = bool(ctx.policy.one_by_one)  # partners' copies are `<key>:0` and `<key>:1`
    taken = await ctx.repos.outbox.existing_keys(
        [k for key in keys.values() for k in ((key, f"{key}:0", f"{key}:1") if split else (key,))]
    )
    return [
        pair
        for pair in chunk
        if pair.id in keys
        and keys[pair.id] not in taken
        and not {f"{keys[pair.id]}:0", f"{keys[pair.id]}:1"} <= taken
    ]


def _prompt_items(
    ctx: FlowContext,
    program: Program,
    pair: ActivePair,
    cycle: int,
    partners: tuple[Member, Member],
    chosen: tuple[Prompt, Member],
) -> list[Item]:
    (mentor, mentee), (prompt, lead) = partners, chosen
    message = prompt_message_json(
        prompt, cycle, lead, pair_id=pair.id, two_way=pair.two_way, cadence=program.cadence
    )
    return ctx.pair_items(f"prompt:{pair.id}:{cycle}", mentor, mentee, pair.id, message)


def _prompt_for(
    program: Program, pair: ActivePair, cycle: int, partners: tuple[Member, Member], history: Past
) -> tuple[Prompt, Member] | None:
    """The pair's prompt for `cycle` and who leads it; None if a partner isn't active (paused
    or left) or the library has nothing left for them."""
    (mentor, mentee), (topics, used) = partners, history
    if {mentor.status, mentee.status} != {"active"}:
        return None
    lead = mentee if pair.two_way and cycle % 2 == 0 else mentor
    prompt = choose(
        library(),
        pair_id=pair.id,
        topics=set(topics),
        focus=program.focus,
        used=used,
        off_limits=set(mentor.off_limits) | set(mentee.off_limits),
        senior_leads=lead is mentee,
    )
    return None if prompt is None else (prompt, lead)


def prompt_message(
    prompt: Prompt, cycle: int, lead: Person, *, pair_id: int, two_way: bool, cadence: str
) -> Message:
    word = CYCLE_WORD.get(cadence, "cycle")
    return Message(
        summary=f"Conversation starter for {word} {cycle}: {prompt.text}",
        blocks=(
            Heading(text=f"Conversation starter · {word} {cycle}"),
            Text(text=prompt.text),
            Text(text=_who_leads(lead.display_name, two_way=two_way, word=word)),
            Actions(
                buttons=(Button(action_id="goals.add", label="Add a goal", value=str(pair_id)),)
            ),
        ),
    )


def prompt_message_json(
    prompt: Prompt, cycle: int, lead: Person, *, pair_id: int, two_way: bool, cadence: str
) -> JsonText:
    """`prompt_message(…).model_dump(mode="json")` as JSON text, filled into a template
    made once per prompt and cycle: a tick queues a prompt for every pair, and pydantic
    (or even `json.dumps`) per pair shows."""
    word = CYCLE_WORD.get(cadence, "cycle")
    return _template(prompt, cycle, cadence).fill(
        leads=_who_leads(lead.display_name, two_way=two_way, word=word), pair=str(pair_id)
    )


@lru_cache(maxsize=4096)
def _template(prompt: Prompt, cycle: int, cadence: str) -> Template:
    anyone = _Lead(display_name="")
    message = prompt_message(prompt, cycle, anyone, pair_id=0, two_way=False, cadence=cadence)
    dumped = message.model_dump(mode="json")
    dumped["blocks"][2]["text"] = Hole("leads")
    dumped["blocks"][3]["buttons"][0]["value"] = Hole("pair")
    return Template(dumped)


@dataclass(frozen=True)
class _Lead:
    display_name: str
    platform: str = ""
    tenant: str = ""
    user_id: str = ""
    timezone: str = ""


def _who_leads(name: str, *, two_way: bool, word: str) -> str:
    who = f"{name} leads this one." if two_way else f"{name}, you lead."
    return f"{who} Find 45 minutes this {word}; a private check-in follows."
