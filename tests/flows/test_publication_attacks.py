"""Everything ever published to admins, together, pins down nobody's answer.

Hypothesis builds small pilots on a real SQLite file: pairs where one or both partners
answer, late answers, an admin who takes part, people erased and pairs ended part-way, a
readiness pulse that an admin also answers. They run through the real flows (monthly
digests, the end-of-pilot report, the pulse's result), and everything that reached the
admins is handed to the attacker in `tests/attacker.py`, who knows who answered when and
her own answers, and solves for everyone else's across all of it at once.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from adapters.console.adapter import ConsoleAdapter
from bot.app import build_app
from bot.clock import FrozenClock
from bot.events import Actor, FormSubmission
from bot.settings import load_settings
from flows import digests, readiness
from flows.programs import SAMPLE_PROGRAM, read_program_file, save_program
from storage.answers import CheckInAnswers, ReviewAnswers
from storage.models import (
    CheckIn,
    Digest,
    OutboxItem,
    Pair,
    Participant,
    Person,
    Program,
    ReadinessPulse,
)
from storage.models import Review as ReviewRow
from tests.attacker import CountOf, Field, MeanOf, count_bounds, mean_bounds, pinned

ADMIN = "boss"
START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
MONTHS = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))
PUBLISHED = tuple(m + timedelta(days=31, hours=10) for m in MONTHS)  # early the next month
REPORTED = datetime(2027, 4, 1, 10, 0, tzinfo=UTC)
THEMES = ("workload", "scheduling")
LEADS = ("junior", "shared", "senior")
PULSE_QUESTIONS = {q.id: tuple(v for v, _label in q.options) for q in readiness.questions()}


@dataclass(frozen=True)
class Answer:
    pair: int
    who: str
    mentor: bool
    month: int  # the month the check-in is about (its cycle)
    late: bool  # given in the following month instead
    met: bool
    rating: int
    themes: frozenset[str]
    energy: int | None
    lead: str | None

    @property
    def given(self) -> datetime:
        return MONTHS[self.month] + timedelta(days=40 if self.late else 10, hours=self.pair)


@dataclass(frozen=True)
class Final:
    pair: int
    who: str
    before: int
    now: int
    again: bool


@dataclass(frozen=True)
class Scenario:
    k: int
    pairs: tuple[tuple[str, str], ...]  # (mentor, mentee)
    answers: tuple[Answer, ...]
    finals: tuple[Final, ...]  # given in the last month
    erased: frozenset[str] = frozenset()  # after the first digest
    edited: tuple[int, ...] = ()  # answers (by index) changed after the first digest
    ended: frozenset[int] = frozenset()  # pairs ended, no-fault, after the first digest
    pulse: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # (who, answers)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    k = 3
    n = draw(st.integers(k, 5))
    admin_in = draw(st.booleans())
    pairs = tuple((ADMIN if admin_in and p == 0 else f"mentor{p}", f"mentee{p}") for p in range(n))
    answers, finals = [], []
    for p, (mentor, mentee) in enumerate(pairs):
        for who, is_mentor in ((mentor, True), (mentee, False)):
            for month in range(len(MONTHS)):
                if not draw(st.booleans()):
                    continue
                answers.append(
                    Answer(
                        pair=p,
                        who=who,
                        mentor=is_mentor,
                        month=month,
                        late=month == 0 and draw(st.integers(0, 3)) == 0,
                        met=draw(st.booleans()),
                        rating=draw(st.integers(1, 5)),
                        themes=frozenset(t for t in THEMES if draw(st.booleans())),
                        energy=draw(st.integers(1, 5)) if is_mentor else None,
                        lead=draw(st.none() | st.sampled_from(LEADS)),
                    )
                )
            if draw(st.integers(0, 2)) == 0:
                finals.append(
                    Final(
                        p,
                        who,
                        draw(st.integers(1, 5)),
                        draw(st.integers(1, 5)),
                        draw(st.booleans()),
                    )
                )
    people = [who for pair in pairs for who in pair if who != ADMIN]
    erased = frozenset(draw(st.lists(st.sampled_from(people), max_size=1)))
    pulse: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    if draw(st.booleans()):
        asked = draw(st.lists(st.sampled_from(people), min_size=k + 1, max_size=6, unique=True))
        for who in [*asked, *([ADMIN] if draw(st.booleans()) else [])]:
            pulse.append(
                (
                    who,
                    tuple((q, draw(st.sampled_from(opts))) for q, opts in PULSE_QUESTIONS.items()),
                )
            )
    january = [i for i, a in enumerate(answers) if a.month == 0 and not a.late]
    edited = (
        tuple(draw(st.lists(st.sampled_from(january), max_size=2, unique=True))) if january else ()
    )
    ended = frozenset(draw(st.lists(st.integers(0, n - 1), max_size=1)))
    return Scenario(
        k,
        pairs,
        tuple(answers),
        tuple(finals),
        erased=erased,
        pulse=tuple(pulse),
        edited=edited,
        ended=ended,
    )


# --- running it through the real flows ----------------------------------------------------


@dataclass
class Run:
    """What reached the admins, and the row ids the scenario's answers were stored under."""

    digests: list[Digest] = field(default_factory=list)
    sent: dict[str, dict[str, str]] = field(default_factory=dict)  # outbox key prefix -> shown
    pulse: ReadinessPulse | None = None
    checkin_ids: dict[int, Answer] = field(default_factory=dict)
    review_ids: dict[int, Final] = field(default_factory=dict)
    pair_ids: dict[int, int] = field(default_factory=dict)


