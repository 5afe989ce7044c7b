"""Opt-in and the participant's own controls: join, leave, pause, status, help."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

from bot.events import Actor, Command, FirstContact, FormSubmission
from bot.messages import (
    Divider,
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
from bot.timing import is_known_zone
from flows import circles, copy, preparation
from flows.answers import many, one, parse_date, whole_number
from flows.context import FlowContext
from flows.cycles import next_cycle_start
from flows.ending import end_pair
from flows.participants import membership, role_label
from flows.programs import current_program
from flows.roster import roster_lookup
from storage.models import Participant, Person, Program

ROLES = (
    Option(value="mentor", label="Mentor: I'm the more junior partner and share my perspective"),
    Option(value="mentee", label="Mentee: I'm a senior leader and here to listen and learn"),
    Option(value="two_way", label="Two-way: we learn from each other"),
)
MAX_PAUSE_DAYS = 120


async def join(event: Command, ctx: FlowContext) -> Say | ShowForm:
    program = await current_program(ctx, event.args[0] if event.args else None)
    if program is None and event.args:
        names = ", ".join(f"`{p.slug}`" for p in await ctx.repos.programs.active())
        return say(
            f"There is no open program called `{event.args[0]}`. Open programs: {names or 'none'}."
        )
    if program is None:
        return copy.no_program()
    existing = await ctx.repos.participants.find(program.id, *_key(event.actor))  # type: ignore[arg-type]
    if existing is not None and existing.status != "left":
        return say(
            f"You're already in {program.name}. `/mentoring status` shows where things stand."
        )
    person = await roster_entry(ctx, event.actor, event.email)
    timezone = (
        (person.timezone if person else None) or event.timezone or ctx.policy.default_timezone
    )
    return ShowForm(form=join_form(program, timezone))


async def roster_entry(ctx: FlowContext, actor: Actor, email: str | None) -> Person | None:
    """The person's roster row. HR exports are often keyed by email: the first time such a
    person shows up with their platform id, the row is linked to it, so seniority and
    reporting lines apply to them in matching."""
    person = await ctx.repos.people.find(*_key(actor))
    if not email or (person is not None and person.email):
        return person
    row = await ctx.repos.people.by_email(actor.platform, actor.tenant, email)
    if row is None or "@" not in row.user_id:
        return person  # no row, or one already linked to another id: never take it over
    if person is None:
        row.user_id = actor.user_id
        return await ctx.repos.people.save(row)
    # Known already (e.g. from installing the app) but without roster facts: take them over.
    for name in ("email", "job_level", "department", "manager_user_id", "timezone"):
        if getattr(person, name) is None:
            setattr(person, name, getattr(row, name))
    await ctx.repos.people.delete(row)
    return await ctx.repos.people.save(person)


def join_form(program: Program, timezone: str) -> Form:
    topics = tuple(Option(value=k, label=v) for k, v in program.topics.items())
    return Form(
        form_id="join",
        title="Join the program",
        intro=f"{program.name}: the program agreement\n{copy.AGREEMENT}\n\n"
        f"*Who can see what*\n{copy.who_sees_what_text()}",
        fields=(
            FormField(id="role", label="Your role", type="select", options=ROLES),
            FormField(
                id="offers", label="Topics you can share", type="multi_select", options=topics
            ),
            FormField(
                id="wants",
                label="Topics you want to learn about",
                type="multi_select",
                options=topics,
            ),
            FormField(
                id="off_limits",
                label="Topics that are off-limits for you",
                type="multi_select",
                options=topics,
                required=False,
            ),
            FormField(
                id="avoid",
                label="Anyone you'd rather not be paired with (confidential)",
                hint="User ids or emails, comma-separated. Only the matching uses this.",
                required=False,
                max_length=500,
            ),
            FormField(
                id="timezone", label="Your time zone", hint="e.g. Europe/London", initial=timezone
            ),
            FormField(
                id="agree",
                label="I accept the program agreement",
                type="checkbox",
                options=(Option(value="yes", label="I accept the program agreement"),),
            ),
        ),
        submit_label="Join",
        state={"program_id": str(program.id)},
    )


async def check_join(event: FormSubmission, ctx: FlowContext) -> Say | FormErrors | None:
    """The join form's early answer, reading only: field errors or a final word (no such
    program, already in), else None: the join goes ahead, and `submit_join` stores it."""
    checked = await _checked_join(event, ctx)
    return checked if isinstance(checked, Say | FormErrors) else None


async def submit_join(event: FormSubmission, ctx: FlowContext) -> Say | FormErrors:
    checked = await _checked_join(event, ctx)  # again: things may have changed since
    if isinstance(checked, Say | FormErrors):
        return checked
    program, answers, participant = checked
    new = participant is None
    participant = participant or Participant(
        program_id=program.id,
        **dict(zip(("platform", "tenant", "user_id"), _key(event.actor), strict=True)),  # type: ignore[arg-type]
    )
    person = await ctx.repos.people.find(*_key(event.actor))
    participant.display_name = (
        event.display_name or (person.display_name if person else "") or event.actor.user_id
    )
    participant.role = answers["role"]
    participant.offers, participant.wants = answers["offers"], answers["wants"]
    participant.off_limits = answers["off_limits"]
    participant.exclusions_enc = ctx.repos.cipher.encrypt_optional(
        json.dumps(answers["avoid"]) if answers["avoid"] else None,
        participant.exclusions_context,
    )
    participant.timezone = answers["timezone"]
    participant.status, participant.paused_until, participant.left_at = "active", None, None
    participant.agreed_at = participant.joined_at = ctx.now
    await ctx.repos.participants.save(participant)
    card, left = await preparation.first_card(ctx, participant, program, new=new)
    welcome = copy.welcome(program.name, program.anonymity_threshold, cards=left)
    if card is None:
        return welcome
    # One message, not two: the welcome with the first card under it.
    blocks = (*welcome.message.blocks, Divider(), *card.message.blocks)
    return Say(message=welcome.message.model_copy(update={"blocks": blocks}))


async def _checked_join(
    event: FormSubmission, ctx: FlowContext
) -> Say | FormErrors | tuple[Program, dict, Participant | None]:
    """The answer that ends it here, or the program, the validated answers and the
    person's earlier participation (one who left may join again)."""
    program_id = whole_number(event.state.get("program_id", ""))
    program = await ctx.repos.programs.get(program_id) if program_id is not None else None
    if program is None or not program.active:
        return copy.no_program()
    answers, errors = _validate_join(event.values, program)
    myself = {event.actor.user_id.lower()}
    answers["avoid"], unknown = await _resolve_people(ctx, program, event.actor, answers["avoid"])
    if myself & {u.lower() for u in unknown} or event.actor.user_id in answers["avoid"]:
        errors["avoid"] = "That's you: list only other people you'd rather not be paired with."
    elif unknown:
        errors["avoid"] = (
            f"I couldn't find {', '.join(unknown)}. Use their name, email or user id as it "
            "appears in your workspace, or leave this empty."
        )
    if errors:
        return FormErrors(errors=errors)
    participant = await ctx.repos.participants.find(program.id, *_key(event.actor))  # type: ignore[arg-type]
    if participant is not None and participant.status != "left":
        return say(
            f"You're already in {program.name}. `/mentoring status` shows where things stand."
        )
    return program, answers, participant


