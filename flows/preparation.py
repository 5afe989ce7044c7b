"""Role preparation before the first meeting, and the introduction that waits for it.

After opting in, each person reads a few short cards in their DM (words in
`data/preparation.yaml`), each with a "Got it" button. An approved pair is introduced only
once both partners have read theirs, or when an admin overrides it; whoever hasn't
finished gets a gentle reminder, and admins only ever see counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

import yaml

from bot.events import ButtonAction, Command
from bot.messages import Actions, Button, Heading, Message, Say, Text, say
from flows import copy
from flows.context import FlowContext
from flows.disclosure import NOT_SHOWN, count_text
from flows.intros import introduce
from flows.participants import is_actor, pair_members, parse_id
from flows.programs import current_program
from flows.roster import person_ref
from storage.models import Pair, Participant, Program

LIBRARY = Path(__file__).parent / "data" / "preparation.yaml"
# Gentle reminders to whoever hasn't finished, counted from the pair's approval.
REMINDERS = (timedelta(days=2), timedelta(days=7))


@dataclass(frozen=True)
class Card:
    id: str
    roles: frozenset[str]
    title: str
    text: str


@cache
def library(path: Path = LIBRARY) -> tuple[Card, ...]:
    entries = yaml.safe_load(path.read_text())["cards"]
    return tuple(
        Card(e["id"], frozenset(e["for"]), e["title"].strip(), " ".join(e["text"].split()))
        for e in entries
    )


def cards_for(role: str) -> tuple[Card, ...]:
    return tuple(card for card in library() if role in card.roles)


def next_card(role: str, read: set[str]) -> Card | None:
    return next((card for card in cards_for(role) if card.id not in read), None)


def card_message(participant: Participant, card: Card) -> Message:
    cards = cards_for(participant.role)
    position = cards.index(card) + 1
    title = f"Preparation {position} of {len(cards)}: {card.title}"
    return Message(
        summary=title,
        blocks=(
            Heading(text=title),
            Text(text=card.text),
            Actions(
                buttons=(
                    Button(
                        action_id="prep.got_it",
                        label="Got it",
                        value=f"{participant.id}:{card.id}",
                        style="primary",
                    ),
                )
            ),
        ),
    )


async def unread(ctx: FlowContext, people: list[Participant], program: Program) -> dict[int, int]:
    """How many cards each person still has to read (0 for everyone if the program doesn't
    ask for preparation)."""
    if not program.preparation:
        return {p.id: 0 for p in people}  # type: ignore[misc]
    read = await ctx.repos.card_reads.read_by(p.id for p in people)  # type: ignore[misc]
    return {
        p.id: sum(1 for c in cards_for(p.role) if c.id not in read[p.id])  # type: ignore[index]
        for p in people
    }  # type: ignore[misc]


async def start(ctx: FlowContext, participant: Participant, program: Program) -> bool:
    """At matching, queue the first card to someone who never started (e.g. joined before
    the program asked for preparation); False if there is nothing to send. Someone
    part-way through already has their next card in front of them."""
    if not program.preparation:
        return False
    read = (await ctx.repos.card_reads.read_by([participant.id]))[participant.id]  # type: ignore[list-item]
    card = next_card(participant.role, read)
    if card is None or (read and card != cards_for(participant.role)[0]):
        return False
    joined = int(participant.joined_at.timestamp())
    return bool(
        await ctx.send_to(
            f"prep:{participant.id}:{joined}:{card.id}",
            participant,
            card_message(participant, card),
        )
    )


async def first_card(
    ctx: FlowContext, participant: Participant, program: Program, *, new: bool = False
) -> tuple[Say | None, int]:
    """At opt-in: the first card still unread, to show with the welcome (no message to
    queue: it's the answer to their own action), and how many cards are left. Someone
    `new` to the program has read nothing yet (one query fewer on a busy path)."""
    if not program.preparation:
        return None, 0
    read = (
        set() if new else (await ctx.repos.card_reads.read_by([participant.id]))[participant.id]  # type: ignore[list-item]
    )
    card = next_card(participant.role, read)
    left = sum(1 for c in cards_for(participant.role) if c.id not in read)
    return (Say(message=card_message(participant, card)) if card else None), left


async def got_it(event: ButtonAction, ctx: FlowContext) -> Say:
    """A card read: the next one as the answer, or, after the last, the introduction of any
    pair that was waiting for it."""
    participant_id, _, card_id = event.value.partition(":")
    me = await _own_participant(ctx, event, participant_id)
    if me is None:
        return say("That button isn't for you, or it has expired. Nothing changed.")
    if card_id not in {c.id for c in cards_for(me.role)}:
        return await _continue(ctx, me, prefix="That card is no longer part of your preparation.")
    fresh = await ctx.repos.card_reads.record(me.id, card_id, ctx.now)  # type: ignore[arg-type]
    if not fresh:
        return say("Already noted: that card is read.")
    return await _continue(ctx, me)


async def next_button(event: ButtonAction, ctx: FlowContext) -> Say:
    """ "Continue" on a reminder: the first card still unread."""
    me = await _own_participant(ctx, event, event.value)
    if me is None:
        return say("That button isn't for you, or it has expired. Nothing changed.")
    return await _continue(ctx, me)


async def _continue(ctx: FlowContext, me: Participant, prefix: str = "") -> Say:
    read = (await ctx.repos.card_reads.read_by([me.id]))[me.id]  # type: ignore[list-item]
    card = next_card(me.role, read)
    if card is not None:
        message = card_message(me, card)
        if prefix:
            message = Message(summary=message.summary, blocks=(Text(text=prefix), *message.blocks))
        return Say(message=message)
    introduced = await introduce_ready_pairs(ctx, me)
    # Never "your partner isn't ready": that would say who held things up.
    after = (
        "Your introduction is on its way."
        if introduced
        else "You'll get your introduction as soon as it's ready."
    )
    return say(
        "You're prepared: thank you.",
        Text(text=f"You're prepared: thank you. {after}"),
        Text(text="The cards stay here in your messages if you want to look back at them."),
    )


async def _own_participant(
    ctx: FlowContext, event: ButtonAction, participant_id: str
) -> Participant | None:
    """The participant a button names, only if the person pressing it is that participant."""
    number = parse_id(participant_id)
    me = await ctx.repos.participants.get(number) if number else None
    if me is None or me.status == "left":
        return None
    if not is_actor(me, event.actor):
        return None
    return me


async def introduce_ready_pairs(ctx: FlowContext, participant: Participant) -> int:
    """Introduce each of this person's waiting pairs whose two partners are both ready."""
    introduced = 0
    for pair in await ctx.repos.pairs.active_for(participant.id, statuses=("waiting",)):  # type: ignore[arg-type]
        program = await ctx.repos.programs.get(pair.program_id)
        mentor, mentee = await pair_members(ctx, pair)
        if program is None or any((await unread(ctx, [mentor, mentee], program)).values()):
            continue
        introduced += await introduce_now(ctx, pair, program)
    return introduced


async def introduce_now(ctx: FlowContext, pair: Pair, program: Program) -> bool:
    if not await ctx.repos.pairs.introduce_if_waiting(pair, at=ctx.now):
        return False
    mentor, mentee = await pair_members(ctx, pair)
    await introduce(ctx, pair, mentor, mentee, program)
    return True


async def cancel_waiting(ctx: FlowContext, participant: Participant) -> None:
    """Someone who leaves before their introduction: the pair never starts, and the other
    person, who was never told who it was, goes first next round."""
    for pair in await ctx.repos.pairs.active_for(participant.id, statuses=("waiting",)):  # type: ignore[arg-type]
        if not await ctx.repos.pairs.cancel_if_waiting(pair, at=ctx.now):
            continue
        for member in await pair_members(ctx, pair):
            if member.id == participant.id or member.status == "left":
                continue
            member.priority = True
            await ctx.repos.participants.save(member)
            await ctx.send_to(
                f"match-cancelled:{pair.id}:{member.id}", member, copy.match_cancelled()
            )


# --- the tick: reminders ----------------------------------------------------------------


async def due(ctx: FlowContext) -> int:
    """Tick job: introduce waiting pairs that are ready (the last two cards read at the same
    moment in two transactions, or preparation switched off, would otherwise leave a pair
    waiting forever); whoever is holding up an introduction gets a gentle reminder, two
    days and a week after approval. It never says that the partner is waiting."""
    queued = 0
    for program in await ctx.repos.programs.active():
        for pair in await ctx.repos.pairs.waiting(program.id):  # type: ignore[arg-type]
            members = [m for m in await pair_members(ctx, pair) if m.status == "active"]
            left = await unread(ctx, members, program)
            if not any(left.values()):
                queued += await introduce_now(ctx, pair, program)
                continue
            passed = [
                n for n, after in enumerate(REMINDERS, 1) if ctx.now >= pair.started_at + after
            ]
            if not passed:
                continue
            for member in members:
                if left[member.id]:  # type: ignore[index]
                    # Only the latest reminder due: a late tick never sends a burst.
                    queued += await ctx.send_to(
                        f"prep-reminder:{pair.id}:{member.id}:{passed[-1]}",
                        member,
                        _reminder(member, left[member.id]),  # type: ignore[index]
                    )
    return queued


def _reminder(member: Participant, left: int) -> Message:
    cards = "card" if left == 1 else "cards"
    return copy.notice(
        "You've been matched: your introduction is ready to go.",
        f"It's waiting for your preparation: {left} short {cards} left, about a minute each.",
        buttons=(
            Button(action_id="prep.next", label="Continue", value=str(member.id), style="primary"),
        ),
    )


# --- admins: counts, and the override ------------------------------------------------------


async def admin_introduce(event: Command, ctx: FlowContext) -> Say:
    """`admin introduce` (counts), `admin introduce all`, `admin introduce @someone`."""
    program = await current_program(ctx)
    if program is None:
        return copy.no_program()
    waiting = await ctx.repos.pairs.waiting(program.id)  # type: ignore[arg-type]
    target = " ".join(event.args).strip()
    if not target:
        return await preparation_counts(ctx, program, waiting)
    if target.lower() == "all":
        introduced = sum([await introduce_now(ctx, pair, program) for pair in waiting])
        noun = "pair" if introduced == 1 else "pairs"
        return say(f"Introduced {introduced} {noun} without waiting for their preparation.")
    wanted = person_ref(target)
    members = await ctx.repos.participants.in_program(program.id)  # type: ignore[arg-type]
    if not any(wanted in (m.user_id.lower(), m.display_name.lower()) for m in members):
        return say(f"I can't find {target} among {program.name}'s participants. Nothing changed.")
    for pair in waiting:
        names = {
            value.lower()
            for member in await pair_members(ctx, pair)
            for value in (member.user_id, member.display_name)
        }
        if wanted in names:
            await introduce_now(ctx, pair, program)
    # The same answer either way: probing names must not tell whose pair was waiting.
    return say(
        f"Done: if {target} had a pair waiting for its introduction, it has been introduced."
    )


async def preparation_counts(ctx: FlowContext, program: Program, waiting: list[Pair]) -> Say:
    people = await ctx.repos.participants.in_program(program.id, statuses=("active", "paused"))  # type: ignore[arg-type]
    summary = f"Preparation: {await finished_count(ctx, people, program)}."
    return say(
        summary,
        Heading(text="Preparation"),
        Text(
            text=f"{summary}\nPairs waiting for their introduction: {len(waiting)}.\n"
            "Who hasn't finished is not shown; they get gentle reminders. "
            "`admin introduce all` (or `admin introduce @someone`) introduces waiting pairs now."
        ),
    )


async def finished_count(ctx: FlowContext, people: list[Participant], program: Program) -> str:
    """ "n of m participants have finished", worded like every published count
    (`flows.disclosure`): nothing that says everyone, or no one, has finished."""
    left = await unread(ctx, people, program)
    done, total = sum(1 for n in left.values() if n == 0), len(people)
    text = count_text(done, total, program.anonymity_threshold, "participants")
    return f"{text} have finished" if text else NOT_SHOWN


# --- a person's own view --------------------------------------------------------------------


async def status_lines(
    ctx: FlowContext, me: Participant, program: Program, *, paired: bool = False
) -> list[str]:
    """Preparation progress and a waiting introduction, for `status` and App Home. Someone
    already introduced who can't be in a second pair has nothing to show (and this runs on
    every App Home view, so it asks the database nothing then)."""
    if not program.preparation or (
        paired and (me.role != "mentor" or program.mentor_capacity == 1)
    ):
        return []
    lines = []
    left = (await unread(ctx, [me], program))[me.id]  # type: ignore[index]
    if left:
        total = len(cards_for(me.role))
        lines.append(f"Preparation: {total - left} of {total} cards read.")
    if await ctx.repos.pairs.active_for(me.id, statuses=("waiting",)):  # type: ignore[arg-type]
        lines.append(
            "You've been matched: your introduction arrives once you've both finished your "
            "preparation."
        )
    return lines
