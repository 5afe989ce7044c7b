"""The readiness pulse: before enrolment opens, an admin asks a pilot group a few anonymous
questions (are leaders ready to listen, would junior staff feel safe to speak, is there a
sponsor). Answers are only ever counted; admins see the totals once the pulse has closed,
under the same k rule as digests, with a plain recommendation.

Results wait for the close on purpose: totals that change after each answer would let an
admin read one person's answers off the difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path

import yaml

from bot.events import Actor, ButtonAction, Command, FormSubmission
from bot.messages import (
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
    ToPerson,
    say,
)
from flows import copy
from flows.answers import one, parse_date
from flows.channels import admin_channels
from flows.context import FlowContext, actor_of
from flows.disclosure import (
    CountBands,
    count_text,
    mean_range,
    mean_text,
    participation,
    withheld_line,
)
from flows.participants import parse_id
from flows.programs import current_program
from flows.roster import person_ref, roster_lookup
from storage.models import Person, Program, ReadinessPulse

LIBRARY = Path(__file__).parent / "data" / "readiness.yaml"
AGREE = (
    ("5", "Strongly agree"),
    ("4", "Agree"),
    ("3", "Neither agree nor disagree"),
    ("2", "Disagree"),
    ("1", "Strongly disagree"),
)
YES_NO = (("yes", "Yes"), ("no", "No"), ("unsure", "Not sure"))
OPEN_FOR = timedelta(days=7)
DEFAULT_K = 5


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # agree | yes_no
    text: str
    blocker: str

    @property
    def options(self) -> tuple[tuple[str, str], ...]:
        return AGREE if self.kind == "agree" else YES_NO


@cache
def questions(path: Path = LIBRARY) -> tuple[Question, ...]:
    entries = yaml.safe_load(path.read_text())["questions"]
    return tuple(Question(e["id"], e["kind"], e["text"], e["blocker"]) for e in entries)


# --- the summary: pure, so the anonymity rule can be tested exhaustively --------------------


@dataclass(frozen=True)
class Line:
    label: str
    value: str | None  # None: withheld


@dataclass(frozen=True)
class Summary:
    answered: int
    lines: tuple[Line, ...]
    recommendation: str


def summarise(tallies: dict[str, dict[str, int]], answered: int, k: int) -> Summary:
    """Totals per question, worded by `flows.disclosure` so that none can pin down what
    anybody said; a question with no safe wording is withheld."""
    if answered < k:
        lines = tuple(Line(q.text, None) for q in questions())
        return Summary(answered, lines, _too_few(answered, k))
    lines = tuple(_line(q, tallies.get(q.id, {}), k) for q in questions())
    # The recommendation reads only the figures as shown: the raw totals would say more.
    shown = {
        q.id: _as_shown(q, tallies.get(q.id, {}), k)
        for q, line in zip(questions(), lines, strict=True)
        if line.value
    }
    advice = _recommend_shown(shown)
    if len(shown) < len(lines):
        advice += " (Questions that can't be shown are left out of this.)"
    return Summary(answered, lines, advice)


def _line(question: Question, counts: dict[str, int], k: int) -> Line:
    total = sum(counts.values())
    if question.kind == "yes_no":
        return Line(question.text, count_text(_positive(question, counts), total, k, "say yes"))
    # One figure per question: a count of who agreed beside the average, over the same
    # answers, could pin down together what neither does alone.
    average = mean_text(_each_answer(counts), k)
    return Line(question.text, None if average is None else f"average {average} of 5")


def _each_answer(counts: dict[str, int]) -> dict[int, list[int]]:
    """One group per person: an average over people, as the attacker's model has it."""
    answers = [int(a) for a, n in sorted(counts.items()) for _ in range(n)]
    return {i: [a] for i, a in enumerate(answers)}


def _as_shown(question: Question, counts: dict[str, int], k: int) -> float:
    """The middle of the shown band: an average for agree questions, a share for yes/no."""
    if question.kind == "agree":
        band = mean_range(_each_answer(counts), k)
        return float((band[0] + band[1]) / 2) if band else 0.0
    total = sum(counts.values())
    lo, hi = CountBands(total, k).bounds(_positive(question, counts))
    return (lo + hi) / 2 / total if total else 0.0


def _positive(question: Question, counts: dict[str, int]) -> int:
    wanted = ("yes",) if question.kind == "yes_no" else ("4", "5")
    return sum(counts.get(a, 0) for a in wanted)