def _validate_join(
    values: dict[str, str | list[str]], program: Program
) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    role = one(values.get("role"))
    if role not in {o.value for o in ROLES}:
        errors["role"] = "Choose mentor, mentee or two-way."
    chosen = {name: many(values.get(name)) for name in ("offers", "wants", "off_limits")}
    for name, topics in chosen.items():
        unknown = [t for t in topics if t not in program.topics]
        if unknown:
            errors[name] = "Choose topics from the program's list."
    clash = [t for t in chosen["off_limits"] if t in chosen["wants"] or t in chosen["offers"]]
    if clash and "off_limits" not in errors:
        names = ", ".join(program.topics.get(t, t) for t in clash)
        errors["off_limits"] = (
            f"{names} can't be off-limits and also a topic you want to learn or can share: "
            "choose one or the other."
        )
    if not chosen["offers"] and role in ("mentor", "two_way"):
        errors["offers"] = "Choose at least one topic you can share."
    if not chosen["wants"] and role in ("mentee", "two_way"):
        errors["wants"] = "Choose at least one topic you want to learn about."
    timezone = (one(values.get("timezone")) or "").strip()
    if not is_known_zone(timezone):
        errors["timezone"] = "Use a time zone name like Europe/London or America/New_York."
    if one(values.get("agree")) not in ("yes", "true", "on"):
        errors["agree"] = "Please read and accept the agreement: nobody is enrolled without it."
    avoid = [
        a.strip().lstrip("@<").rstrip(">") for a in (one(values.get("avoid")) or "").split(",")
    ]
    return {
        "role": role,
        **chosen,
        "timezone": timezone,
        "avoid": [a for a in avoid if a][:20],
    }, errors


async def _resolve_people(
    ctx: FlowContext, program: Program, actor: Actor, entries: list[str]
) -> tuple[list[str], list[str]]:
    """Names, emails or user ids as user ids in the same workspace, and the ones not found.
    An exclusion that silently matches nobody would be a promise not kept."""
    if not entries:
        return [], []
    roster = await roster_lookup(ctx, actor.platform, actor.tenant)
    lookup = {alias: person.user_id for alias, person in roster.items()}
    for participant in await ctx.repos.participants.in_program(
        program.id, statuses=("active", "paused", "left")
    ):  # type: ignore[arg-type]
        if (participant.platform, participant.tenant) == (actor.platform, actor.tenant):
            for alias in (participant.user_id, participant.display_name):
                lookup[alias.lower()] = participant.user_id
    found = [lookup[e.lower()] for e in entries if e.lower() in lookup]
    return sorted(set(found)), [e for e in entries if e.lower() not in lookup]