async def run(scenario: Scenario, directory: Path) -> Run:
    clock = FrozenClock(START)
    settings_ = load_settings(
        database_url=f"sqlite+aiosqlite:///{directory / 'upward.db'}",
        admins=[f"console:acme:{ADMIN}"],
        admin_channels=["console:acme:mentoring-admins"],
    )
    app = build_app(settings_, clock=clock, adapters={"console": ConsoleAdapter("acme", None)})
    await app.db.create_all()
    out = Run()
    try:
        saved, _ = await app.engine.run(
            lambda ctx: save_program(ctx, read_program_file(SAMPLE_PROGRAM))
        )
        await app.engine.run(lambda ctx: _seed(ctx, scenario, saved.id, out))
        for moment in PUBLISHED:
            clock.set(moment)
            await app.engine.run(lambda ctx: digests.due(ctx))
            if moment == PUBLISHED[0]:
                await app.engine.run(lambda ctx: _after_january(ctx, scenario, out))
        clock.set(PUBLISHED[-1] + timedelta(hours=1))
        await app.engine.run(lambda ctx: _finish(ctx, saved.id))
        clock.set(REPORTED)  # the last month's digest, then the end-of-pilot report
        await app.engine.run(lambda ctx: digests.due(ctx))
        if scenario.pulse:
            await _pulse(app, scenario, out)
            clock.set(REPORTED + timedelta(days=9))
            await app.engine.run(lambda ctx: readiness.due(ctx))
        await app.engine.run(lambda ctx: _collect(ctx, out))
    finally:
        await app.close()
    return out


async def _seed(ctx: Any, scenario: Scenario, program_id: int, out: Run) -> None:
    program = await ctx.repos.session.get(Program, program_id)
    program.anonymity_threshold, program.pilot = scenario.k, True
    program.created_at = START - timedelta(days=3)
    ctx.repos.session.add(program)
    people: dict[str, Participant] = {}
    for mentor, mentee in scenario.pairs:
        for who, role in ((mentor, "mentor"), (mentee, "mentee")):
            row = Participant(
                program_id=program_id, platform="console", tenant="acme", user_id=who,
                display_name=who, role=role, agreed_at=START, joined_at=START,
            )  # fmt: skip
            ctx.repos.session.add(row)
            ctx.repos.session.add(Person(platform="console", tenant="acme", user_id=who))
            people[who] = row
    await ctx.repos.flush()
    for p, (mentor, mentee) in enumerate(scenario.pairs):
        pair = Pair(
            program_id=program_id, mentor_id=people[mentor].id, mentee_id=people[mentee].id,
            explanation="", started_at=START,
        )  # fmt: skip
        await ctx.repos.pairs.save(pair)
        out.pair_ids[p] = pair.id
    for a in scenario.answers:
        pair_id, person = out.pair_ids[a.pair], people[a.who].id
        answers = CheckInAnswers(a.met, a.rating, sorted(a.themes), a.energy, a.lead)
        await ctx.repos.checkins.record(pair_id, person, a.month + 1, answers, None, a.given)
        out.checkin_ids[await _row_id(ctx, CheckIn, pair_id, person, a.month + 1)] = a
    for f in scenario.finals:
        pair_id, person = out.pair_ids[f.pair], people[f.who].id
        answers = ReviewAnswers(f.before, f.now, f.again)
        at = MONTHS[-1] + timedelta(days=20)
        await ctx.repos.reviews.record(pair_id, person, "final", answers, None, at)
        out.review_ids[await _row_id(ctx, ReviewRow, pair_id, person, None)] = f


