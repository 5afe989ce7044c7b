"""Goals and commitments, and gentle nudges when they're due or a pair hasn't met."""

from __future__ import annotations

from dataclasses import dataclass

from bot.events import ButtonAction, Command, FormSubmission
from bot.messages import (
    Actions,
    Button,
    Form,
    FormErrors,
    FormField,
    Heading,
    Option,
    Say,
    ShowForm,
    Text,
    say,
)
from flows import copy
from flows.answers import parse_date
from flows.context import FlowContext
from flows.cycles import Calendar, Dated
from flows.participants import (
    Membership,
    membership,
    parse_id,
    partner_in,
    partner_role_in,
)
from storage.models import Goal, Pair, Participant
from storage.repositories.pairs import ActivePair

GOAL_LIMIT = 300


NOT_PAIRED = "Goals belong to a pair: you'll be able to add them once you're matched."


async def goals_command(event: Command, ctx: FlowContext) -> Say | ShowForm:
    found = await membership(ctx, event.actor)
    if found is None:
        return copy.not_enrolled()
    if not found.pairs:
        return say(NOT_PAIRED)
    if event.args and event.args[0].lower() == "add":
        pair, partner = found.pairs[0]
        return ShowForm(form=goal_form(pair, partner))
    return await goal_lists(ctx, found)


async def add_button(event: ButtonAction, ctx: FlowContext) -> Say | ShowForm:
    """The button carries its pair: a mentor with two mentees adds to the pair they meant."""
    me, pair = await partner_role_in(ctx, event.value, event.actor)
    partner = await partner_in(ctx, pair, me) if me and pair and pair.status == "active" else None
    if pair is None or partner is None:
        return say(NOT_PAIRED)
    return ShowForm(form=goal_form(pair, partner))


def goal_form(pair: Pair, partner: Participant) -> Form:
    return Form(
        form_id="goal",
        title="Add a goal",
        intro="Either of you can add goals. A commitment is a goal that starts with “I will …”.",
        fields=(
            FormField(
                id="text",
                label="The goal",
                max_length=GOAL_LIMIT,
                hint="e.g. I will try our team's AI assistant for a week",
            ),
            FormField(
                id="kind",
                label="Kind",
                type="select",
                options=(
                    Option(value="goal", label="Goal"),
                    Option(value="commitment", label="Commitment (I will …)"),
                ),
                initial="goal",
            ),
            FormField(
                id="owner",
                label="Whose is it?",
                type="select",
                options=(
                    Option(value="me", label="Mine"),
                    Option(value="partner", label=f"{partner.display_name}'s"),
                ),
                initial="me",
            ),
            FormField(id="due", label="Due date", type="date", required=False, hint="YYYY-MM-DD"),
        ),
        state={"pair_id": str(pair.id)},
    )


async def submit(event: FormSubmission, ctx: FlowContext) -> Say | FormErrors:
    me, pair = await partner_role_in(ctx, event.state.get("pair_id", ""), event.actor)
    partner = await partner_in(ctx, pair, me) if me and pair and pair.status == "active" else None
    if me is None or pair is None or partner is None:
        return say("This goal form is no longer open. Nothing was stored.")
    text = str(event.values.get("text") or "").strip()
    kind = str(event.values.get("kind") or "goal")
    owner = str(event.values.get("owner") or "me")
    due_text = str(event.values.get("due") or "").strip()
    errors: dict[str, str] = {}
    if not text:
        errors["text"] = "Write the goal in a few words."
    elif len(text) > GOAL_LIMIT:
        errors["text"] = f"Keep it under {GOAL_LIMIT} characters."
    if kind not in ("goal", "commitment"):
        errors["kind"] = "Choose goal or commitment."
    if owner not in ("me", "partner"):
        errors["owner"] = "Choose whose goal it is."
    due = parse_date(due_text)
    if due_text and (due is None or due < ctx.now.date()):
        errors["due"] = "Use a date from today on, as YYYY-MM-DD."
    if errors:
        return FormErrors(errors=errors)
    goal = await ctx.repos.goals.save(
        Goal(
            pair_id=pair.id,  # type: ignore[arg-type]
            owner_id=(me if owner == "me" else partner).id,  # type: ignore[arg-type]
            created_by_id=me.id,  # type: ignore[arg-type]
            kind=kind,
            text=text,
            due_on=due,
            created_at=ctx.now,
        )
    )
    await ctx.send_to(
        f"goal-added:{goal.id}",
        partner,
        copy.notice(
            f"{me.display_name} added a {kind} for your pair: “{text}”"
            + (f" (due {due:%d %B})" if due else ""),
            buttons=(Button(action_id="goals.list", label="See your goals"),),
        ),
        pair_id=pair.id,
    )
    return say(f"Added: “{text}”. `/mentoring goals` shows your pair's list.")


