"""Transcripts: an anonymous readiness pulse before enrolment, summarised under the k rule."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from bot.events import ButtonAction, FormSubmission
from flows.readiness import questions, recommend, summarise
from storage.models import ReadinessInvite, ReadinessTally
from storage.repositories import Repositories
from tests.attacker import count_bounds
from tests.conftest import ADMIN
from tests.helpers import ROSTER, roster, text_of

EVERYONE = ("ann", "bob", "cat", "sam", "tom", "uma")
HOPEFUL = {"leaders_listen": "4", "safe_to_speak": "4", "time_given": "3", "sponsor": "yes"}


async def rows(app, model):
    async with app.db.session() as s:
        return list((await s.exec(select(model))).all())


async def counted(app) -> dict[tuple[str, str], int]:
    """The pulse's sealed tally, opened the way the app opens it."""
    [tally] = await rows(app, ReadinessTally)
    async with app.db.session() as s:
        counts = await Repositories(s, app.engine.cipher).readiness.tallies(tally.pulse_id)
    return {(q, a): n for q, answers in counts.items() for a, n in answers.items()}


async def send_pulse(session, app, audience="everyone"):
    await roster(app, ROSTER)
    await session.say(ADMIN, "admin readiness")
    replies = await session.submit(ADMIN, {"audience": audience, "closes": "2027-01-11"})
    await app.engine.dispatch()
    return text_of(replies)


async def answer(session, user, answers):
    await session.press(user, "Answer anonymously")
    return text_of(await session.submit(user, answers))


async def test_a_pulse_is_counted_and_summarised_only_once_it_closes(
    session, program, app, clock, console
):
    assert "Asked 6 people" in await send_pulse(session, app)
    for user in EVERYONE:
        [invite] = console.seen_by(user)
        assert "anonymously" in invite.message.summary
    for i, user in enumerate(EVERYONE):
        mine = {**HOPEFUL, "leaders_listen": "5" if i % 2 else "3"}
        assert "nothing links them to you" in await answer(session, user, mine)

    so_far = text_of(await session.say(ADMIN, "admin readiness"))
    assert "6 of 6 have answered so far" in so_far and "agree" not in so_far

    clock.advance(timedelta(days=7))  # Monday 11 January, after 17:00 UTC
    clock.advance(timedelta(hours=9))
    await app.engine.tick()
    [posted] = console.seen_by("#mentoring-admins")
    result = text_of(await session.say(ADMIN, "admin readiness"))
    for text in (result, posted.message.model_dump_json()):
        assert "6 of 6 answered" in text
        assert "average 4.0 of 5" in text  # leaders ready to listen: 3, 5, 3, 5, 3, 5
        assert "Launch as a small pilot" in text
    # everyone agreed that it's safe to speak: the average alone, which pins nobody
    assert "unwelcome.: average 4.0 of 5" in result
    assert "6 of 6 agree" not in result and "6 of 6 say yes" not in result
    await app.engine.tick()
    assert len(console.seen_by("#mentoring-admins")) == 1  # posted once


async def test_under_k_answers_nothing_is_shown(session, program, app, clock, console):
    await send_pulse(session, app)
    for user in EVERYONE[:4]:
        await answer(session, user, {**HOPEFUL, "sponsor": "no"})
    clock.advance(timedelta(days=8))
    await app.engine.tick()
    result = text_of(await session.say(ADMIN, "admin readiness"))
    assert "fewer than 5 of 6 answered" in result and "Not enough answers" in result
    assert "average" not in result and "say yes" not in result and "Not yet" not in result


async def test_answers_are_counted_once_and_never_stored_with_a_name(session, program, app, clock):
    await send_pulse(session, app, audience="ann, bob, Cat, sam@, tom")  # `sam@` is unknown
    assert "couldn't find sam@" in str(session.last_errors[ADMIN])
    replies = await session.submit(
        ADMIN, {"audience": "ann, bob, cat, sam", "closes": "2027-01-11"}
    )
    assert "at least 5 people" in str(replies)
    await session.submit(ADMIN, {"audience": "ann, bob, Cat, sam, @tom", "closes": "2027-01-11"})
    await app.engine.dispatch()
    assert "nothing links them" in await answer(session, "ann", HOPEFUL)
    assert "already answered" in text_of(await session.press("ann", "Answer anonymously"))
    again = FormSubmission(  # the same form submitted again
        actor=session.actor("ann"), form_id="readiness", values=HOPEFUL, state={"pulse_id": "1"}
    )
    assert "already answered" in text_of(await app.engine.handle(again))
    stranger = ButtonAction(actor=session.actor("uma"), action_id="readiness.open", value="1")
    assert "wasn't sent to you" in text_of(await app.engine.handle(stranger))
    refused = text_of(await session.say("ann", "admin readiness"))
    assert "admins" in refused.lower()

    tallies = await counted(app)
    assert tallies[("sponsor", "yes")] == 1 and sum(tallies.values()) == len(questions())
    invite_columns = set(ReadinessInvite.model_fields)
    assert invite_columns == {"id", "pulse_id", "platform", "tenant", "user_id", "answered"}
    assert set(ReadinessTally.model_fields) == {"pulse_id", "counts_enc"}  # one sealed document

    clock.advance(timedelta(days=8))
    late = ButtonAction(actor=session.actor("bob"), action_id="readiness.open", value="1")
    assert "has closed" in text_of(await app.engine.handle(late))