def _key(actor: Actor) -> tuple[str, str, str]:
    return actor.platform, actor.tenant, actor.user_id


# --- leave, pause, status, help -------------------------------------------------------------


async def leave(event: Command, ctx: FlowContext) -> Say:
    found = await membership(ctx, event.actor)
    if found is None:
        return copy.not_enrolled()
    for pair, _partner in found.pairs:
        await end_pair(ctx, pair, ended_by=found.me, kind="left")
    await preparation.cancel_waiting(ctx, found.me)
    await circles.withdraw(ctx, found.me)
    found.me.status, found.me.left_at, found.me.priority = "left", ctx.now, False
    await ctx.repos.participants.save(found.me)
    await ctx.repos.outbox.cancel_pending_for(event.actor.key)
    return say(
        f"You've left {found.program.name}. Thank you for taking part. "
        "Your private check-ins stay private; `/mentoring join` any time to come back."
    )


async def pause(event: Command, ctx: FlowContext) -> Say:
    found = await membership(ctx, event.actor)
    if found is None:
        return copy.not_enrolled()
    words = [a for a in event.args if a.lower() != "until"]
    until = parse_date(words[0]) if words else None
    today = ctx.now.date()
    example = f"`pause {(today + timedelta(days=30)).isoformat()}`"
    latest = today + timedelta(days=MAX_PAUSE_DAYS)
    problem = ""
    if not words:
        problem = f"Tell me until when, as a date (YYYY-MM-DD): {example}."
    elif until is None:
        problem = (
            f"I couldn't read `{words[0][:40]}` as a date that exists. Use YYYY-MM-DD, "
            f"for example {example}."
        )
    elif until <= today:
        problem = f"{until:%d %B %Y} isn't in the future: pick a day after today, like {example}."
    elif until > latest:
        problem = (
            f"{until:%d %B %Y} is more than four months away; the latest is "
            f"{latest:%d %B %Y}. `leave` if you'd rather step out for longer."
        )
    if problem:
        return say(f"{problem} Nothing was changed.")
    found.me.status, found.me.paused_until = "paused", until
    await ctx.repos.participants.save(found.me)
    return say(
        f"Paused until {until:%A %d %B %Y}. No prompts or check-ins until then; "
        "everything resumes by itself. Your partner isn't told why."
    )


async def resume_due(ctx: FlowContext) -> int:
    """Tick job: participants whose pause has ended are active again and told so."""
    resumed = 0
    for participant in await ctx.repos.participants.paused_until_before(ctx.now.date()):
        participant.status, participant.paused_until = "active", None
        await ctx.repos.participants.save(participant)
        await ctx.send_to(
            f"resumed:{participant.id}:{ctx.now.date().isoformat()}",
            participant,
            copy.notice("Welcome back: your mentoring pause is over and everything has resumed."),
        )
        resumed += 1
    return resumed


async def status(event: Command, ctx: FlowContext) -> Say:
    found = await membership(ctx, event.actor)
    if found is None:
        return copy.not_enrolled()
    me, program = found.me, found.program
    lines = [f"Program: {program.name} · you're a {role_label(me)}"]
    if me.status == "paused" and me.paused_until:
        lines.append(f"Paused until {me.paused_until:%d %B %Y}.")
    # While paused no prompt is sent: the next one is the first after the pause.
    back = (
        datetime.combine(me.paused_until, time(0), tzinfo=UTC)
        if me.status == "paused" and me.paused_until
        else ctx.now
    )
    for pair, partner in found.pairs:
        lines.append(f"Your partner: {partner.display_name}")
        nxt = next_cycle_start(pair, program, max(back, ctx.now))
        if nxt:
            after = " (after your pause)" if back > ctx.now else ""
            lines.append(f"Next conversation prompt{after}: around {nxt:%d %B %Y}")
        goals = await ctx.repos.goals.for_pair(pair.id)  # type: ignore[arg-type]
        done = sum(1 for g in goals if g.done_at is not None)
        lines.append(f"Goals: {len(goals) - done} open, {done} done (`/mentoring goals`)")
    preparing = await preparation.status_lines(ctx, me, program, paired=bool(found.pairs))
    lines.extend(preparing)
    if not found.pairs and not any(line.startswith("You've been matched") for line in preparing):
        lines.append("Not paired yet: you'll get an introduction when matching is approved.")
    return say(lines[0], Heading(text="Your mentoring"), Text(text="\n".join(lines)))


async def help_(event: Command, ctx: FlowContext) -> Say:
    return copy.help_message(admin=ctx.policy.is_admin(event.actor))


async def first_contact(event: FirstContact, ctx: FlowContext) -> list[Say]:
    """Installed or first message: remember how to reach the person later, say hello."""
    if event.address:
        await ctx.repos.contacts.remember(*_key(event.actor), event.address, ctx.now)
    await ctx.repos.people.upsert(
        *_key(event.actor), **({"display_name": event.display_name} if event.display_name else {})
    )
    return [copy.help_message(prefix="Hi! I run the reverse-mentoring program here.")]
