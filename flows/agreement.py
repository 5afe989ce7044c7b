"""The first-meeting agreement a pair fills in together: focus, what's off-limits, how to
give each other feedback, how often to meet. Either partner can fill it in or change it;
both receive the result. It is theirs: sealed at rest and in no admin view."""

from __future__ import annotations

import hashlib
from typing import Any

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
    Text,
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
LABELS = dict(FIELDS)
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
                _written("focus", current),
                _written("off_limits", current, required=False),
                _written("feedback", current, hint=FEEDBACK_HINT),
                FormField(
                    id="meet",
                    label=LABELS["meet"],
                    type="select",
                    options=tuple(Option(value=v, label=label) for v, label in MEET),
                    initial=current.get("meet"),
                ),
            ),
            submit_label="Save and share with my partner",
            state={"pair_id": str(pair.id)},
        )
    )


def _written(name: str, current: dict[str, str], **options: Any) -> FormField:
    """One of the agreement's free-text answers, prefilled with what the pair has now."""
    return FormField(
        id=name,
        label=LABELS[name],
        type="long_text",
        max_length=LIMIT,
        initial=current.get(name),
        **options,
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
    # Keyed by content and moment: a double click is sent once, a change back is sent again.
    version = hashlib.sha256(f"{sorted(answers.items())}{ctx.now}".encode()).hexdigest()[:12]
    await ctx.send_to_pair(
        f"agreement:{pair.id}:{version}",
        mentor,
        mentee,
        pair.id,  # type: ignore[arg-type]
        _notice(me.display_name, pair.id),  # type: ignore[arg-type]
    )
    return say("Saved. You'll both receive the agreement; either of you can change it.")


def _notice(by: str, pair_id: int) -> Message:
    """A pointer, not the words: the outbox keeps what it sends, and the agreement belongs
    in its sealed row (purged with the pair's check-in notes)."""
    return Message(
        summary=f"Your agreement, as {by} filled it in",
        blocks=(
            Text(text=f"{by} filled in your agreement. Only the two of you can open it."),
            Actions(
                buttons=(
                    Button(
                        action_id="agreement.read",
                        label="Read our agreement",
                        value=str(pair_id),
                        style="primary",
                    ),
                    button(pair_id, "Change it"),
                )
            ),
        ),
    )


async def read(event: ButtonAction, ctx: FlowContext) -> Say:
    me, pair = await partner_role_in(ctx, event.value, event.actor)
    answers = await ctx.repos.agreements.get(pair.id) if me and pair else None  # type: ignore[union-attr, arg-type]
    if answers is None:
        return say("There is no agreement to show you.")
    meet = dict(MEET).get(answers.get("meet", ""), "")
    items = tuple(
        (label, meet if name == "meet" else answers.get(name) or "nothing named")
        for name, label in FIELDS
    )
    return say(
        "Our agreement",
        Heading(text="Our agreement"),
        Fields(items=items),
        Actions(buttons=(button(pair.id, "Change it"),)),  # type: ignore[union-attr, arg-type]
    )