async def _row_id(ctx: Any, model: Any, pair_id: int, person: int, cycle: int | None) -> int:
    query = select(model.id).where(model.pair_id == pair_id, model.participant_id == person)
    if cycle is not None:
        query = query.where(model.cycle == cycle)
    return (await ctx.repos.session.exec(query)).one()


async def _after_january(ctx: Any, scenario: Scenario, out: Run) -> None:
    """An edit of January answers (the same rows, changed, given again in February), a
    pair that ends, and an erasure: each after January's digest went out."""
    for index in scenario.edited:
        a = scenario.answers[index]
        row = next(c for c, given in out.checkin_ids.items() if given == a)
        stored = await ctx.repos.session.get(CheckIn, row)
        changed = CheckInAnswers(not a.met, 6 - a.rating, [], a.energy, a.lead)
        at = MONTHS[1] + timedelta(days=12)
        await ctx.repos.checkins.record(
            stored.pair_id, stored.participant_id, stored.cycle, changed, None, at
        )
    for p in scenario.ended:
        pair = await ctx.repos.pairs.get(out.pair_ids[p])
        await ctx.repos.pairs.end_if_active(pair, at=ctx.now, kind="ended")
    await _erase(ctx, scenario.erased)


async def _erase(ctx: Any, erased: frozenset[str]) -> None:
    for who in erased:
        query = select(Participant).where(Participant.user_id == who)
        participant = (await ctx.repos.session.exec(query)).one()
        await ctx.repos.erasure.participant(participant, tombstone=f"erased-{who}")


async def _finish(ctx: Any, program_id: int) -> None:
    pairs = await ctx.repos.pairs.in_program(program_id)
    await ctx.repos.pairs.complete([p.id for p in pairs], ctx.now)
    program = await ctx.repos.programs.get(program_id)
    await digests.pilot_report_due(ctx, program)  # too early: March has had no digest yet


async def _pulse(app: Any, scenario: Scenario, out: Run) -> None:
    """Through the real forms: the admin sends the pulse, then everyone asked answers."""
    asked = [who for who, _ in scenario.pulse]
    if not any(ADMIN in pair for pair in scenario.pairs):
        await app.engine.run(lambda ctx: _add_person(ctx, ADMIN))
    admin = Actor(platform="console", tenant="acme", user_id=ADMIN)
    closes = (REPORTED + timedelta(days=7)).date().isoformat()
    await app.engine.handle(
        FormSubmission(
            actor=admin,
            form_id="admin.readiness",
            values={"audience": ", ".join(asked), "closes": closes},
        )
    )
    pulse = await app.engine.run(lambda ctx: ctx.repos.readiness.latest("console", "acme"))
    for who, answers in scenario.pulse:
        await app.engine.handle(
            FormSubmission(
                actor=Actor(platform="console", tenant="acme", user_id=who),
                form_id="readiness",
                values=dict(answers),
                state={"pulse_id": str(pulse.id)},
            )
        )
    out.pulse = pulse


async def _add_person(ctx: Any, who: str) -> None:
    ctx.repos.session.add(Person(platform="console", tenant="acme", user_id=who))


async def _collect(ctx: Any, out: Run) -> None:
    out.digests = list((await ctx.repos.session.exec(select(Digest).order_by(Digest.id))).all())
    for item in (await ctx.repos.session.exec(select(OutboxItem))).all():
        shown = {}
        for block in item.message.get("blocks", []):
            if block.get("kind") == "fields":
                shown |= dict(block["items"])
        out.sent.setdefault(item.key.rsplit(":", 2)[0], shown)
    if out.pulse is not None:
        out.pulse = await ctx.repos.readiness.get(out.pulse.id)


