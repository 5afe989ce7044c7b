"""Matching as an admin sees it: propose, preview, drop single pairs, approve."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from bot.events import ButtonAction, Command
from bot.messages import Actions, Button, Heading, Say, Text, say
from flows import copy, preparation
from flows.context import FlowContext
from flows.intros import introduce
from flows.participants import parse_id
from flows.programs import current_program
from storage.models import MatchRound, Pair, Participant, Person, Program, ProposedPair

if TYPE_CHECKING:
    from flows.matching.solver import Candidate, Match

log = logging.getLogger(__name__)


async def admin_match(event: Command, ctx: FlowContext) -> Say:
    """`admin match [seed]`, `admin match drop N`, `admin match approve`, `admin match discard`."""
    program = await current_program(ctx)
    if program is None:
        return copy.no_program()
    sub = event.args[0].lower() if event.args else ""
    if sub == "approve":
        return await approve(ctx, program)
    if sub == "discard":
        return await discard(ctx, program)
    if sub == "drop":
        return await drop(ctx, program, event.args[1] if len(event.args) > 1 else "")
    if sub and parse_id(sub) is None:
        return say(
            "Use `admin match`, `admin match drop N`, `admin match approve` "
            "or `admin match discard`."
        )
    seed = int(sub) if sub else int(ctx.now.timestamp()) // 60
    return await propose(ctx, program, seed)


def _solver() -> Any:
    from flows.matching.solver import solve

    return solve


async def approve_button(event: ButtonAction, ctx: FlowContext) -> Say:
    program = await _program_of_round(ctx, event.value)
    return _superseded() if program is None else await approve(ctx, program)


async def discard_button(event: ButtonAction, ctx: FlowContext) -> Say:
    program = await _program_of_round(ctx, event.value)
    return _superseded() if program is None else await discard(ctx, program)


async def _program_of_round(ctx: FlowContext, round_id: str) -> Program | None:
    """The program whose *open* proposal is the one on the button, so an old preview's
    button can never approve a later proposal the admin hasn't seen."""
    program = await current_program(ctx)
    open_round = await ctx.repos.pairs.open_round(program.id) if program else None  # type: ignore[arg-type]
    return program if open_round and str(open_round.id) == round_id else None


def _superseded() -> Say:
    return say(
        "That proposal is no longer open (it was approved, discarded or replaced). Nothing changed."
    )


async def available(ctx: FlowContext, program: Program) -> dict[int, tuple[Participant, int]]:
    """Who can take another pair, and how many: a mentor up to the program's capacity,
    everyone else only while unpaired."""
    spare = {}
    for person, load in await ctx.repos.participants.pool_with_load(program.id):  # type: ignore[arg-type]
        room = program.mentor_capacity - load if person.role == "mentor" else 1 - load
        if room > 0:
            spare[person.id] = (person, room)
    return spare  # type: ignore[return-value]


async def propose(ctx: FlowContext, program: Program, seed: int) -> Say:
    previous = await ctx.repos.pairs.open_round(program.id)  # type: ignore[arg-type]
    if previous is not None:
        previous.status, previous.decided_at = "discarded", ctx.now
    spare = await available(ctx, program)
    pool = [person for person, _room in spare.values()]
    if len(pool) < 2:
        return say("Not enough people are waiting to be matched yet (fewer than two).")
    # The solver (scipy, numpy) is imported only when matching runs: processes that never
    # match, such as `upward dispatch`, start without it. In a thread: the first import
    # takes several hundred milliseconds that would otherwise hold the event loop.
    solve = await asyncio.to_thread(_solver)

    candidates, managers, people = await _candidates(ctx, program, spare)
    # CPU-bound (an LP, assignments, perhaps an integer programme): off the event loop,
    # so the bot keeps answering.
    result = await asyncio.to_thread(solve, candidates, managers=managers, at=ctx.now, seed=seed)
    log.info(
        "matching program %s with seed %s: %s pairs, total score %s, proven within %s of the best",
        program.id,
        seed,
        len(result.matches),
        result.total_score,
        result.gap,
    )
    by_id = {p.id: p for p in pool}
    proposals = [
        ProposedPair(
            position=i,
            mentor_id=m.mentor_id,
            mentee_id=m.mentee_id,
            score=m.score,
            two_way=m.two_way,
            explanation=explain(m, program, people.get(m.mentor_id), people.get(m.mentee_id)),
            shared_topics=list(m.shared_topics),
        )
        for i, m in enumerate(result.matches, 1)
    ]
    match_round = MatchRound(
        program_id=program.id, seed=seed, unmatched=list(result.unmatched), created_at=ctx.now
    )
    await ctx.repos.pairs.save_round(match_round, proposals)
    unchecked = sum(1 for p in pool if p.id not in people or people[p.id].job_level is None)  # type: ignore[arg-type]
    return _preview(program, match_round, proposals, by_id, unchecked=unchecked)


