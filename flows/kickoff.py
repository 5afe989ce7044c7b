"""The program kick-off: an announcement an admin sends to everyone taking part (date, link,
agenda), each copy arriving in its reader's working hours."""

from __future__ import annotations

import hashlib

from bot.events import Command, FormSubmission
from bot.messages import Form, FormErrors, FormField, Heading, Message, Say, ShowForm, Text, say
from flows import copy
from flows.answers import one, parse_date, whole_number
from flows.context import FlowContext
from flows.programs import current_program
from storage.models import Program

AGENDA = (
    "1. Why reverse mentoring, and what the program asks of each side.\n"
    "2. Confidentiality: what stays between partners, what admins see (totals only).\n"
    "3. Giving and receiving feedback across levels.\n"
    "4. Questions."
)


async def admin_kickoff(event: Command, ctx: FlowContext) -> Say | ShowForm:
    program = await current_program(ctx)
    if program is None:
        return copy.no_program()
    return ShowForm(
        form=Form(
            form_id="admin.kickoff",
            title="Announce the kick-off",
            intro="Sent to everyone taking part, in their own working hours.",
            fields=(
                FormField(id="date", label="Date", type="date"),
                FormField(id="time", label="Time and time zone", hint="e.g. 15:00 Europe/London"),
                FormField(id="link", label="Where: a meeting link or a room", max_length=500),
                FormField(id="agenda", label="Agenda", type="long_text", initial=AGENDA),
            ),
            submit_label="Send",
            state={"program_id": str(program.id)},
        )
    )


async def submit_kickoff(event: FormSubmission, ctx: FlowContext) -> Say | FormErrors:
    program_id = whole_number(event.state.get("program_id", ""))
    program = await ctx.repos.programs.get(program_id) if program_id is not None else None
    if program is None or not program.active:
        return copy.no_program()
    answers = {name: (one(event.values.get(name)) or "").strip() for name in event.values}
    day = parse_date(answers.get("date", ""))
    errors = {}
    if day is None or day < ctx.now.date():
        errors["date"] = "Pick the day of the kick-off (today or later)."
    for field in ("time", "link", "agenda"):
        if not answers.get(field):
            errors[field] = "Please fill this in."
    if errors:
        return FormErrors(errors=errors)
    announcement = Message(
        summary=f"{program.name}: kick-off on {day:%A %d %B}",
        blocks=(
            Heading(text=f"{program.name}: kick-off"),
            Text(text=f"*When:* {day:%A %d %B %Y}, {answers['time']}\n*Where:* {answers['link']}"),
            Text(text=answers["agenda"]),
        ),
    )
    queued = await announce(ctx, program, "kickoff", announcement)
    return say(f"The kick-off announcement is on its way to {queued} people.")


async def announce(ctx: FlowContext, program: Program, kind: str, message: Message) -> int:
    """`message` to everyone taking part (active or paused), each in their working hours;
    the same message twice (a double click) is queued once. How many were queued."""
    digest = hashlib.sha256(message.model_dump_json().encode()).hexdigest()[:12]
    queued = 0
    for person in await ctx.repos.participants.in_program(program.id):  # type: ignore[arg-type]
        queued += await ctx.send_to(f"{kind}:{program.id}:{digest}:{person.id}", person, message)
    return queued