# --- what the attacker knows and sees ----------------------------------------------------


def attack(scenario: Scenario, run_: Run) -> list[tuple[str, Hashable, object]]:
    fields: dict[str, Field] = defaultdict(lambda: Field(domain=()))
    fields.update(
        met=Field((False, True)),
        rating=Field((1, 2, 3, 4, 5)),
        energy=Field((1, 2, 3, 4, 5)),
        lead=Field(LEADS),
        before=Field((1, 2, 3, 4, 5)),
        now=Field((1, 2, 3, 4, 5)),
        again=Field((False, True)),
        **{f"theme:{t}": Field((False, True)) for t in THEMES},
    )
    for cid, a in run_.checkin_ids.items():
        values = {"met": a.met, "rating": a.rating, "energy": a.energy, "lead": a.lead}
        values |= {f"theme:{t}": t in a.themes for t in THEMES}
        for name, value in values.items():
            if value is not None:
                fields[name].actual[("checkin", cid)] = value
                if a.who == ADMIN:
                    fields[name].known.add(("checkin", cid))
    for rid, f in run_.review_ids.items():
        for name, value in (("before", f.before), ("now", f.now), ("again", f.again)):
            fields[name].actual[("review", rid)] = value
    pair_of = {("checkin", c): a.pair for c, a in run_.checkin_ids.items()}
    pair_of |= {("review", r): f.pair for r, f in run_.review_ids.items()}
    months = {d.period: d for d in run_.digests if d.period != "pilot-report"}
    for digest in run_.digests:
        shown = run_.sent[f"digest:{digest.program_id}:{digest.period}"]
        if digest.period == "pilot-report":
            for period, values in report_values(digest, shown).items():
                read_digest(fields, values, pair_of, *covered(months[period]))
        else:
            values = {f["key"]: shown.get(f["label"]) for f in digest.figures}
            read_digest(fields, values, pair_of, *covered(digest))
    if run_.pulse is not None:
        read_pulse(fields, scenario, run_.pulse, run_.sent)
    return pinned(dict(fields))


def covered(digest: Digest) -> tuple[list[int], list[int]]:
    """Which stored answers a month's digest counted. The attacker works this out from who
    answered when and the public rules (the month they were given in; not a pair with an
    admin in it; not erased before; not counted by an earlier digest); the ledger holds
    the same list, so the test reads it there."""
    return digest.covered.get("checkins", []), digest.covered.get("reviews", [])


