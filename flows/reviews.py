"""Midpoint and final reviews (impact, not attendance), pair completion, end-of-pilot report."""

from __future__ import annotations

from bot.events import ButtonAction, FormSubmission
from bot.messages import (
    Button,
    Form,
    FormErrors,
    FormField,
    Message,
    Option,
    Say,
    ShowForm,
    say,
)
from flows import copy, thanks
from flows.answers import one
from flows.checkins import SCALE
from flows.context import FlowContext
from flows.cycles import Calendar, Dated
from flows.digests import pilot_report_due
from flows.participants import partner_role_in
from storage.answers import ReviewAnswers
from storage.repositories.pairs import ActivePair

STAGES = {"midpoint": "Midpoint review", "final": "Final review"}
CHANGED_LIMIT = 2000


def review_form(pair_id: int, stage: str) -> Form:
    return Form(
        form_id="review",
        title=STAGES[stage],
        intro="About what changed for you, not attendance. "
        "Private: admins only see totals across many pairs.",
        fields=(
            FormField(
                id="changed",
                label="What has changed for you so far?",
                type="long_text",
                required=False,
                max_length=CHANGED_LIMIT,
            ),
            FormField(
                id="confidence_before",
                label="Your confidence on your learning topics before the program (1-5)",
                type="select",
                options=SCALE,
            ),
            FormField(id="confidence_now", label="…and now (1-5)", type="select", options=SCALE),
            FormField(
                id="again",
                label="Would you do it again?",
                type="select",
                options=(Option(value="yes", label="Yes"), Option(value="no", label="No")),
            ),
        ),
        state={"pair_id": str(pair_id), "stage": stage},
    )


async def open_review(event: ButtonAction, ctx: FlowContext) -> Say | ShowForm:
    pair_id, _, stage = event.value.partition(":")
    me, pair = await partner_role_in(ctx, pair_id, event.actor)
    if me is None or pair is None or stage not in STAGES:
        return say("This review is no longer open.")
    return ShowForm(form=review_form(pair.id, stage))  # type: ignore[arg-type]


async def submit(event: FormSubmission, ctx: FlowContext) -> Say | FormErrors:
    stage = event.state.get("stage", "")
    me, pair = await partner_role_in(ctx, event.state.get("pair_id", ""), event.actor)
    if me is None or pair is None or stage not in STAGES:
        return say("This review is no longer open. Nothing was stored.")
    values = {k: one(v) for k, v in event.values.items()}
    errors = {
        name: "Choose a number from 1 to 5."
        for name in ("confidence_before", "confidence_now")
        if values.get(name) not in {o.value for o in SCALE}
    }
    if values.get("again") not in ("yes", "no"):
        errors["again"] = "Choose yes or no."
    changed = str(values.get("changed") or "").strip()
    if len(changed) > CHANGED_LIMIT:
        errors["changed"] = f"Keep it under {CHANGED_LIMIT} characters."
    if errors:
        return FormErrors(errors=errors)
    # One review per person per stage; the scores and the text are sealed at rest.
    await ctx.repos.reviews.record(
        pair.id,  # type: ignore[arg-type]
        me.id,  # type: ignore[arg-type]
        stage,
        ReviewAnswers(
            confidence_before=int(str(values["confidence_before"])),
            confidence_now=int(str(values["confidence_now"])),
            again=values["again"] == "yes",
        ),
        changed or None,
        ctx.now,
    )
    return say("Thank you. Your review is private; it only counts in totals across many pairs.")


CHUNK = 5_000  # pairs per round of queries: bounds a tick's memory
Wanted = tuple[str, int, int, str]  # outbox key, pair, participant, stage


async def due(ctx: FlowContext) -> int:
    """Tick job: midpoint reviews after the middle cycle; at the end, complete the pair and
    ask the final review; when a pilot's last pair completes, report to admins."""
    queued = 0
    for program in await ctx.repos.programs.active():
        calendar = Calendar(program, ctx.now)
        starts = calendar.starts_where(
            await ctx.repos.pairs.active_starts(program.id),  # type: ignore[arg-type]
            lambda cal, pair: _stage(cal, pair) is not None,
        )
        chunks = ctx.repos.pairs.active_chunks(program.id, CHUNK, started=starts)  # type: ignore[arg-type]
        async for chunk in chunks:
            finished = [pair for pair in chunk if ctx.now >= calendar.program_end(pair)]
            await ctx.repos.pairs.complete([pair.id for pair in finished], ctx.now)
            queued += await _ask(ctx, _wanted(calendar, chunk))
            queued += await _invite_thanks(ctx, finished)
        if program.pilot:
            queued += await pilot_report_due(ctx, program)
    return queued


async def _invite_thanks(ctx: FlowContext, finished: list[ActivePair]) -> int:
    """Pairs completed this tick: whoever was mentored is invited to say thank you."""
    if not finished:
        return 0
    people = await ctx.repos.participants.members(
        [member for pair in finished for member in (pair.mentor_id, pair.mentee_id)]
    )
    queued = 0
    for pair in finished:
        members = (people[pair.mentor_id], people[pair.mentee_id])
        queued += await thanks.invite(ctx, pair, members)
    return queued


def _wanted(calendar: Calendar, chunk: list[ActivePair]) -> list[Wanted]:
    """Each partner's final review of a pair whose program is over, or midpoint review of
    a pair past its middle cycle."""
    wanted = []
    for pair in chunk:
        stage = _stage(calendar, pair)
        if stage is None:
            continue
        for member in (pair.mentor_id, pair.mentee_id):
            wanted.append((f"review:{stage}:{pair.id}:{member}", pair.id, member, stage))
    return wanted


def _stage(calendar: Calendar, pair: Dated) -> str | None:
    """The review due: final once the program is over, midpoint after the middle cycle."""
    if calendar.now >= calendar.program_end(pair):
        return "final"
    if calendar.now >= calendar.midpoint_end(pair):
        return "midpoint"
    return None


async def _ask(ctx: FlowContext, wanted: list[Wanted]) -> int:
    """Queue the reviews not queued before, to partners who haven't left, in bulk."""
    taken = await ctx.repos.outbox.existing_keys([key for key, *_ in wanted]) if wanted else set()
    wanted = [entry for entry in wanted if entry[0] not in taken]
    if not wanted:
        return 0
    members = await ctx.repos.participants.members([member for _, _, member, _ in wanted])
    items = [
        ctx.person_item(key, members[member], review_invite(pair_id, stage), pair_id=pair_id)
        for key, pair_id, member, stage in wanted
        if members[member].status != "left"
    ]
    return len(await ctx.queue(items))


def review_invite(pair_id: int, stage: str) -> Message:
    return copy.notice(
        f"{STAGES[stage]}: what has changed for you?"
        if stage == "midpoint"
        else "Your mentoring pairing is complete. Thank you! One last private review?",
        "Four short questions about impact. Private, as always.",
        buttons=(
            Button(
                action_id="review.open",
                label="Answer",
                value=f"{pair_id}:{stage}",
                style="primary",
            ),
        ),
    )
