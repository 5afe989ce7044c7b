"""Introductions: why you were matched, the agreement, and a kick-off agenda."""

from __future__ import annotations

from bot.messages import Actions, Button, Heading, Message, Text
from flows import agreement, copy
from flows.context import FlowContext
from storage.models import Pair, Participant, Program

KICKOFF_AGENDA = (
    "Your first conversation (about 45 minutes):\n"
    "1. Expectations: what each of you hopes to get from the next months.\n"
    "2. Confidentiality: what's said stays between you; agree how you'll handle sensitive "
    "things.\n"
    "3. Boundaries: anything off-limits, and how you'll say so if a topic gets too heavy.\n"
    "4. How you'll give each other feedback, and how often you'll meet: fill in your "
    "agreement together with the button below.\n"
    "5. First goals: one thing each of you wants to change or learn (`/mentoring goals add`)."
)


async def introduce(
    ctx: FlowContext, pair: Pair, mentor: Participant, mentee: Participant, program: Program
) -> None:
    await ctx.send_to_pair(
        f"intro:{pair.id}",
        mentor,
        mentee,
        pair.id,  # type: ignore[arg-type]
        intro_message(pair, mentor, mentee, program),
    )


def intro_message(
    pair: Pair, mentor: Participant, mentee: Participant, program: Program
) -> Message:
    summary = f"Meet your mentoring partner: {mentor.display_name} and {mentee.display_name}"
    roles = (
        f"{mentor.display_name} and {mentee.display_name}, you're a two-way pair: "
        "you'll take turns leading."
        if pair.two_way
        else f"{mentor.display_name} is the mentor, sharing the view from where they sit; "
        f"{mentee.display_name} is the mentee, here to listen and learn."
    )
    return Message(
        summary=summary,
        blocks=(
            Heading(text=f"{program.name}: meet your partner"),
            Text(text=roles),
            Text(text=f"Why you were matched: {pair.explanation}"),
            Text(text=copy.AGREEMENT),
            Text(text=KICKOFF_AGENDA),
            Text(
                text=f"{mentee.display_name}, please reach out first and set up your first "
                "conversation this week: it shows the mentoring runs upward."
            ),
            Actions(
                buttons=(
                    agreement.button(pair.id),  # type: ignore[arg-type]
                    Button(action_id="goals.add", label="Add a first goal", value=str(pair.id)),
                )
            ),
        ),
    )
