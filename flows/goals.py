"""Goals and commitments, and gentle nudges when they're due or a pair hasn't met."""

from __future__ import annotations

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
from flows.cycles import current_cycle, cycle_end, program_end
from flows.participants import (
    Membership,
    membership,
    pair_members,
    parse_id,
    partner_in,
    partner_role_in,
)
from storage.models import Goal, Pair, Participant

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


async def nudges_due(ctx: FlowContext) -> int:
    """Tick job: at most one nudge per reason per cycle: goals past due to their owner, and
    a gentle word to a pair where nobody said “we met” for a whole cycle."""
    queued = 0
    for program in await ctx.repos.programs.active():
        for pair in await ctx.repos.pairs.active(program.id):
            cycle = current_cycle(pair, program, ctx.now)
            members = {m.id: m for m in await pair_members(ctx, pair)}
            if any(m.status != "active" for m in members.values()):
                continue
            overdue: dict[int, list[Goal]] = {}
            for goal in await ctx.repos.goals.open_and_due([pair.id]):  # type: ignore[list-item]
                if goal.due_on and goal.due_on <= ctx.now.date():
                    overdue.setdefault(goal.owner_id, []).append(goal)
            for owner_id, goals in overdue.items():
                if owner_id in members:
                    queued += await ctx.send_to(
                        f"nudge:goals:{pair.id}:{owner_id}:{cycle}",
                        members[owner_id],
                        _goal_nudge(goals),
                        pair_id=pair.id,
                    )
            if ctx.now >= program_end(pair, program):
                continue
            finished = cycle - 1 if ctx.now < cycle_end(pair, program, cycle) else cycle
            if finished >= 1 and not await _met_in(ctx, pair.id, finished):  # type: ignore[arg-type]
                mentor, mentee = members[pair.mentor_id], members[pair.mentee_id]
                queued += await ctx.send_to_pair(
                    f"nudge:nomeet:{pair.id}:{finished}",
                    mentor,
                    mentee,
                    pair.id,
                    _meet_nudge(mentee.display_name),  # type: ignore[arg-type]
                )
    return queued


async def _met_in(ctx: FlowContext, pair_id: int, cycle: int) -> bool:
    return any(c.met for c in await ctx.repos.checkins.for_pair_cycle(pair_id, cycle))


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