async def goal_lists(ctx: FlowContext, found: Membership) -> Say:
    """Every pair's goals (a mentor may have several mentees), with "done" buttons."""
    blocks: list = []
    for pair, partner in found.pairs:
        blocks += await _goal_blocks(ctx, found.me, pair, partner, several=len(found.pairs) > 1)
    return say("Your goals", *blocks)


async def _goal_blocks(
    ctx: FlowContext, me: Participant, pair: Pair, partner: Participant, *, several: bool
) -> list:
    goals = await ctx.repos.goals.for_pair(pair.id)  # type: ignore[arg-type]
    title = f"Goals with {partner.display_name}" if several else "Your pair's goals"
    add = Button(action_id="goals.add", label="Add a goal", value=str(pair.id))
    if not goals:
        empty = "No goals yet. Either of you can add one."
        return [Heading(text=title), Text(text=empty), Actions(buttons=(add,))]
    names = {me.id: "you", partner.id: partner.display_name}
    lines, buttons = [], []
    for goal in goals:
        mark = "✓" if goal.done_at else "○"
        due = f", due {goal.due_on:%d %b}" if goal.due_on else ""
        lines.append(f"{mark} {goal.text} ({names.get(goal.owner_id, '?')}{due})")
        if goal.done_at is None:
            buttons.append(
                Button(action_id="goal.done", label=f"Done: {goal.text[:60]}", value=str(goal.id))
            )
    return [Heading(text=title), Text(text="\n".join(lines)), Actions(buttons=(*buttons[:24], add))]


async def list_button(event: ButtonAction, ctx: FlowContext) -> Say:
    found = await membership(ctx, event.actor)
    if found is None or not found.pairs:
        return say("You're not in a pair right now.")
    return await goal_lists(ctx, found)


async def mark_done(event: ButtonAction, ctx: FlowContext) -> Say:
    goal = await ctx.repos.goals.get(number) if (number := parse_id(event.value)) else None
    me, _pair = await partner_role_in(ctx, str(goal.pair_id) if goal else "", event.actor)
    if goal is None or me is None:
        return say("That goal isn't one of your pair's. Nothing was changed.")
    if goal.done_at is None:
        goal.done_at = ctx.now
        await ctx.repos.goals.save(goal)
    return say(f"Marked done: “{goal.text}”. Well done.")


CHUNK = 5_000  # pairs per round of queries: bounds a tick's memory


@dataclass(frozen=True)
class _Nudge:
    pair: ActivePair
    key: str
    owner: int | None = None  # a goal nudge's owner; None for the pair's no-meeting nudge
    goals: tuple[Goal, ...] = ()


async def nudges_due(ctx: FlowContext) -> int:
    """Tick job: at most one nudge per reason per cycle: goals past due to their owner, and
    a gentle word to a pair where nobody said “we met” for a whole cycle. Pairs where a
    partner is paused or gone get neither."""
    queued = 0
    for program in await ctx.repos.programs.active():
        calendar = Calendar(program, ctx.now)
        starts = None
        if not await ctx.repos.goals.any_due(program.id, ctx.now.date()):  # type: ignore[arg-type]
            starts = calendar.starts_where(
                await ctx.repos.pairs.active_starts(program.id),  # type: ignore[arg-type]
                lambda cal, pair: _finished(cal, pair) >= 1,
            )
        chunks = ctx.repos.pairs.active_chunks(program.id, CHUNK, started=starts)  # type: ignore[arg-type]
        async for chunk in chunks:
            queued += await _nudge(ctx, await _planned(ctx, calendar, chunk))
    return queued


