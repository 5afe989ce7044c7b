"""Midpoint and final reviews (impact, not attendance), pair completion, end-of-pilot report."""

from __future__ import annotations

from bot.events import ButtonAction, FormSubmission
from bot.messages import Button, Form, FormErrors, FormField, Option, Say, ShowForm, say
from flows import copy, thanks
from flows.answers import one
from flows.checkins import SCALE
from flows.context import FlowContext
from flows.cycles import cycle_end, midpoint_cycle, program_end
from flows.digests import pilot_report_due
from flows.participants import pair_members, partner_role_in
from storage.models import Pair, Participant, Review

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
    review = await ctx.repos.reviews.find(pair.id, me.id, stage) or Review(  # type: ignore[arg-type]
        pair_id=pair.id,
        participant_id=me.id,
        stage=stage,  # type: ignore[arg-type]
    )
    review.changed_enc = ctx.repos.cipher.encrypt_optional(changed or None, review.changed_context)
    review.confidence_before = int(str(values["confidence_before"]))
    review.confidence_now = int(str(values["confidence_now"]))
    review.again = values["again"] == "yes"
    review.submitted_at = ctx.now
    await ctx.repos.reviews.save(review)
    return say("Thank you. Your review is private; it only counts in totals across many pairs.")


async def due(ctx: FlowContext) -> int:
    """Tick job: midpoint reviews after the middle cycle; at the end, complete the pair and
    ask the final review; when a pilot's last pair completes, report to admins."""
    queued = 0
    for program in await ctx.repos.programs.active():
        for pair in await ctx.repos.pairs.active(program.id):
            members = await pair_members(ctx, pair)
            if ctx.now >= program_end(pair, program):
                pair.status, pair.ended_at, pair.end_kind = "completed", ctx.now, "completed"
                await ctx.repos.pairs.save(pair)
                queued += await _ask(ctx, pair, members, "final")
                queued += await thanks.invite(ctx, pair, members)
            elif ctx.now >= cycle_end(pair, program, midpoint_cycle(pair, program)):
                queued += await _ask(ctx, pair, members, "midpoint")
        if program.pilot:
            queued += await pilot_report_due(ctx, program)
    return queued


async def _ask(
    ctx: FlowContext, pair: Pair, members: tuple[Participant, Participant], stage: str
) -> int:
    queued = 0
    for member in members:
        if member.status == "left":
            continue
        queued += await ctx.send_to(
            f"review:{stage}:{pair.id}:{member.id}",
            member,
            copy.notice(
                f"{STAGES[stage]}: what has changed for you?"
                if stage == "midpoint"
                else "Your mentoring pairing is complete. Thank you! One last private review?",
                "Four short questions about impact. Private, as always.",
                buttons=(
                    Button(
                        action_id="review.open",
                        label="Answer",
                        value=f"{pair.id}:{stage}",
                        style="primary",
                    ),
                ),
            ),
            pair_id=pair.id,
        )
    return queued