def _preview(
    program: Program,
    match_round: MatchRound,
    proposals: list[ProposedPair],
    by_id: dict[int, Participant],
    *,
    unchecked: int = 0,
) -> Say:
    lines = []
    for p in proposals:
        mark = "~~" if p.dropped else ""
        mentor, mentee = by_id[p.mentor_id].display_name, by_id[p.mentee_id].display_name
        names = f"{mentor} (mentor) ↔ {mentee} (mentee)"
        lines.append(f"{p.position}. {mark}{names}{mark}\n    {p.explanation}")
    unmatched = [by_id[i].display_name for i in match_round.unmatched if i in by_id]
    dropped = [p for p in proposals if p.dropped]
    unmatched += [by_id[i].display_name for p in dropped for i in (p.mentor_id, p.mentee_id)]
    kept = len(proposals) - len(dropped)
    noun = "pair" if kept == 1 else "pairs"
    summary = f"Proposed {kept} {noun} for {program.name}" + (
        f" ({len(dropped)} dropped)." if dropped else "."
    )
    blocks = [
        Heading(text="Matching proposal"),
        Text(text=summary),
        Text(text="\n".join(lines) or "No pairs."),
    ]
    if unmatched:
        blocks.append(
            Text(
                text="Unmatched this round (they'll be told kindly and have priority next "
                "time): " + ", ".join(unmatched)
            )
        )
    if unchecked:
        blocks.append(
            Text(
                text=f"{unchecked} of these people have no job level in the roster, so seniority "
                "and reporting lines could not be checked for them (`upward roster import`)."
            )
        )
    blocks.append(
        Text(
            text="Nobody is told anything until you approve. `admin match drop N` removes one pair."
        )
    )
    blocks.append(
        Actions(
            buttons=(
                Button(
                    action_id="match.approve",
                    label="Approve and introduce",
                    value=str(match_round.id),
                    style="primary",
                ),
                Button(action_id="match.discard", label="Discard", value=str(match_round.id)),
            )
        )
    )
    return say(summary, *blocks)


async def drop(ctx: FlowContext, program: Program, position: str) -> Say:
    match_round = await ctx.repos.pairs.open_round(program.id)  # type: ignore[arg-type]
    if match_round is None:
        return say("There is no proposal to change. Run `admin match` first.")
    proposals = await ctx.repos.pairs.proposals(match_round.id)  # type: ignore[arg-type]
    chosen = [p for p in proposals if str(p.position) == position.strip()]
    if not chosen:
        return say(f"There is no pair number {position or '(missing)'} in the proposal.")
    chosen[0].dropped = True
    await ctx.repos.pairs.save_proposal(chosen[0])
    pool = {p.id: p for p in await ctx.repos.participants.in_program(program.id)}  # type: ignore[arg-type]
    return _preview(program, match_round, proposals, pool)


async def discard(ctx: FlowContext, program: Program) -> Say:
    match_round = await ctx.repos.pairs.open_round(program.id)  # type: ignore[arg-type]
    if match_round is None:
        return say("There is no proposal to discard.")
    match_round.status, match_round.decided_at = "discarded", ctx.now
    return say("Proposal discarded. Nobody was told anything.")


async def approve(ctx: FlowContext, program: Program) -> Say:
    match_round = await ctx.repos.pairs.open_round(program.id)  # type: ignore[arg-type]
    if match_round is None:
        return say("There is no proposal to approve. Run `admin match` first.")
    # Re-checked now: people may have left, paused or been paired since the preview.
    proposals = await ctx.repos.pairs.proposals(match_round.id)  # type: ignore[arg-type]
    if proposals and all(p.dropped for p in proposals):
        return say(
            "Every proposed pair has been dropped, so there is nothing to approve and nobody "
            "was told anything. `admin match` proposes again; Discard drops the proposal."
        )
    spare = await available(ctx, program)
    introduced, waiting, left_out = 0, 0, set(match_round.unmatched)
    for proposal in proposals:
        mentor, _ = spare.get(proposal.mentor_id, (None, 0))
        mentee, _ = spare.get(proposal.mentee_id, (None, 0))
        if proposal.dropped or mentor is None or mentee is None:
            left_out.update({proposal.mentor_id, proposal.mentee_id})
            continue
        ready = not any((await preparation.unread(ctx, [mentor, mentee], program)).values())
        for member in (mentor, mentee):  # someone who never got their first card gets it now
            await preparation.start(ctx, member, program)
        pair = await ctx.repos.pairs.save(
            Pair(
                program_id=program.id,  # type: ignore[arg-type]
                mentor_id=mentor.id,  # type: ignore[arg-type]
                mentee_id=mentee.id,  # type: ignore[arg-type]
                two_way=proposal.two_way,
                explanation=proposal.explanation,
                shared_topics=proposal.shared_topics,
                status="active" if ready else "waiting",
                started_at=ctx.now,
            )
        )
        for person in (mentor, mentee):
            person.priority = False
            await ctx.repos.participants.save(person)
        for person in (mentor, mentee):
            person_id, room = person.id, spare[person.id][1]  # type: ignore[index]
            if room > 1:
                spare[person_id] = (person, room - 1)  # type: ignore[index]
            else:
                spare.pop(person_id)  # type: ignore[arg-type]
        if ready:
            await introduce(ctx, pair, mentor, mentee, program)
            introduced += 1
        else:
            waiting += 1
    unmatched = await _tell_unmatched(ctx, match_round, left_out)
    match_round.status, match_round.decided_at = "approved", ctx.now
    people = "person" if unmatched == 1 else "people"
    later = (
        f" {waiting} {'pair' if waiting == 1 else 'pairs'} will be introduced as soon as both "
        "partners have finished their preparation (`admin introduce` shows counts and can "
        "override)."
        if waiting
        else ""
    )
    return say(
        f"Approved: {introduced} {'pair' if introduced == 1 else 'pairs'} introduced; "
        f"{unmatched} {people} told kindly that they'll have priority next round.{later}"
    )


