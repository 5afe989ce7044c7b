"""Drive `upward serve` exactly as Teams does: Bot Framework activities POSTed to
/api/messages, with a loopback Bot Connector as their serviceUrl."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import App
from bot.clock import FrozenClock
from tests.fakes.teams_connector import FakeConnector

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
BOT = "28:00000000-0000-0000-0000-00000000b07"
TEAM_CHANNEL = "19:admins0123456789@thread.tacv2"


@dataclass(frozen=True)
class Member:
    """A Teams user: the Bot Framework id, the Entra object id, and their 1:1 chat with us."""

    handle: str
    name: str
    number: int

    @property
    def bf_id(self) -> str:
        return f"29:1{self.handle}BotFrameworkId"

    @property
    def aad(self) -> str:
        return f"00000000-0000-4000-8000-{self.number:012d}"

    @property
    def chat(self) -> str:
        return f"a:1{self.handle}PersonalChat"


async def settle() -> None:
    """Let background work (the tick `upward serve` starts with) finish before the database
    closes under it."""
    ticks = [t for t in asyncio.all_tasks() if "Engine.tick" in repr(t.get_coro())]
    if ticks:
        await asyncio.wait(ticks, timeout=10)


class TeamsWorld:
    def __init__(
        self,
        connector: FakeConnector,
        client: TestClient,
        app: App,
        clock: FrozenClock,
        token: Any = None,
    ) -> None:
        self.connector, self.client, self.app, self.clock = connector, client, app, clock
        self.token = token  # callable(service_url) -> bearer token, when auth is on
        self._ids = itertools.count(1_700_000_000_001)

    def activity(
        self,
        member: Member,
        kind: str = "message",
        *,
        text: str | None = None,
        value: dict | None = None,
        reply_to: str | None = None,
        channel: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        conversation: dict[str, Any] = {
            "id": member.chat,
            "conversationType": "personal",
            "tenantId": TENANT,
        }
        channel_data: dict[str, Any] = {"tenant": {"id": TENANT}}
        if channel is not None:
            message_id = next(self._ids)
            conversation = {
                "id": f"{channel};messageid={message_id}",
                "conversationType": "channel",
                "isGroup": True,
                "tenantId": TENANT,
            }
            channel_data |= {
                "teamsChannelId": channel,
                "teamsTeamId": "19:team0123@thread.tacv2",
                "channel": {"id": channel},
                "team": {"id": "19:team0123@thread.tacv2"},
            }
        body: dict[str, Any] = {
            "type": kind,
            "id": str(next(self._ids)),
            "timestamp": self.clock.now().isoformat().replace("+00:00", "Z"),
            "localTimestamp": self.clock.now().isoformat(),
            "localTimezone": "Europe/London",
            "serviceUrl": self.connector.service_url,
            "channelId": "msteams",
            "from": {"id": member.bf_id, "name": member.name, "aadObjectId": member.aad},
            "conversation": conversation,
            "recipient": {"id": BOT, "name": "Upward"},
            "locale": "en-GB",
            "channelData": channel_data,
        }
        if text is not None:
            body |= {"text": text, "textFormat": "plain"}
        if value is not None:
            body["value"] = value
        if reply_to is not None:
            body["replyToId"] = reply_to
        return body | extra

    async def post(self, activity: dict[str, Any], headers: dict | None = None) -> Any:
        sent = {"Content-Type": "application/json"}
        if self.token is not None:
            sent["Authorization"] = f"Bearer {self.token(activity['serviceUrl'])}"
        return await self.client.post(
            "/api/messages", json=activity, headers=sent | (headers or {})
        )

    async def say(self, member: Member, text: str, *, channel: str | None = None) -> Any:
        if channel is not None:
            text = f"<at>Upward</at> {text}"
        response = await self.post(self.activity(member, text=text, channel=channel))
        assert response.status in (200, 201), await response.text()
        return response

    async def install(self, member: Member) -> Any:
        response = await self.post(self.activity(member, "installationUpdate", action="add"))
        assert response.status in (200, 201), await response.text()
        return response

    # --- what the bot sent -----------------------------------------------------------------

    def cards_to(self, member: Member) -> list[dict[str, Any]]:
        """(activity id, card content) of every card posted in the member's 1:1 chat."""
        return [
            {"id": r.answered_id, "card": card}
            for r in self.connector.posted(member.chat)
            for card in _cards(r.json)
        ]

    def texts_to(self, conversation: str) -> str:
        return "\n".join(self.connector.texts(conversation))

    def last_form(self, member: Member) -> dict[str, Any]:
        forms = [c for c in self.cards_to(member) if _submit_data(c["card"]).get("upward_form")]
        assert forms, f"no form was sent to {member.handle}"
        return forms[-1]

    async def submit(
        self, member: Member, form: dict[str, Any], answers: dict[str, Any], *, wait: bool = True
    ) -> Any:
        """Press the card's submit button: Teams merges the action's data with every input.
        With `wait`, until the work of a form stored after the turn is done."""
        value = dict(_submit_data(form["card"]))
        for element in _inputs(form["card"]):
            answer = answers.get(element["id"], element.get("value", ""))
            if element["type"] == "Input.Toggle":
                on = answer in (True, "yes", ["yes"], element.get("valueOn"))
                answer = element.get("valueOn", "true") if on else element.get("valueOff", "false")
            elif isinstance(answer, list):
                answer = ",".join(answer)
            value[element["id"]] = "" if answer is None else str(answer)
        activity = self.activity(member, value=value, reply_to=form["id"])
        response = await self.post(activity)
        if wait and self.app.teams is not None and self.app.teams.bot is not None:
            await self.app.teams.bot.after_ack.idle()  # a form stored after the turn
        return response

    async def read_cards(self, member: Member) -> None:
        """Press "Got it" on each preparation card as it arrives in the member's chat."""
        await self.app.engine.dispatch()
        for _ in range(20):
            if "You're prepared" in self.texts_to(member.chat):
                return
            response = await self.press(member, "Got it")
            assert response.status in (200, 201), await response.text()
        raise AssertionError(f"{member.handle} never finished the preparation")

    async def press(self, member: Member, label_start: str) -> Any:
        """Press a button on the latest card in the member's chat that has one."""
        for card in reversed(self.cards_to(member)):
            for action in _actions(card["card"]):
                if action.get("title", "").startswith(label_start):
                    activity = self.activity(member, value=action["data"], reply_to=card["id"])
                    return await self.post(activity)
        raise AssertionError(f"no button {label_start!r} for {member.handle}")


def _cards(body: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [
        a["content"]
        for a in (body or {}).get("attachments", []) or []
        if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
    ]


def _walk(elements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for element in elements:
        found.append(element)
        for key in ("items", "actions"):
            if isinstance(element.get(key), list):
                found += _walk(element[key])
    return found


def _inputs(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in _walk(card.get("body", [])) if e.get("type", "").startswith("Input.")]


def _actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    inner = [e for e in _walk(card.get("body", [])) if e.get("type") == "Action.Submit"]
    return inner + [a for a in card.get("actions", []) if a.get("type") == "Action.Submit"]


def _submit_data(card: dict[str, Any]) -> dict[str, Any]:
    for action in card.get("actions", []):
        if action.get("type") == "Action.Submit":
            return action.get("data", {})
    return {}