def _average(counts: dict[str, int]) -> float:
    total = sum(counts.values())
    return sum(int(a) * n for a, n in counts.items()) / total if total else 0.0


def recommend(tallies: dict[str, dict[str, int]]) -> str:
    """The recommendation from raw totals (every question shown exactly)."""
    scores = {
        q.id: _average(tallies[q.id])
        if q.kind == "agree"
        else _positive(q, tallies[q.id]) / (sum(tallies[q.id].values()) or 1)
        for q in questions()
        if q.id in tallies
    }
    return _recommend_shown(scores)


def _recommend_shown(scores: dict[str, float]) -> str:
    """Launch, launch as a small pilot, or not yet (and why), from the questions given
    (an average for agree questions, a share for yes/no); "launch" outright only when
    every question is there and strong."""
    if not scores:
        return "No recommendation: no question can be shown."
    blockers, strong = [], len(scores) == len(questions())
    for question in questions():
        if question.id not in scores:
            continue
        score = scores[question.id]
        if question.kind == "agree":
            weak, good = score < 3.0, score >= 3.8
        else:
            weak, good = score < 0.5, score >= 2 / 3
        if weak:
            blockers.append(question.blocker)
        strong = strong and good
    if blockers:
        return "Not yet: " + "; ".join(blockers) + "."
    if strong:
        return "Launch: the group is ready."
    return "Launch as a small pilot (a handful of pairs), then ask again in a few months."


def _too_few(answered: int, k: int) -> str:
    return (
        f"Not enough answers to say anything yet (at least {k} are needed). "
        "Ask a larger group, or give people longer."
    )


def summary_message(pulse: ReadinessPulse, summary: Summary, asked: int) -> Message:
    title = f"Readiness pulse: {participation(summary.answered, pulse.k)} of {asked} answered"
    withheld = [line.label for line in summary.lines if line.value is None]
    blocks: list[Heading | Text | Fields] = [
        Heading(text=title),
        Text(
            text=f"Closed {pulse.closes_at:%d %B %Y}. Answers were only counted, and admins' "
            f"own answers never are. Figures over fewer than {pulse.k} people, or that could "
            "give one person's answer away, are not shown."
        ),
        Fields(items=tuple((line.label, line.value) for line in summary.lines if line.value)),
    ]
    if withheld:
        blocks.append(Text(text=withheld_line(withheld)))
    blocks.append(Text(text=f"*Recommendation:* {summary.recommendation}"))
    return Message(summary=title, blocks=tuple(blocks))


# --- admins: send a pulse, see how it's going, read the result ---------------------------


async def admin_readiness(event: Command, ctx: FlowContext) -> Say | ShowForm:
    """`admin readiness` (the latest pulse) or `admin readiness new`."""
    latest = await ctx.repos.readiness.latest(event.actor.platform, event.actor.tenant)
    if latest is None or (event.args and event.args[0].lower() == "new"):
        return ShowForm(form=_pulse_form(ctx))
    if ctx.now < latest.closes_at:
        asked, answered = await ctx.repos.readiness.turnout(latest.id)  # type: ignore[arg-type]
        so_far = f"Readiness pulse: {participation(answered, latest.k)} of {asked} have answered"
        return say(
            f"{so_far} so far.",
            Text(
                text=f"{so_far} so far. The "
                f"results come on {latest.closes_at:%d %B}, when it closes: totals shown "
                "while answers arrive would give single answers away."
            ),
        )
    await _publish(ctx, latest)  # the tick may not have run since the close
    return Say(message=_result_message(latest))


def _pulse_form(ctx: FlowContext) -> Form:
    closes = (ctx.now + OPEN_FOR).date().isoformat()
    return Form(
        form_id="admin.readiness",
        title="Readiness pulse",
        intro="A few anonymous questions for a pilot group before enrolment opens: "
        + " / ".join(q.text for q in questions()),
        fields=(
            FormField(
                id="audience",
                label="Who to ask",
                type="long_text",
                hint="Names, emails or user ids, separated by commas; or `everyone` for "
                "everyone in the roster",
                max_length=3000,
            ),
            FormField(id="closes", label="Answers close on", type="date", initial=closes),
        ),
        submit_label="Send",
    )