def test_recommendations():
    def tallies(agree: str, sponsor: str, n: int = 6) -> dict[str, dict[str, int]]:
        found = {q.id: {agree: n} for q in questions() if q.kind == "agree"}
        found["sponsor"] = {sponsor: n}
        return found

    assert recommend(tallies("5", "yes")).startswith("Launch:")
    assert recommend(tallies("4", "unsure")).startswith("Not yet: there is no visible sponsor")
    assert "small pilot" in recommend({**tallies("4", "yes"), "time_given": {"3": 6}})
    not_yet = recommend({**tallies("4", "yes"), "safe_to_speak": {"2": 4, "3": 2}})
    assert not_yet.startswith("Not yet:") and "safe to speak" in not_yet


ANSWERS = st.fixed_dictionaries(
    {
        q.id: st.dictionaries(st.sampled_from([v for v, _ in q.options]), st.integers(0, 8))
        for q in questions()
    }
)


@given(tallies=ANSWERS, k=st.integers(3, 8))
def test_no_figure_below_k_or_pinning_everyones_answer(tallies, k):
    answered = max((sum(c.values()) for c in tallies.values()), default=0)
    summary = summarise(tallies, answered, k)
    for question, line in zip(questions(), summary.lines, strict=True):
        counts = {a: n for a, n in tallies[question.id].items() if n}
        total = sum(counts.values())
        if line.value is None:
            continue
        assert answered >= k
        if question.kind == "agree":
            assert line.value.startswith("average ")
            continue
        lo, hi = count_bounds(line.value, total)
        # Never "all" or "none": each band holds a yes and a no, or it is exact with at
        # least k on each side.
        assert (lo < hi and lo < total and hi > 0) or k <= lo <= total - k
    if answered < k:
        assert all(line.value is None for line in summary.lines)
        assert summary.recommendation.startswith("Not enough answers")


@given(tallies=ANSWERS, k=st.integers(3, 8))
def test_the_recommendation_never_rests_on_a_withheld_question(tallies, k):
    answered = max((sum(c.values()) for c in tallies.values()), default=0)
    summary = summarise(tallies, answered, k)
    for question, line in zip(questions(), summary.lines, strict=True):
        if line.value is None:
            assert question.blocker not in summary.recommendation
    if any(line.value is None for line in summary.lines):
        assert not summary.recommendation.startswith("Launch: the group is ready")


async def test_results_are_frozen_at_the_close(session, program, app, clock, console):
    await send_pulse(session, app)
    for i, user in enumerate(EVERYONE[:5]):
        await answer(session, user, {**HOPEFUL, "leaders_listen": "5" if i % 2 else "2"})
    await session.press("uma", "Answer anonymously")  # opened before the close…
    clock.advance(timedelta(days=8))
    first = text_of(await session.say(ADMIN, "admin readiness"))  # frozen now, tick or not
    late = text_of(await session.submit("uma", {**HOPEFUL, "leaders_listen": "5"}))
    assert "closed" in late  # …submitted after: not counted
    assert text_of(await session.say(ADMIN, "admin readiness")) == first
    assert "5 of 6 answered" in first
    tallies = await counted(app)
    assert sum(n for (q, _a), n in tallies.items() if q == "sponsor") == 5


async def test_a_second_pulse_cannot_differ_from_the_first_by_a_few_people(
    session, program, app, clock
):
    await send_pulse(session, app, audience="ann, bob, cat, sam, tom")
    await session.say(ADMIN, "admin readiness new")
    await session.submit(
        ADMIN, {"audience": "ann, bob, cat, sam, tom, uma", "closes": "2027-01-20"}
    )
    assert "differs from the pulse sent on 04 January 2027 by only 1 person" in str(
        session.last_errors[ADMIN]
    )
    same = await session.submit(
        ADMIN, {"audience": "tom, sam, cat, bob, ann", "closes": "2027-01-20"}
    )
    assert "Asked 5 people" in text_of(same)
