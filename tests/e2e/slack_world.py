"""Drive `upward serve` exactly as Slack does, against the loopback Slack Web API."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import App
from bot.clock import FrozenClock
from tests.fakes.slack_api import (
    FakeSlack,
    block_actions_payload,
    checkboxes,
    datepicker,
    event_body,
    interaction_body,
    multi_static_select,
    plain_text_input,
    signed_headers,
    slash_command_body,
    static_select,
    view_submission_payload,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T0001"
FORM = "application/x-www-form-urlencoded"


async def until(condition: Callable[[], bool], within: float = 3.0) -> None:
    """Bolt finishes a listener after the HTTP ack; wait for what it should have done."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)


class SlackWorld:
    def __init__(self, slack: FakeSlack, client: TestClient, app: App, clock: FrozenClock) -> None:
        self.slack, self.client, self.app, self.clock = slack, client, app, clock
        self._ids = itertools.count(1)

    async def post(
        self, body: str, *, content_type: str = FORM, headers: dict | None = None
    ) -> Any:
        signed = {**signed_headers(body, SECRET), "Content-Type": content_type, **(headers or {})}
        return await self.client.post("/slack/events", data=body.encode(), headers=signed)

    async def slash(self, user: str, text: str, *, channel: str | None = None) -> tuple[str, str]:
        """`/mentoring <text>` from `user` (in their DM, or in `channel`); returns
        (trigger_id, response_url id)."""
        n = next(self._ids)
        trigger, response_id = f"{n}.{n}.trigger", f"r{n}"
        self.slack.issue_trigger(trigger)
        body = slash_command_body(
            text=text,
            user_id=user,
            team_id=TEAM,
            trigger_id=trigger,
            response_url=self.slack.response_url(response_id),
            user_name=user.lower(),
            **({"channel_id": channel} if channel else {}),
        )
        response = await self.post(body)
        assert response.status == 200, await response.text()
        return trigger, response_id

    async def answer(self, response_id: str) -> str:
        """The text of the ephemeral reply to a slash command (all blocks, flattened)."""
        await until(lambda: bool(self.slack.responses(response_id)))
        return flatten(self.slack.responses(response_id)[-1].args)

    def _opened(self, trigger: str) -> dict | None:
        """The view sent to views.open with this trigger, with the id Slack gave it."""
        sent = [
            c.args["view"]
            for c in self.slack.calls_to("views.open")
            if c.args.get("trigger_id") == trigger
        ]
        if not sent:
            return None
        stored = [
            v
            for v in self.slack.views.values()
            if v["private_metadata"] == sent[0]["private_metadata"]
        ]
        return {**sent[0], "id": stored[-1]["id"]} if stored else None

    async def opened_modal(self, trigger: str) -> dict:
        await until(lambda: self._opened(trigger) is not None)
        modal = self._opened(trigger)
        assert modal is not None
        return modal

    async def submit(self, user: str, modal: dict, answers: dict[str, Any]) -> Any:
        """Submit a modal the way Slack does: every input block's state, as typed."""
        values = {}
        for block in modal["blocks"]:
            if block["type"] != "input":
                continue
            element = block["element"]
            values[block["block_id"]] = {
                element["action_id"]: state(element, answers.get(block["block_id"]))
            }
        payload = view_submission_payload(
            user_id=user,
            team_id=TEAM,
            callback_id=modal["callback_id"],
            private_metadata=modal["private_metadata"],
            values=values,
            user_name=user.lower(),
            blocks=modal["blocks"],
            view_id=modal["id"],
        )
        return await self.post(interaction_body(payload))

    async def press(self, user: str, button: dict, *, view: dict | None = None) -> str:
        n = next(self._ids)
        trigger = f"{n}.{n}.press"
        self.slack.issue_trigger(trigger)
        payload = block_actions_payload(
            user_id=user,
            team_id=TEAM,
            action_id=button["action_id"],
            value=button.get("value", ""),
            trigger_id=trigger,
            channel_id=None if view else self.slack.dm_id(user),
            view=view,
        )
        response = await self.post(interaction_body(payload))
        assert response.status == 200
        return trigger

    async def read_cards(self, user: str) -> None:
        """Press "Got it" on each preparation card as it arrives in the user's DM."""
        await self.app.engine.dispatch()
        pressed: set[str] = set()

        def unread() -> list[dict]:
            return [
                b
                for m in self.messages_to(user)
                for b in buttons(m)
                if b["action_id"] == "prep.got_it" and b["value"] not in pressed
            ]

        def prepared() -> bool:
            return any(
                m.get("text", "").startswith("You're prepared") for m in self.messages_to(user)
            )

        await until(lambda: bool(unread()) or prepared())
        while not prepared():
            button = unread()[0]
            pressed.add(button["value"])
            await self.press(user, button)
            await until(lambda: bool(unread()) or prepared())

    async def event(self, event: dict, event_id: str, *, retry: int | None = None) -> Any:
        body = json.dumps(event_body(event, team_id=TEAM, event_id=event_id))
        headers = (
            {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
            if retry
            else {}
        )
        return await self.post(body, content_type="application/json", headers=headers)

    def messages_to(self, channel: str) -> list[dict]:
        return [
            c.args
            for c in self.slack.calls_to("chat.postMessage")
            if c.args.get("channel") == channel
        ]


def state(element: dict, answer: Any) -> dict:
    kind = element["type"]
    if kind in ("plain_text_input", "number_input"):
        return plain_text_input(answer)
    if kind == "static_select":
        return static_select(answer)
    if kind == "multi_static_select":
        return multi_static_select(answer or [])
    if kind == "checkboxes":
        return checkboxes(answer or [])
    if kind == "datepicker":
        return datepicker(answer)
    raise AssertionError(f"unexpected element {kind}")


def flatten(args: dict) -> str:
    parts = [args.get("text", "")]
    for block in args.get("blocks", []) or []:
        text = block.get("text")
        parts.append(text.get("text", "") if isinstance(text, dict) else "")
        parts += [f.get("text", "") for f in block.get("fields", [])]
        parts += [
            e.get("text", {}).get("text", "")
            for e in block.get("elements", [])
            if isinstance(e, dict)
        ]
    return "\n".join(parts)


def buttons(args: dict) -> list[dict]:
    return [
        {"action_id": e["action_id"], "value": e.get("value", ""), "label": e["text"]["text"]}
        for block in args.get("blocks", [])
        if block["type"] == "actions"
        for e in block["elements"]
    ]