async def check_pulse(event: FormSubmission, ctx: FlowContext) -> FormErrors | None:
    """The early, read-only answer to the pulse form: its field errors, or None when it
    may be accepted (the platform then has its answer before anyone is invited)."""
    checked = await _checked_pulse(event, ctx)
    return checked if isinstance(checked, FormErrors) else None


async def _checked_pulse(
    event: FormSubmission, ctx: FlowContext
) -> FormErrors | tuple[Program | None, int, list[Person], date, int]:
    program = await current_program(ctx)
    k = program.anonymity_threshold if program else DEFAULT_K
    everyone, unknown = await _audience(ctx, event.actor, one(event.values.get("audience")) or "")
    # An admin who answered could subtract her own answers from the totals.
    people = [p for p in everyone if not ctx.policy.is_admin(actor_of(p))]
    admins_left_out = len(everyone) - len(people)
    closes = parse_date(one(event.values.get("closes")) or "")
    errors = {}
    if unknown:
        errors["audience"] = f"I couldn't find {', '.join(unknown[:5])} in the roster."
    elif len(people) < k:
        errors["audience"] = (
            f"Ask at least {k} people: results from fewer can never be shown (k = {k})."
        )
    elif problem := await _too_close_to_an_earlier_pulse(ctx, event.actor, people, k):
        errors["audience"] = problem
    if closes is None or closes <= ctx.now.date():
        errors["closes"] = "Pick a day after today."
    if errors or closes is None:
        return FormErrors(errors=errors)
    return program, k, people, closes, admins_left_out


async def submit_pulse(event: FormSubmission, ctx: FlowContext) -> Say | FormErrors:
    """Checked again (things may have changed since `check_pulse`), then one invitation
    per person, queued in one go."""
    checked = await _checked_pulse(event, ctx)
    if isinstance(checked, FormErrors):
        return checked
    program, k, people, closes, admins_left_out = checked
    pulse = await ctx.repos.readiness.create(
        ReadinessPulse(
            program_id=program.id if program else None,
            platform=event.actor.platform,
            tenant=event.actor.tenant,
            created_by=event.actor.key,
            created_at=ctx.now,
            closes_at=datetime.combine(closes, time(17, 0), tzinfo=UTC),  # type: ignore[arg-type]
            k=k,
        ),
        [(p.platform, p.tenant, p.user_id) for p in people],
        [(q.id, answer) for q in questions() for answer, _label in q.options],
    )
    invite = _invite(pulse)
    items = [
        ctx.item(
            f"readiness:{pulse.id}:{person.user_id}",
            ToPerson(
                person=Actor(platform=person.platform, tenant=person.tenant, user_id=person.user_id)
            ),
            invite,
            timezones=[person.timezone or "UTC"],
            expires_at=pulse.closes_at,
        )
        for person in people
    ]
    await ctx.queue(items)
    left_out = (
        f" Admins ({admins_left_out}) aren't asked: their own answers would let them read "
        "others' off the totals."
        if admins_left_out
        else ""
    )
    return say(
        f"Asked {len(people)} people. Results on {pulse.closes_at:%d %B}, when answers close "
        f"(`admin readiness`); they are also posted to the admin channel.{left_out}"
    )


async def _too_close_to_an_earlier_pulse(
    ctx: FlowContext, actor: Actor, people: list[Person], k: int
) -> str:
    """Two pulses whose groups differ by a few people can be compared to read those few
    people's answers off the difference: each group must be the same as every earlier one,
    or differ from it by at least k people."""
    asked = {p.user_id for p in people}
    for pulse, earlier in await ctx.repos.readiness.audiences(actor.platform, actor.tenant):
        differ = len(asked ^ earlier)
        if 0 < differ < k:
            return (
                f"This group differs from the pulse sent on {pulse.created_at:%d %B %Y} by only "
                f"{differ} {'person' if differ == 1 else 'people'}: comparing the two results "
                f"could single them out. Ask the same group, or change it by at least {k}."
            )
    return ""


async def _audience(ctx: FlowContext, actor: Actor, text: str) -> tuple[list[Person], list[str]]:
    if text.strip().lower() == "everyone":
        return await ctx.repos.people.in_tenant(actor.platform, actor.tenant), []
    lookup = await roster_lookup(ctx, actor.platform, actor.tenant)
    chosen: dict[str, Person] = {}
    unknown = []
    for entry in (e.strip().lstrip("@<").rstrip(">") for e in text.replace("\n", ",").split(",")):
        if not entry:
            continue
        person = lookup.get(person_ref(entry))
        if person is None:
            unknown.append(entry)
        else:
            chosen[person.user_id] = person
    return list(chosen.values()), unknown


