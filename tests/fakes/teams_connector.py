"""A loopback fake of the Bot Connector REST v3 service (what Teams' serviceUrl points at).

``FakeConnector`` is an aiohttp server on ``127.0.0.1`` (port 0, read back after binding). Give a
bot ``fake.service_url`` as the ``serviceUrl`` of inbound activities or stored
ConversationReferences, and botbuilder 4.17's ``CloudAdapter`` (with ``APP_ID=""`` so no tokens
are fetched) sends its replies here::

    async with FakeConnector() as fake:
        fake.add_member("29:alice", "Alice Able", "aad-alice", "alice@example.com")
        await adapter.continue_conversation(reference, callback, "")
        [activity] = fake.activities("a:1xyz")
        assert "hello" in fake.texts("a:1xyz")[0]

Routes (``{conversationId}`` may arrive percent-encoded, as msrest sends it, or raw; ids such as
``19:abc@thread.tacv2;messageid=123`` work either way):

- ``POST /v3/conversations/{conversationId}/activities[/{activityId}]`` -> ``{"id": <new id>}``
- ``PUT /v3/conversations/{conversationId}/activities/{activityId}`` -> ``{"id": activityId}``
- ``DELETE /v3/conversations/{conversationId}/activities/{activityId}`` -> 200, empty
- ``POST /v3/conversations`` -> ``{"id", "activityId", "serviceUrl"}``. A group conversation
  with ``channelData.channel.id`` (a new channel thread) gets ``<channel>;messageid=<activityId>``,
  anything else ``a:1<hex>`` (a 1:1 chat).
- ``GET /v3/conversations/{conversationId}/members/{userId}`` -> TeamsChannelAccount JSON from
  ``add_member``, or 404 ``MemberNotFoundInConversation``.
- ``GET /v3/conversations/{conversationId}/members`` -> every registered member.

Anything else is answered 404 with an ErrorResponse (and recorded).

Every request is recorded in ``fake.received`` before it is answered, failed ones included (see
``Received.status``).

Beware: msrest sends through ``requests``, whose urllib3 ``Retry`` (3 retries) silently retries
PUT/GET/DELETE - never POST - answered 500/502/503/504, and 413/429/503 carrying a
``Retry-After`` (sleeping that long, in a worker thread). So ``fail(502)`` or
``fail(429, retry_after=1)`` on an *update* is invisible to the bot (``received`` shows
``[502, 200]``) unless ``times`` exceeds 3; sends and replies (POST) see every failure.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Self
from urllib.parse import unquote

from aiohttp import web

from tests.fakes.slack_api import Headers

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"

# Codes the real service uses (or close to them) when fail() is not given one.
_DEFAULT_CODES = {
    400: "BadArgument",
    401: "Unauthorized",
    403: "Forbidden",
    404: "ConversationNotFound",
    412: "PreconditionFailed",
    413: "MessageSizeTooBig",
    429: "Throttled",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


@dataclass
class Received:
    """One request, in arrival order. ``status`` is what the fake answered (or will answer)."""

    method: str  # "POST", "PUT", "GET", "DELETE"
    path: str  # as sent, still percent-encoded
    conversation_id: str | None  # decoded; for POST /v3/conversations: the id handed out
    activity_id: str | None  # decoded
    json: dict[str, Any] | None
    headers: dict[str, str]  # case-insensitive lookups
    status: int = 0
    answered_id: str | None = None  # the activity id the fake gave a sent activity

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def kind(self) -> str:
        """One of send, reply, update, delete, create, member, members, other."""
        parts = _segments(self.path)
        if parts == ["v3", "conversations"]:
            return "create" if self.method == "POST" else "other"
        if len(parts) >= 4 and parts[:2] == ["v3", "conversations"]:
            if parts[3] == "activities":
                if len(parts) == 4 and self.method == "POST":
                    return "send"
                if len(parts) == 5:
                    by_verb = {"POST": "reply", "PUT": "update", "DELETE": "delete"}
                    return by_verb.get(self.method, "other")
            if parts[3] == "members" and self.method == "GET":
                return "members" if len(parts) == 4 else "member"
        return "other"


@dataclass
class Member:
    id: str
    name: str
    aad_object_id: str
    email: str
    given_name: str | None = None
    surname: str | None = None
    user_principal_name: str | None = None
    tenant_id: str = "tenant-1"
    user_role: str = "user"

    def to_json(self) -> dict[str, Any]:
        first, _, last = self.name.partition(" ")
        return {
            "id": self.id,
            "name": self.name,
            "aadObjectId": self.aad_object_id,
            "email": self.email,
            "userPrincipalName": self.user_principal_name or self.email,
            "givenName": self.given_name if self.given_name is not None else first,
            "surname": self.surname if self.surname is not None else (last or None),
            "tenantId": self.tenant_id,
            "userRole": self.user_role,
        }


@dataclass
class _Fault:
    status: int
    remaining: int
    conversation_id: str | None
    retry_after: float | None
    code: str

    def response(self) -> web.Response:
        headers = {}
        if self.retry_after is not None:
            seconds = float(self.retry_after)
            headers["Retry-After"] = str(int(seconds) if seconds.is_integer() else seconds)
        return _error(self.status, self.code, f"Injected failure ({self.status})", headers)


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )


def _segments(raw_path: str) -> list[str]:
    return [unquote(part) for part in raw_path.split("?", 1)[0].strip("/").split("/")]


class FakeConnector:
    """Loopback Bot Connector v3. See the module docstring."""

    def __init__(self, expect_token: str | None = None) -> None:
        self.expect_token = expect_token
        self.received: list[Received] = []
        self.members: dict[str, Member] = {}
        self._faults: list[_Fault] = []
        self._ids = itertools.count(1)
        self._arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ---- lifecycle

    async def start(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeConnector is not started")
        return self._port

    @property
    def service_url(self) -> str:
        """With a trailing slash, as Teams sends ``serviceUrl``."""
        return f"http://127.0.0.1:{self.port}/"

    # ---- scripting

    def add_member(
        self,
        user_id: str,
        name: str,
        aad_object_id: str,
        email: str,
        *,
        given_name: str | None = None,
        surname: str | None = None,
        user_principal_name: str | None = None,
        tenant_id: str = "tenant-1",
    ) -> Member:
        """Register a user; they are a member of every conversation."""
        member = Member(
            user_id,
            name,
            aad_object_id,
            email,
            given_name,
            surname,
            user_principal_name,
            tenant_id,
        )
        self.members[user_id] = member
        return member

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        conversation_id: str | None = None,
        retry_after: float | None = None,
        code: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching POSTs/PUTs with ``status`` and an ErrorResponse.

        ``conversation_id=None`` matches every POST/PUT (``POST /v3/conversations`` included);
        otherwise only requests to that conversation. Queued faults are used in order.
        ``code`` defaults to a plausible one for the status (429 -> ``Throttled``, ...).
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        default = _DEFAULT_CODES.get(status, "ServiceError")
        self._faults.append(_Fault(status, times, conversation_id, retry_after, code or default))

    # ---- inspection

    def _delivered(
        self, kinds: tuple[str, ...], conversation_id: str | None, include_failed: bool
    ) -> Iterator[Received]:
        for request in self.received:
            if request.kind not in kinds or not (include_failed or request.ok):
                continue
            if conversation_id is None or request.conversation_id == conversation_id:
                yield request

    def activities(
        self, conversation_id: str | None = None, *, include_failed: bool = False
    ) -> list[dict[str, Any]]:
        """Activities sent or replied (POSTed), optionally to one conversation, in order.

        Only those answered 2xx unless ``include_failed``. The ``activity`` embedded in a
        ``POST /v3/conversations`` (how a new channel thread starts) counts as an activity of
        the conversation that was created.
        """
        result: list[dict[str, Any]] = []
        for request in self._delivered(
            ("send", "reply", "create"), conversation_id, include_failed
        ):
            body = request.json or {}
            if request.kind == "create":
                if isinstance(body.get("activity"), dict):
                    result.append(body["activity"])
            else:
                result.append(body)
        return result

    def updates(
        self, conversation_id: str | None = None, *, include_failed: bool = False
    ) -> list[dict[str, Any]]:
        """Bodies of PUT (update) requests, optionally to one conversation; 2xx only by default."""
        found = self._delivered(("update",), conversation_id, include_failed)
        return [request.json or {} for request in found]

    def creates(self, *, include_failed: bool = False) -> list[dict[str, Any]]:
        """Bodies (ConversationParameters) of ``POST /v3/conversations``."""
        found = self._delivered(("create",), None, include_failed)
        return [request.json or {} for request in found]

    def posted(self, conversation_id: str | None = None) -> list[Received]:
        """Sent or replied activities that were accepted, with the id each was given."""
        return list(self._delivered(("send", "reply"), conversation_id, False))

    def texts(self, conversation_id: str | None = None) -> list[str]:
        """One string per delivered activity: its text plus every text inside its cards."""
        return [activity_text(activity) for activity in self.activities(conversation_id)]

    async def wait_for_activities(
        self, count: int = 1, conversation_id: str | None = None, within: float = 2.0
    ) -> list[dict[str, Any]]:
        """Wait until ``count`` activities have been delivered (for bots that send in tasks)."""
        try:
            async with asyncio.timeout(within):
                while len(self.activities(conversation_id)) < count:
                    await self._arrived.wait()
        except TimeoutError:
            seen = [(r.method, r.path, r.status) for r in self.received]
            raise TimeoutError(
                f"expected {count} activities within {within}s; requests so far: {seen}"
            ) from None
        return self.activities(conversation_id)

    # ---- HTTP plumbing

    def _take_fault(self, conversation_id: str | None) -> _Fault | None:
        for fault in self._faults:
            if fault.conversation_id is None or fault.conversation_id == conversation_id:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body: dict[str, Any] | None = None
        bad_json = False
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                bad_json = True
            else:
                body = parsed if isinstance(parsed, dict) else {"_json": parsed}
        parts = _segments(request.raw_path)
        is_conversation = len(parts) >= 3 and parts[:2] == ["v3", "conversations"]
        is_activity = is_conversation and len(parts) >= 5 and parts[3] == "activities"
        received = Received(
            method=request.method,
            path=request.raw_path,
            conversation_id=parts[2] if is_conversation else None,
            activity_id=parts[4] if is_activity else None,
            json=body,
            headers=Headers(request.headers.items()),
        )
        self.received.append(received)
        try:
            response = self._answer(received, bad_json)
            received.status = response.status
            return response
        finally:
            arrived, self._arrived = self._arrived, asyncio.Event()
            arrived.set()

    def _answer(self, received: Received, bad_json: bool) -> web.Response:
        expected = None if self.expect_token is None else f"Bearer {self.expect_token}"
        if expected is not None and received.headers.get("Authorization") != expected:
            return web.json_response(
                {"message": "Authorization has been denied for this request."}, status=401
            )
        kind = received.kind
        if received.method in ("POST", "PUT") and kind != "other":
            fault = self._take_fault(received.conversation_id if kind != "create" else None)
            if fault is not None:
                return fault.response()
        if bad_json or (kind in ("send", "reply", "update", "create") and received.json is None):
            return _error(400, "BadSyntax", "Request body is not a JSON object")
        if kind in ("send", "reply"):
            received.answered_id = self._new_activity_id()
            return web.json_response({"id": received.answered_id})
        if kind == "update":
            return web.json_response({"id": received.activity_id})
        if kind == "delete":
            return web.Response(status=200)
        if kind == "create":
            return web.json_response(self._create(received))
        if kind == "member":
            user_id = _segments(received.path)[4]
            member = self.members.get(user_id)
            if member is None:
                return _error(
                    404, "MemberNotFoundInConversation", "The specified user is not a member."
                )
            return web.json_response(member.to_json())
        if kind == "members":
            return web.json_response([m.to_json() for m in self.members.values()])
        reason = HTTPStatus.NOT_FOUND.phrase
        return _error(404, "NotFound", f"{reason}: {received.method} {received.path}")

    def _new_activity_id(self) -> str:
        return str(1_700_000_000_000 + next(self._ids))

    def _create(self, received: Received) -> dict[str, Any]:
        body = received.json or {}
        activity_id = self._new_activity_id()
        channel_data = body.get("channelData")
        channel = channel_data.get("channel") if isinstance(channel_data, dict) else None
        if body.get("isGroup") and isinstance(channel, dict) and channel.get("id"):
            conversation_id = f"{channel['id']};messageid={activity_id}"
        else:
            conversation_id = f"a:1{uuid.uuid4().hex}"
        received.conversation_id = conversation_id
        return {"id": conversation_id, "activityId": activity_id, "serviceUrl": self.service_url}


# --------------------------------------------------------------------------------------------
# reading activities


def _card_texts(node: Any) -> Iterator[str]:
    """Texts of TextBlock / TextRun / FactSet elements anywhere in an Adaptive Card."""
    if isinstance(node, list):
        for item in node:
            yield from _card_texts(item)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind in ("TextBlock", "TextRun") and isinstance(node.get("text"), str):
        yield node["text"]
    for key, value in node.items():
        if key == "facts" and isinstance(value, list):
            for fact in value:
                if isinstance(fact, dict):
                    yield " ".join(str(fact.get(k, "")) for k in ("title", "value")).strip()
        elif key != "data" and isinstance(value, dict | list):  # "data": Action.Submit payloads
            yield from _card_texts(value)


def activity_text(activity: dict[str, Any]) -> str:
    """An activity's ``text`` plus the texts of its cards, one per line."""
    lines: list[str] = []
    if isinstance(activity.get("text"), str) and activity["text"]:
        lines.append(activity["text"])
    for attachment in activity.get("attachments") or []:
        if not isinstance(attachment, dict):
            continue
        content = attachment.get("content")
        if isinstance(content, str):  # some senders serialize the card to a string
            try:
                content = json.loads(content)
            except ValueError:
                continue
        if attachment.get("contentType") == ADAPTIVE_CARD:
            lines.extend(_card_texts(content))
        elif isinstance(content, dict):  # hero / thumbnail cards
            lines.extend(
                content[key]
                for key in ("title", "subtitle", "text")
                if isinstance(content.get(key), str)
            )
    return "\n".join(line for line in lines if line)


__all__ = ["ADAPTIVE_CARD", "FakeConnector", "Member", "Received", "activity_text"]