def report_values(digest: Digest, shown: dict[str, str]) -> dict[str, dict[str, str]]:
    """The end-of-pilot report restates each frozen month: period -> key -> as shown."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for f in digest.figures:
        for part in (shown.get(f["label"]) or "").split(" · "):
            month, _, value = part.partition(": ")
            moment = datetime.strptime(f"{month} 2027", "%b %Y").replace(tzinfo=UTC)
            out[f"{moment:%Y-%m}"][f["key"]] = value
    return out


def read_digest(
    fields: dict[str, Field],
    by_key: dict[str, str | None],
    pair_of: dict[tuple[str, int], int],
    checkins: list[int],
    reviews: list[int],
) -> None:
    def groups(name: str, ids: list[int], kind: str) -> tuple[tuple[Hashable, ...], ...]:
        by_pair: dict[int, list[Hashable]] = {}
        for i in ids:
            if (kind, i) in fields[name].actual:
                by_pair.setdefault(pair_of[(kind, i)], []).append((kind, i))
        return tuple(tuple(g) for g in by_pair.values())

    for name, key, counted in (
        ("met", "meeting_rate", {True}),
        ("lead", "top_down", {"senior"}),
        *((f"theme:{t}", f"theme:{t}", {True}) for t in THEMES),
    ):
        g = groups(name, checkins, "checkin")
        value = by_key.get(key)
        other = by_key.get("themes_other") or ""
        if value is None and name.startswith("theme:") and other.startswith("each raised in"):
            value = other.removeprefix("each raised in ")  # "fewer than k of n pairs"
        _count(fields[name], value, g, counted)
    for name, key in (("rating", "going"), ("energy", "energy")):
        _mean(fields[name], by_key.get(key), groups(name, checkins, "checkin"))
    impact = by_key.get("impact")
    if impact and "→" in impact:
        was, now = impact.split("→")
        _mean(fields["before"], was.strip(), groups("before", reviews, "review"))
        _mean(fields["now"], now.strip(), groups("now", reviews, "review"))
    again = tuple((a,) for g in groups("again", reviews, "review") for a in g)
    _count(fields["again"], by_key.get("again"), again, {True})


def _count(question: Field, value: str | None, groups: tuple, counted: set) -> None:
    if not groups or value is None:
        return
    bounds = count_bounds(value, len(groups))
    if bounds is not None:
        question.facts.append(CountOf(groups, frozenset(counted), *bounds))


def _mean(question: Field, value: str | None, groups: tuple) -> None:
    if not groups or value is None:
        return
    bounds = mean_bounds(value)
    if bounds is not None:
        question.facts.append(MeanOf(groups, *bounds))


def read_pulse(
    fields: dict[str, Field], scenario: Scenario, pulse: ReadinessPulse, sent: dict
) -> None:
    """Everyone asked answered; admins are never asked, so no answer of theirs counts."""
    lines = sent[f"readiness-result:{pulse.id}"]
    for question in readiness.questions():
        name = f"pulse:{question.id}"
        domain = PULSE_QUESTIONS[question.id]
        fields[name] = Field(domain)
        counted = [(who, answers) for who, answers in scenario.pulse if who != ADMIN]
        for who, answers in counted:
            fields[name].actual[who] = dict(answers)[question.id]
        value = lines.get(question.text) or ""
        everyone = tuple((who,) for who, _ in counted)
        positive = {"yes"} if question.kind == "yes_no" else {"4", "5"}
        bounds = count_bounds(value, len(everyone))
        if bounds is not None:
            fields[name].facts.append(CountOf(everyone, frozenset(positive), *bounds))
        if "average " in value:
            bounds = mean_bounds(value.rsplit("average ", 1)[1])
            if bounds is not None:
                fields[name].facts.append(MeanOf(everyone, *bounds))


# --- the tests ---------------------------------------------------------------------------


def check(scenario: Scenario) -> list[tuple[str, Hashable, object]]:
    with tempfile.TemporaryDirectory() as directory:
        result = asyncio.run(run(scenario, Path(directory)))
    return attack(scenario, result)


def _answer(pair: int, who: str, *, met: bool, month: int = 0, mentor: bool = False) -> Answer:
    return Answer(pair, who, mentor, month, False, met, 3, frozenset(), None, None)


# Attack 1: the report says every pair met or none did; January's digest ("3 of 4 pairs
# met") rules out "none"; each pair with a single check-in over the whole pilot then
# gives its author's answer away.
ATTACK_1 = Scenario(
    k=3,
    pairs=tuple((f"mentor{p}", f"mentee{p}") for p in range(4)),
    answers=(
        *(_answer(p, f"mentee{p}", met=p < 3) for p in range(4)),
        _answer(3, "mentor3", met=True, month=1, mentor=True),
    ),
    finals=(),
)
# Attack 2: seven asked, one an admin; she answers "not sure", and "6 of 7 say yes" tells
# her what each of the other six said.
_SIX = ("mentee0", "mentee1", "mentee2", "mentor0", "mentor1", "mentor2")
_AGREE = {q: str(2 + i % 3) for i, q in enumerate(PULSE_QUESTIONS) if q != "sponsor"}
ATTACK_2 = Scenario(
    k=3,
    pairs=tuple((f"mentor{p}", f"mentee{p}") for p in range(3)),
    answers=(),
    finals=(),
    pulse=tuple(
        (who, (*_AGREE.items(), ("sponsor", "unsure" if who == ADMIN else "yes")))
        for who in (*_SIX, ADMIN)
    ),
)


def test_attack_1_report_plus_monthly_digest():
    assert not [p for p in check(ATTACK_1) if p[0] == "met"]


def test_attack_2_an_admin_in_the_readiness_audience():
    assert not [p for p in check(ATTACK_2) if p[0] == "pulse:sponsor"]


@settings(
    max_examples=int(os.environ.get("UPWARD_ATTACKER_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@example(ATTACK_1)
@example(ATTACK_2)
@given(scenarios())
def test_nothing_ever_published_pins_down_an_answer(scenario: Scenario):
    found = check(scenario)
    assert not found, f"pinned: {found}"