def _invite(pulse: ReadinessPulse) -> Message:
    return copy.notice(
        "Two minutes, anonymously: is our company ready for reverse mentoring?",
        "Junior colleagues mentoring senior leaders works only where people can speak "
        "honestly. Your answers are only counted: nobody, admins included, can see what "
        f"you said. Open until {pulse.closes_at:%d %B}.",
        buttons=(
            Button(
                action_id="readiness.open",
                label="Answer anonymously",
                value=str(pulse.id),
                style="primary",
            ),
        ),
    )


# --- people asked: the form, counted once ------------------------------------------------


async def open_answers(event: ButtonAction, ctx: FlowContext) -> Say | ShowForm:
    pulse, problem = await _open_pulse(ctx, event.actor, event.value)
    if pulse is None:
        return say(problem)
    return ShowForm(
        form=Form(
            form_id="readiness",
            title="Readiness (anonymous)",
            intro="Only counted, never stored with your name.",
            fields=tuple(
                FormField(
                    id=q.id,
                    label=q.text,
                    type="select",
                    options=tuple(Option(value=v, label=label) for v, label in q.options),
                )
                for q in questions()
            ),
            submit_label="Send anonymously",
            state={"pulse_id": str(pulse.id)},
        )
    )


async def submit_answers(event: FormSubmission, ctx: FlowContext) -> Say | FormErrors:
    answers = {q.id: one(event.values.get(q.id)) or "" for q in questions()}
    errors = {
        q.id: "Please choose an answer."
        for q in questions()
        if answers[q.id] not in {v for v, _label in q.options}
    }
    if errors:
        return FormErrors(errors=errors)
    pulse, problem = await _open_pulse(ctx, event.actor, event.state.get("pulse_id", ""))
    if pulse is None:
        return say(problem)
    if ctx.policy.is_admin(event.actor):
        return say(
            "You're an admin now, so your answers can't be counted: you could read other "
            "people's answers off the totals. Nothing was stored. Thank you all the same."
        )
    invite = await ctx.repos.readiness.invite(
        pulse.id,
        event.actor.platform,
        event.actor.tenant,
        event.actor.user_id,  # type: ignore[arg-type]
    )
    if invite is None or not await ctx.repos.readiness.answer(invite, answers, now=ctx.now):
        return say("You've already answered, or the question has closed. Thank you.")
    return say("Thank you. Your answers were added to the totals, and nothing links them to you.")


async def _open_pulse(
    ctx: FlowContext, actor: Actor, pulse_id: str
) -> tuple[ReadinessPulse | None, str]:
    number = parse_id(pulse_id)
    pulse = await ctx.repos.readiness.get(number) if number else None
    invite = (
        await ctx.repos.readiness.invite(pulse.id, actor.platform, actor.tenant, actor.user_id)  # type: ignore[arg-type]
        if pulse
        else None
    )
    if pulse is None or invite is None:
        return None, "That question wasn't sent to you. Nothing changed."
    if ctx.now >= pulse.closes_at:
        return None, "That question has closed. Thank you all the same."
    if invite.answered:
        return None, "You've already answered: thank you."
    return pulse, ""


# --- the tick: results to the admin channel when a pulse closes ---------------------------


async def due(ctx: FlowContext) -> int:
    queued = 0
    for pulse in await ctx.repos.readiness.closed_unpublished(ctx.now):
        queued += await _publish(ctx, pulse)
    return queued


async def _publish(ctx: FlowContext, pulse: ReadinessPulse) -> int:
    """Freeze the results once and post them to the admin channels."""
    if not await ctx.repos.readiness.freeze(pulse, ctx.now):
        return 0
    queued = 0
    for channel in await admin_channels(ctx):
        queued += await ctx.send(
            f"readiness-result:{pulse.id}:{channel.platform}:{channel.channel_id}",
            channel,
            _result_message(pulse),
        )
    return queued


def _result_message(pulse: ReadinessPulse) -> Message:
    results = pulse.results or {"asked": 0, "answered": 0, "tallies": {}}
    summary = summarise(results["tallies"], results["answered"], pulse.k)
    return summary_message(pulse, summary, results["asked"])
