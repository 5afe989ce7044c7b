"""Admin views: status (including delivery failures) and the audit log."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from bot.events import Command
from bot.messages import Fields, Heading, Say, Text, say
from flows import preparation
from flows.context import FlowContext
from flows.programs import current_program
from storage.models import ContactAddress


async def admin_status(event: Command, ctx: FlowContext) -> Say:
    program = await current_program(ctx)
    blocks: list = [Heading(text="Program status")]
    if program is None:
        blocks.append(
            Text(
                text="No active program. `admin program` or `upward program load FILE` creates one."
            )
        )
    else:
        people = await ctx.repos.participants.in_program(
            program.id, statuses=("active", "paused", "left")
        )  # type: ignore[arg-type]
        pairs = await ctx.repos.pairs.in_program(program.id)  # type: ignore[arg-type]
        waiting = await ctx.repos.participants.unpaired_pool(program.id)  # type: ignore[arg-type]
        proposal = await ctx.repos.pairs.open_round(program.id)  # type: ignore[arg-type]
        current = [p for p in people if p.status != "left"]
        prepared = await preparation.finished_count(ctx, current, program)
        blocks.append(
            Fields(
                items=(
                    (
                        "Program",
                        f"{program.name} ({program.focus}, {program.cadence}, "
                        f"k = {program.anonymity_threshold})",
                    ),
                    (
                        "Participants",
                        _tally(p.status for p in people),
                    ),
                    (
                        "Pairs",
                        _tally(p.status for p in pairs),
                    ),
                    ("Waiting for a match", str(len(waiting))),
                    ("Preparation", prepared),
                    ("Matching proposal", "waiting for approval" if proposal else "none"),
                )
            )
        )
    counts = await ctx.repos.outbox.counts()
    blocks.append(
        Fields(items=tuple((f"Messages {status}", str(n)) for status, n in sorted(counts.items())))
    )
    unreachable = await ctx.repos.contacts.unreachable(limit=20)
    if unreachable:
        blocks.append(Heading(text="Can't be reached"))
        blocks.append(Text(text="\n".join(await _unreachable_lines(ctx, unreachable))))
    failures = await ctx.repos.outbox.failures(limit=10)
    if failures:
        blocks.append(Heading(text="Could not be delivered"))
        lines = [f"• {_kind(f.key)} #{f.id}: {f.last_error}" for f in failures]
        blocks.append(Text(text="\n".join(lines)))
    return say("Program status", *blocks)


async def admin_audit(event: Command, ctx: FlowContext) -> Say:
    entries = await ctx.repos.audit.latest(limit=20)
    lines = [
        f"{e.at:%Y-%m-%d %H:%M} {e.actor} {e.action} {e.target} → {e.outcome}".replace("  ", " ")
        for e in entries
    ]
    return say(
        "Latest admin actions",
        Heading(text="Latest admin actions"),
        Text(text="\n".join(lines) or "None yet."),
    )


async def _unreachable_lines(ctx: FlowContext, contacts: list[ContactAddress]) -> list[str]:
    """Who the bot can't message any more, and why: they need to (re)install the app or
    message the bot once; nothing is retried for them until then."""
    lines = []
    for contact in contacts:
        person = await ctx.repos.people.find(contact.platform, contact.tenant, contact.user_id)
        name = (person.display_name if person else "") or contact.user_id
        lines.append(
            f"• {name} ({contact.platform}), since {contact.unreachable_since:%Y-%m-%d}: "
            f"{contact.unreachable_reason}"
        )
    return lines


def _tally(statuses: Iterable[str]) -> str:
    counts = Counter(statuses)
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"


def _kind(key: str) -> str:
    """What sort of message failed ("intro", "prompt", …). The full key can name a pair and
    a person (e.g. whose preparation reminder it was), which admins don't need to see."""
    return key.split(":", 1)[0]
