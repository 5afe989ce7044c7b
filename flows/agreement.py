"""The first-meeting agreement a pair fills in together: focus, what's off-limits, how to
give each other feedback, how often to meet. Either partner can fill it in or change it;
both receive the result. It is theirs: sealed at rest and in no admin view."""

from __future__ import annotations

import hashlib
import json

from bot.events import ButtonAction, FormSubmission
from bot.messages import (
    Actions,
    Button,
    Fields,
    Form,
    FormErrors,
    FormField,
    Heading,
    Message,
    Option,
    Say,
    ShowForm,
    say,
)
from flows.answers import one
from flows.context import FlowContext
from flows.participants import pair_members, partner_role_in

LIMIT = 1000
FIELDS = (
    ("focus", "What we'll focus on"),
    ("off_limits", "What's off-limits"),
    ("feedback", "How we'll give each other feedback"),
    ("meet", "How often we'll meet"),
)
MEET = (
    ("weekly", "Every week"),
    ("fortnightly", "Every two weeks"),
    ("monthly", "Once a month"),
)
FEEDBACK_HINT = "e.g. situation, behaviour, impact; a minute at the end of each conversation"


def button(pair_id: int, label: str = "Fill in our agreement") -> Button:
    return Button(action_id="agreement.open", label=label, value=str(pair_id))


async def open_form(event: ButtonAction, ctx: FlowContext) -> Say | ShowForm:
    me, pair = await partner_role_in(ctx, event.value, event.actor)
    if me is None or pair is None or pair.status != "active":
        return say("This agreement isn't open to you. Nothing changed.")
    current = await ctx.repos.agreements.get(pair.id) or {}  # type: ignore[arg-type]
    return ShowForm(
        form=Form(
            form_id="agreement",
            title="Our agreement",
            intro="Fill it in together at your first meeting; you both receive it. Only the "
            "two of you ever see it.",
            fields=(
                FormField(
                    id="focus",
                    label=FIELDS[0][1],
                    type="long_text",
                    max_length=LIMIT,
                    initial=current.get("focus"),
                ),
                FormField(
                    id="off_limits",
                    label=FIELDS[1][1],
                    type="long_text",
                    required=False,
                    max_length=LIMIT,
                    initial=current.get("off_limits"),
                ),
                FormField(
                    id="feedback",
                    label=FIELDS[2][1],
                    type="long_text",
                    hint=FEEDBACK_HINT,
                    max_length=LIMIT,
                    initial=current.get("feedback"),
                ),
                FormField(
                    id="meet",
                    label=FIELDS[3][1],
                    type="select",
                    options=tuple(Option(value=v, label=label) for v, label in MEET),
                    initial=current.get("meet"),
                ),
            ),
            submit_label="Save and share with my partner",
            state={"pair_id": str(pair.id)},
        )
    )


async def submit(event: FormSubmission, ctx: FlowContext) -> Say | FormErrors:
    me, pair = await partner_role_in(ctx, event.state.get("pair_id", ""), event.actor)
    if me is None or pair is None or pair.status != "active":
        return say("This agreement isn't open to you. Nothing was stored.")
    answers = {name: (one(event.values.get(name)) or "").strip() for name, _label in FIELDS}
    errors = {name: "Please fill this in." for name in ("focus", "feedback") if not answers[name]}
    errors |= {
        name: f"Keep it under {LIMIT} characters." for name, v in answers.items() if len(v) > LIMIT
    }
    if answers["meet"] not in {v for v, _label in MEET}:
        errors["meet"] = "Choose how often you'll meet."
    if errors:
        return FormErrors(errors=errors)
    await ctx.repos.agreements.save(pair.id, answers, by=me.id, now=ctx.now)  # type: ignore[arg-type]
    mentor, mentee = await pair_members(ctx, pair)
    version = hashlib.sha256(json.dumps(answers, sort_keys=True).encode()).hexdigest()[:12]
    await ctx.send_to_pair(
        f"agreement:{pair.id}:{version}",
        mentor,
        mentee,
        pair.id,  # type: ignore[arg-type]
        agreement_message(answers, me.display_name, pair.id),  # type: ignore[arg-type]
    )
    return say("Saved. You'll both receive the agreement; either of you can change it.")


def agreement_message(answers: dict[str, str], by: str, pair_id: int) -> Message:
    meet = dict(MEET).get(answers.get("meet", ""), "")
    items = tuple(
        (label, meet if name == "meet" else answers.get(name) or "nothing named")
        for name, label in FIELDS
    )
    return Message(
        summary=f"Your agreement, as {by} filled it in",
        blocks=(
            Heading(text="Our agreement"),
            Fields(items=items),
            Actions(buttons=(button(pair_id, "Change it"),)),
        ),
    )