async def _planned(ctx: FlowContext, calendar: Calendar, chunk: list[ActivePair]) -> list[_Nudge]:
    """The nudges one chunk of pairs may be due, in the order they are queued."""
    overdue: dict[int, dict[int, list[Goal]]] = {}
    for goal in await ctx.repos.goals.open_and_due([pair.id for pair in chunk]):
        if goal.due_on and goal.due_on <= ctx.now.date():
            overdue.setdefault(goal.pair_id, {}).setdefault(goal.owner_id, []).append(goal)
    finished = {pair.id: done for pair in chunk if (done := _finished(calendar, pair)) >= 1}
    met = await ctx.repos.checkins.met_in(finished)
    planned = []
    for pair in chunk:
        cycle = calendar.current(pair)
        for owner, goals in overdue.get(pair.id, {}).items():
            if owner in (pair.mentor_id, pair.mentee_id):
                key = f"nudge:goals:{pair.id}:{owner}:{cycle}"
                planned.append(_Nudge(pair, key, owner, tuple(goals)))
        if pair.id in finished and (pair.id, finished[pair.id]) not in met:
            planned.append(_Nudge(pair, f"nudge:nomeet:{pair.id}:{finished[pair.id]}"))
    return planned


def _finished(calendar: Calendar, pair: Dated) -> int:
    """The last cycle that has ended; 0 if none has, or once the program is over."""
    if calendar.now >= calendar.program_end(pair):
        return 0
    cycle = calendar.current(pair)
    return cycle - 1 if calendar.now < calendar.cycle_end(pair, cycle) else cycle


async def _nudge(ctx: FlowContext, planned: list[_Nudge]) -> int:
    """Queue the planned nudges not queued before, if both partners are active, in bulk."""
    variants = [k for n in planned for k in (n.key, f"{n.key}:0", f"{n.key}:1")]
    taken = await ctx.repos.outbox.existing_keys(variants) if planned else set()
    planned = [
        n for n in planned if n.key not in taken and not {f"{n.key}:0", f"{n.key}:1"} <= taken
    ]
    if not planned:
        return 0
    members = await ctx.repos.participants.members(
        [m for n in planned for m in (n.pair.mentor_id, n.pair.mentee_id)]
    )
    items, groups = [], []
    for nudge in planned:
        mentor, mentee = members[nudge.pair.mentor_id], members[nudge.pair.mentee_id]
        if mentor.status != "active" or mentee.status != "active":
            continue
        if nudge.owner is None:
            message = _meet_nudge(mentee.display_name)
            these = ctx.pair_items(nudge.key, mentor, mentee, nudge.pair.id, message)
        else:
            message = _goal_nudge(list(nudge.goals))
            owner = members[nudge.owner]
            these = [ctx.person_item(nudge.key, owner, message, pair_id=nudge.pair.id)]
        items.extend(these)
        groups.append({item["key"] for item in these})
    inserted = await ctx.queue(items)
    return sum(1 for keys in groups if keys & inserted)


def _goal_nudge(goals: list[Goal]):  # type: ignore[no-untyped-def]
    listed = "\n".join(f"• {g.text}" for g in goals)
    return copy.notice(
        "A gentle reminder: these are due. Done already? Mark them; "
        "if plans changed, that's fine too.",
        listed,
        buttons=tuple(
            Button(action_id="goal.done", label=f"Done: {g.text[:60]}", value=str(g.id))
            for g in goals[:5]
        ),
    )


def _meet_nudge(mentee_name: str):  # type: ignore[no-untyped-def]
    return copy.notice(
        "It's been a month without a conversation, and that happens.",
        "Could you find 30 minutes in the next two weeks? "
        f"{mentee_name}, a quick note to suggest a time is all it takes.",
    )
