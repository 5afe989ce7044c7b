"""Confidential check-ins: each partner separately; only the author ever sees the answer."""

from __future__ import annotations

from datetime import datetime

from bot.events import ButtonAction, Command, FormSubmission
from bot.messages import Button, Form, FormErrors, FormField, Option, Say, ShowForm, Text, say
from flows import copy
from flows.answers import one, whole_number
from flows.context import FlowContext
from flows.cycles import Calendar, Dated, current_cycle
from flows.participants import membership, partner_role_in
from storage.answers import CheckInAnswers
from storage.models import Pair, Participant
from storage.repositories.pairs import ActivePair

THEMES: dict[str, str] = {
    "scheduling": "Finding time",
    "psychological_safety": "Feeling safe to speak",
    "unclear_goals": "Unclear goals",
    "power_dynamics": "Hierarchy getting in the way",
    "workload": "Workload",
    "great_progress": "Great progress",
    "new_perspective": "A new perspective",
    "follow_through": "Commitments kept",
}
LEADS: dict[str, str] = {
    "junior": "The more junior of us led",
    "shared": "We shared it",
    "senior": "The more senior of us led, mostly advising",
}
NOTE_LIMIT = 2000
SCALE = tuple(Option(value=str(n), label=str(n)) for n in range(1, 6))


def checkin_form(pair_id: int, cycle: int, *, mentor: bool) -> Form:
    fields = [
        FormField(
            id="met",
            label="Did you meet this month?",
            type="select",
            options=(Option(value="yes", label="Yes"), Option(value="no", label="Not yet")),
        ),
        FormField(
            id="rating",
            label="How is it going? (1 = not well, 5 = great)",
            type="select",
            options=SCALE,
        ),
        FormField(
            id="themes",
            label="Anything that describes it?",
            type="multi_select",
            required=False,
            options=tuple(Option(value=k, label=v) for k, v in THEMES.items()),
        ),
    ]
    fields.append(
        FormField(
            id="lead",
            label="Who led the conversation?",
            type="select",
            required=False,
            options=tuple(Option(value=k, label=v) for k, v in LEADS.items()),
            hint="Reverse mentoring runs upward: the more junior partner sets the agenda.",
        )
    )
    if mentor:
        fields.append(
            FormField(
                id="energy",
                label="How much energy did it take? (1 = easy, 5 = draining)",
                type="select",
                required=False,
                options=SCALE,
            )
        )
    fields.append(
        FormField(
            id="note",
            label="A private note, for you only",
            type="long_text",
            required=False,
            max_length=NOTE_LIMIT,
            hint="Encrypted. Never shown to your partner or to admins.",
        )
    )
    return Form(
        form_id="checkin",
        title="Private check-in",
        intro="Only you will ever see these answers. "
        "Admins see totals across many pairs, never yours.",
        fields=tuple(fields),
        state={"pair_id": str(pair_id), "cycle": str(cycle)},
    )


async def open_from_command(event: Command, ctx: FlowContext) -> Say | ShowForm:
    found = await membership(ctx, event.actor)
    if found is None:
        return copy.not_enrolled()
    if found.pair is None:
        return say("Check-ins start once you're paired with someone.")
    cycle = current_cycle(found.pair, found.program, ctx.now)
    if cycle < 1:
        return say("Your first check-in comes a week after your first conversation prompt.")
    return ShowForm(form=checkin_form(found.pair.id, cycle, mentor=found.me.role != "mentee"))  # type: ignore[arg-type]


async def open_from_button(event: ButtonAction, ctx: FlowContext) -> Say | ShowForm:
    pair_id, _, cycle_text = event.value.partition(":")
    me, pair = await partner_role_in(ctx, pair_id, event.actor)
    cycle = await _open_cycle(ctx, pair, cycle_text)
    if me is None or pair is None or cycle is None:
        return say("This check-in is no longer open.")
    return ShowForm(form=checkin_form(pair.id, cycle, mentor=me.role != "mentee"))  # type: ignore[arg-type]


async def submit(event: FormSubmission, ctx: FlowContext) -> Say | FormErrors:
    me, pair = await partner_role_in(ctx, event.state.get("pair_id", ""), event.actor)
    cycle = await _open_cycle(ctx, pair, event.state.get("cycle", ""))
    if me is None or pair is None or cycle is None:
        return say("This check-in is no longer open. Nothing was stored.")
    answers, errors = _validate(event.values, mentor=me.role != "mentee")
    if errors:
        return FormErrors(errors=errors)
    # One answer per person per cycle: a replayed or edited submission replaces it. The
    # answers and the note are sealed at rest.
    await ctx.repos.checkins.record(
        pair.id,  # type: ignore[arg-type]
        me.id,  # type: ignore[arg-type]
        cycle,
        CheckInAnswers(
            met=answers["met"],
            rating=answers["rating"],
            themes=answers["themes"],
            energy=answers["energy"],
            lead=answers["lead"],
        ),
        answers["note"],
        ctx.now,
    )
    return _thanks(me, answers, await _support(ctx, pair))


async def _support(ctx: FlowContext, pair: Pair) -> str:
    program = await ctx.repos.programs.get(pair.program_id)
    return program.support if program else ""


