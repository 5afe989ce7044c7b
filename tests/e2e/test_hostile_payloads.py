"""Hypothesis-generated hostile payloads through the real HTTP app (issue 16, "Tests"):
signed Slack requests (commands, block_actions, view_submission, events of every type) and
Teams activities with a valid token, each a valid payload broken in one to three places:
wrong types, nulls, deep nesting, huge strings, Unicode digits, missing fields.

Each answer is below 500; no record is at ERROR or carries a traceback; a refused payload
leaves the database as it was. CI runs a few hundred in all; by hand, more:

    UPWARD_HOSTILE_EXAMPLES=2000 .venv/bin/python -m pytest -q tests/e2e/test_hostile_payloads.py
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.server import SCHEDULER
from tests.e2e import test_teams_auth
from tests.e2e.hostile import loud, snapshot
from tests.e2e.slack_world import TEAM, SlackWorld
from tests.e2e.teams_world import Member, TeamsWorld
from tests.e2e.test_slack import world as slack_world
from tests.fakes.slack_api import (
    block_actions_payload,
    event_body,
    slash_command_body,
    view_submission_payload,
)
from tests.fakes.teams_auth import FakeIdentity

world = slack_world
idp = test_teams_auth.idp
teams_world = test_teams_auth.world
EXAMPLES = int(os.environ.get("UPWARD_HOSTILE_EXAMPLES", "100"))  # per endpoint
USER = "U0STRANGER"  # nobody the database knows
AMY = Member("Amy", "Mentor Amy", 10)


class Delete:
    def __repr__(self) -> str:
        return "Delete()"


@dataclass(frozen=True)
class Huge:
    """A long string, described briefly (Hypothesis prints failing examples)."""

    length: int

    def make(self) -> Any:
        return "x" * self.length


@dataclass(frozen=True)
class Nest:
    """Arrays nested `depth` deep: a placeholder, spliced into the encoded text (the test's
    own json.dumps would recurse too deep)."""

    depth: int

    def make(self) -> Any:
        return f"<<nest:{self.depth}>>"


NESTED = re.compile(r'"?<<nest:(\d+)>>"?')


def splice(text: str) -> str:
    return NESTED.sub(lambda m: "[" * int(m.group(1)) + "]" * int(m.group(1)), text)


DELETE = Delete()


HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["²", "١٢", "𝟙𝟚", "٣٤٥", "Ⅻ", "0x1f", "-1", "1e9", "\u0000", "\ud7ff"]),
    st.sampled_from([5_000, 50_000, 300_000]).map(Huge),
    st.integers(min_value=20, max_value=3_000).map(Nest),
    st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=3)), max_size=3),
    st.dictionaries(st.text(max_size=4), st.one_of(st.none(), st.text(max_size=3)), max_size=3),
    st.just(DELETE),
)
MUTATIONS = st.lists(st.tuples(st.integers(0, 10_000), HOSTILE), min_size=1, max_size=3)


def paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every place in a JSON value (keys and list indexes), outermost first."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        yield (*prefix, key)
        if isinstance(child, dict | list) and len(prefix) < 6:
            yield from paths(child, (*prefix, key))


def mutate(template: Any, mutations: list[tuple[int, Any]]) -> Any:
    data = copy.deepcopy(template)
    for index, value in mutations:
        places = list(paths(data))
        if not places:
            break
        *parents, last = places[index % len(places)]
        parent = data
        for key in parents:
            parent = parent[key]
        if value is DELETE:
            del parent[last]
        else:
            parent[last] = value.make() if isinstance(value, Huge | Nest) else value
    return data


EVENT_TYPES = [
    "app_home_opened",
    "message",
    "app_mention",
    "member_joined_channel",
    "app_uninstalled",
    "tokens_revoked",
    "team_join",
    "user_change",
    "reaction_added",
]


def slack_templates() -> dict[str, tuple[str, Any]]:
    """kind -> (how it is encoded, a valid payload)."""
    metadata = json.dumps({"form_id": "goal", "state": {"pair_id": "1"}})
    templates: dict[str, tuple[str, Any]] = {
        "command": (
            "form",
            dict(
                p.split("=", 1)
                for p in slash_command_body(
                    text="goals add 'a b'",
                    user_id=USER,
                    team_id=TEAM,
                    trigger_id="1.1.t",
                    response_url="http://127.0.0.1:9/r",
                ).split("&")
            ),
        ),
        "block_actions": (
            "payload",
            block_actions_payload(
                user_id=USER, team_id=TEAM, action_id="goal.done", value="1", trigger_id="1.1.t"
            ),
        ),
        "view_submission": (
            "payload",
            view_submission_payload(
                user_id=USER,
                team_id=TEAM,
                callback_id="goal",
                private_metadata=metadata,
                values={"text": {"text": "a goal"}, "due": {"due": "2027-02-01"}},
            ),
        ),
    }
    for kind in EVENT_TYPES:
        event = {"type": kind, "user": USER, "channel": "D1", "tab": "home", "text": "hi"}
        templates[f"event {kind}"] = ("json", event_body(event, team_id=TEAM, event_id="Ev1"))
    return templates


SLACK = slack_templates()


def slack_body(encoding: str, data: Any) -> tuple[str, str]:
    if encoding == "json":
        return splice(json.dumps(data)), "application/json"
    if encoding == "payload":
        return urlencode({"payload": splice(json.dumps(data))}), "application/x-www-form-urlencoded"
    fields = {k: splice(v if isinstance(v, str) else json.dumps(v)) for k, v in data.items()}
    return urlencode(fields), "application/x-www-form-urlencoded"


async def settled(client: Any) -> None:
    """Until the work earlier requests left running (bolt finishes listeners after the ack)
    is done, and with the scheduler's periodic dispatch paused, so that nothing else changes
    the database while an example runs."""
    client.server.app[SCHEDULER].pause()
    others = [
        t
        for t in asyncio.all_tasks()
        if t is not asyncio.current_task() and "RequestHandler.start" not in repr(t.get_coro())
    ]
    if others:
        await asyncio.wait(others, timeout=10)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Iterator[Records]:
    handler, root = Records(), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@HYPOTHESIS
@given(kind=st.sampled_from(sorted(SLACK)), mutations=MUTATIONS)
async def test_hostile_slack_payloads(
    world: SlackWorld, records: Records, kind: str, mutations: list[tuple[int, Any]]
) -> None:
    encoding, template = SLACK[kind]
    body, content_type = slack_body(encoding, mutate(template, mutations))
    await settled(world.client)
    before = await snapshot(world.app)
    records.records.clear()
    response = await world.post(body, content_type=content_type)
    assert response.status < 500, (kind, response.status)
    await response.read()
    await settled(world.client)
    assert loud(records.records) == []
    if response.status >= 400:
        assert await snapshot(world.app) == before


TEAMS_KINDS = ["message", "conversationUpdate", "installationUpdate", "invoke", "event", "typing"]


def teams_template(world: TeamsWorld, kind: str) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "message": {"text": "goals add 'a b'", "value": {"upward_action": "goal.done"}},
        "conversationUpdate": {"membersAdded": [{"id": "28:x"}], "membersRemoved": [{"id": "x"}]},
        "installationUpdate": {"action": "add"},
        "invoke": {"name": "adaptiveCard/action", "value": {"action": {"verb": "v"}}},
        "event": {"name": "application/vnd.microsoft.meetingStart", "value": {}},
        "typing": {},
    }[kind]
    return world.activity(AMY, kind, **extra)


@HYPOTHESIS
@given(kind=st.sampled_from(TEAMS_KINDS), mutations=MUTATIONS)
async def test_hostile_teams_activities(
    teams_world: TeamsWorld,
    idp: FakeIdentity,
    records: Records,
    kind: str,
    mutations: list[tuple[int, Any]],
) -> None:
    world = teams_world
    activity = mutate(teams_template(world, kind), mutations)
    token = idp.token(audience=test_teams_auth.APP_ID, service_url=world.connector.service_url)
    await settled(world.client)
    before = await snapshot(world.app)
    records.records.clear()
    response = await world.client.post(
        "/api/messages",
        data=splice(json.dumps(activity)).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert response.status < 500, (kind, response.status)
    await response.read()
    assert world.app.teams is not None
    await world.app.teams.after_ack.idle()
    assert loud(records.records) == []
    if response.status >= 400:
        assert await snapshot(world.app) == before