async def _tell_unmatched(ctx: FlowContext, match_round: MatchRound, ids: set[int]) -> int:
    told = 0
    for participant_id in sorted(ids):
        participant = await ctx.repos.participants.get(participant_id)
        if participant is None or participant.status != "active":
            continue
        if await ctx.repos.pairs.active_for(participant_id, statuses=("active", "waiting")):
            continue
        participant.priority = True
        await ctx.repos.participants.save(participant)
        await ctx.send_to(
            f"unmatched:{match_round.id}:{participant_id}", participant, copy.unmatched()
        )
        told += 1
    return told


async def _candidates(
    ctx: FlowContext, program: Program, spare: dict[int, tuple[Participant, int]]
) -> tuple[list[Candidate], dict[str, str | None], dict[int, Person]]:
    """The solver's view of the pool: roster facts, confidential exclusions, history."""
    from flows.matching.solver import Candidate

    pool = [person for person, _room in spare.values()]
    history = await ctx.repos.pairs.history()
    roster: dict[str, Person] = {}
    for platform, tenant in {(p.platform, p.tenant) for p in pool}:
        for person in await ctx.repos.people.in_tenant(platform, tenant):
            roster[_key(person)] = person
    by_email = {p.email.lower(): k for k, p in roster.items() if p.email}
    managers = {k: _resolve(p.manager_user_id, p, by_email) for k, p in roster.items()}
    candidates, people = [], {}
    for participant in pool:
        key = f"{participant.platform}:{participant.tenant}:{participant.user_id}"
        person = roster.get(key)
        if person is not None:
            people[participant.id] = person
        excluded = {
            _resolve(entry, participant, by_email)
            for entry in json.loads(
                ctx.repos.cipher.decrypt_optional(
                    participant.exclusions_enc, participant.exclusions_context
                )
                or "[]"
            )
        }
        candidates.append(
            Candidate(
                id=participant.id,  # type: ignore[arg-type]
                person=key,
                role=participant.role,  # type: ignore[arg-type]
                offers=frozenset(participant.offers),
                wants=frozenset(participant.wants),
                off_limits=frozenset(participant.off_limits),
                timezone=participant.timezone,
                level=person.job_level if person else None,
                department=person.department if person else None,
                excluded=frozenset(e for e in excluded if e),
                past_partners=frozenset(b if a == key else a for a, b in history if key in (a, b)),
                capacity=spare[participant.id][1],  # type: ignore[index]
                priority=participant.priority,
            )
        )
    return candidates, managers, people


def _key(person: Person | Participant) -> str:
    return f"{person.platform}:{person.tenant}:{person.user_id}"


def _resolve(entry: str | None, near: Person | Participant, by_email: dict[str, str]) -> str | None:
    """A roster reference (user id or email) as a person key in the same workspace."""
    if not entry:
        return None
    entry = entry.strip()
    if "@" in entry and entry.lower() in by_email:
        return by_email[entry.lower()]
    return f"{near.platform}:{near.tenant}:{entry}"


def explain(match: Match, program: Program, mentor: Person | None, mentee: Person | None) -> str:
    """The short human reason a pair was proposed; the pair sees it in their introduction."""
    topics = [program.topics.get(t, t) for t in match.shared_topics]
    reasons = [f"you both chose {_and(topics)}"]
    if match.overlap_hours >= 8:
        reasons.append("you keep the same working hours")
    else:
        reasons.append(f"your working days overlap by {match.overlap_hours:g} hours")
    if match.cross_department and mentor and mentee:
        reasons.append(
            "you see the company from different departments "
            f"({mentor.department} and {mentee.department})"
        )
    if match.two_way:
        reasons.append("you both want to learn from each other")
    return _sentence(reasons)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sentence(parts: list[str]) -> str:
    text = _and(parts)
    return text[0].upper() + text[1:] + "."