def _thanks(me: Participant, answers: dict, support: str) -> Say:
    lines = ["Thank you. This check-in is yours alone: your partner won't see it."]
    heavy = me.role != "mentee" and (answers["energy"] or 0) >= 4
    if heavy:
        lines.append(
            "Giving honest feedback upward takes real energy, and it sounds like this one did. "
            + (support or "Your program lead can point you to support.")
        )
    if answers["lead"] == "senior":
        lines.append(
            "A gentle suggestion: reverse mentoring works best when the more junior partner "
            "leads. Next time, try starting with their questions and their view, and hold "
            "back the advice."
        )
    if answers["rating"] <= 2:
        lines.append(
            "If something isn't working, `/mentoring end` lets you end or re-match, confidentially."
        )
    return say(lines[0], *(Text(text=line) for line in lines))


def _validate(values: dict[str, str | list[str]], *, mentor: bool) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    met = one(values.get("met"))
    if met not in ("yes", "no"):
        errors["met"] = "Tell us whether you met."
    rating = one(values.get("rating"))
    if rating not in {o.value for o in SCALE}:
        errors["rating"] = "Choose a number from 1 to 5."
    raw_themes = values.get("themes") or []
    themes = sorted(
        {t for t in (raw_themes if isinstance(raw_themes, list) else raw_themes.split(",")) if t}
    )
    if any(t not in THEMES for t in themes):
        errors["themes"] = "Choose from the list."
    energy = one(values.get("energy")) if mentor else None
    if energy and energy not in {o.value for o in SCALE}:
        errors["energy"] = "Choose a number from 1 to 5."
    lead = one(values.get("lead")) or None
    if lead is not None and lead not in LEADS:
        errors["lead"] = "Choose from the list."
    note = (one(values.get("note")) or "").strip()
    if len(note) > NOTE_LIMIT:
        errors["note"] = f"Keep the note under {NOTE_LIMIT} characters."
    scale = {o.value: int(o.value) for o in SCALE}  # only values already checked convert
    answers = {
        "met": met == "yes",
        "rating": scale.get(rating or "", 0),
        "themes": themes,
        "energy": scale.get(energy or ""),
        "lead": lead,
        "note": note or None,
    }
    return answers, errors


async def _open_cycle(ctx: FlowContext, pair: Pair | None, text: str) -> int | None:
    """A started cycle of an active pair (a button or form can't invent another)."""
    program = await ctx.repos.programs.get(pair.program_id) if pair else None
    cycle = whole_number(text, digits=4)
    if pair is None or program is None or pair.status != "active" or cycle is None:
        return None
    return cycle if 1 <= cycle <= current_cycle(pair, program, ctx.now) else None


CHUNK = 5_000  # pairs per round of queries: bounds a tick's memory


Wanted = tuple[str, int, int, int, datetime]  # outbox key, pair, cycle, participant, expiry


async def due(ctx: FlowContext) -> int:
    """Tick job: a week after each prompt, each active partner gets their own check-in."""
    queued = 0
    for program in await ctx.repos.programs.active():
        calendar = Calendar(program, ctx.now)
        starts = calendar.starts_where(
            await ctx.repos.pairs.active_starts(program.id),  # type: ignore[arg-type]
            lambda cal, pair: _checkin_cycle(cal, pair) >= 1,
        )
        chunks = ctx.repos.pairs.active_chunks(program.id, CHUNK, started=starts)  # type: ignore[arg-type]
        async for chunk in chunks:
            queued += await _invite(ctx, _wanted(calendar, chunk))
    return queued


def _wanted(calendar: Calendar, chunk: list[ActivePair]) -> list[Wanted]:
    """Both partners of each pair whose check-in for the current cycle has come."""
    wanted = []
    for pair in chunk:
        cycle = _checkin_cycle(calendar, pair)
        if cycle < 1:
            continue
        for member_id in (pair.mentor_id, pair.mentee_id):
            key = f"checkin:{pair.id}:{cycle}:{member_id}"
            # Not delivered once the next cycle has begun: its own invitation follows.
            wanted.append((key, pair.id, cycle, member_id, calendar.cycle_end(pair, cycle)))
    return wanted


def _checkin_cycle(calendar: Calendar, pair: Dated) -> int:
    """The cycle whose check-in has come (0 if none has yet)."""
    cycle = calendar.current(pair)
    return cycle if cycle >= 1 and calendar.now >= calendar.checkin_due(pair, cycle) else 0


async def _invite(ctx: FlowContext, wanted: list[Wanted]) -> int:
    """Queue the check-ins not queued before, to partners who are active, in bulk."""
    taken = await ctx.repos.outbox.existing_keys([key for key, *_ in wanted]) if wanted else set()
    wanted = [entry for entry in wanted if entry[0] not in taken]
    if not wanted:
        return 0
    members = await ctx.repos.participants.members([entry[3] for entry in wanted])
    items = [
        ctx.person_item(
            key, members[member], checkin_invite(pair_id, cycle), pair_id=pair_id, expires_at=end
        )
        for key, pair_id, cycle, member, end in wanted
        if members[member].status == "active"
    ]
    return len(await ctx.queue(items))


def checkin_invite(pair_id: int, cycle: int):  # type: ignore[no-untyped-def]
    return copy.notice(
        f"Time for your private check-in for month {cycle}.",
        "Two minutes, and only you will ever see your answers.",
        buttons=(
            Button(
                action_id="checkin.open",
                label="Check in privately",
                value=f"{pair_id}:{cycle}",
                style="primary",
            ),
        ),
    )
