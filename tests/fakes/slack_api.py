"""A loopback fake of the Slack Web API that speaks the real wire format.

``FakeSlack`` is an aiohttp server on ``127.0.0.1`` (port 0, read back after binding). Point the
real ``slack_sdk.web.async_client.AsyncWebClient(token=..., base_url=slack.base_url)`` at it::

    async with FakeSlack(team_id="T0001", bot_user_id="U0BOT", token="xoxb-test") as slack:
        slack.add_user("U0ALICE", "alice", "Alice Able", tz="Europe/Berlin")
        client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
        await client.chat_postMessage(channel="U0ALICE", text="hi")
        [call] = slack.calls_to("chat.postMessage")

It accepts what slack_sdk 3.47 sends: ``POST /api/<method>`` with a query string (``auth.test``,
``conversations.open``), a form body, or a JSON body (``chat.*`` and ``views.*`` are JSON), and
``GET /api/users.info?user=...``. The token is read from ``Authorization: Bearer ...`` (or a
``token`` form/query argument). Arguments from the query string and the body are merged into
``Call.args``; JSON strings in ``blocks``/``view``/``users``/``attachments``/``metadata``
are decoded.

Every request is recorded in ``slack.calls`` as soon as it arrives (before any delay or fault).

The module also has helpers that build what Slack POSTs to *our* app: ``signed_headers``,
``slash_command_body``, ``interaction_body``, ``block_actions_payload``,
``view_submission_payload`` and ``event_body``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import os
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Self
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

APP_ID = "A0001"
BOT_ID = "B0001"
TEAM_DOMAIN = "acme"
VERIFICATION_TOKEN = "fake-verification-token"

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000

# Arguments that slack_sdk (or a hand-written form post) may send as JSON strings.
_JSON_ARGS = ("blocks", "view", "users", "attachments", "metadata")


# --------------------------------------------------------------------------------------------
# records


TRIGGER_LIFETIME = 3.0  # seconds: how long Slack honours a trigger_id


class Headers(dict[str, str]):
    """A plain dict of request headers whose lookups ignore case (``h["authorization"]``)."""

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(items)
        self._lower = {key.lower(): key for key in self}

    def _key(self, key: object) -> object:
        return self._lower.get(key.lower(), key) if isinstance(key, str) else key

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(self._key(key))  # type: ignore[arg-type]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._lower

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(self._key(key), default)  # type: ignore[arg-type]

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key, value)
        self._lower[key.lower()] = key


@dataclass(frozen=True)
class Call:
    """One request received by the fake, in arrival order."""

    method: str  # "chat.postMessage", ... or "response_url"
    args: dict[str, Any]  # query string + body, JSON-string arguments decoded
    headers: dict[str, str]  # case-insensitive lookups
    http_verb: str = "POST"
    path: str = ""

    @property
    def token(self) -> str | None:
        """The bearer token (or ``token`` argument) the caller sent, if any."""
        return _token_of(self.headers, self.args)

    @property
    def response_url_id(self) -> str | None:
        """For ``method == "response_url"``: the ``<id>`` in ``/response_url/<id>``."""
        prefix = "/response_url/"
        return self.path[len(prefix) :] if self.path.startswith(prefix) else None


@dataclass
class FakeUser:
    id: str
    name: str
    real_name: str
    tz: str = "Europe/London"
    deleted: bool = False
    email: str | None = None
    display_name: str = ""
    is_bot: bool = False

    def to_json(self, team_id: str, *, include_locale: bool = False) -> dict[str, Any]:
        zone = ZoneInfo(self.tz)
        now = datetime.now(UTC).astimezone(zone)
        offset = now.utcoffset()
        user: dict[str, Any] = {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": now.tzname(),
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": {
                "real_name": self.real_name,
                "real_name_normalized": self.real_name,
                "display_name": self.display_name,
                "display_name_normalized": self.display_name,
                "email": self.email if self.email is not None else f"{self.name}@example.com",
                "team": team_id,
            },
        }
        if include_locale:
            user["locale"] = "en-US"
        return user


@dataclass
class FakeChannel:
    id: str
    name: str
    is_archived: bool = False
    # None = membership is not modelled (anyone may post/receive ephemerals there).
    members: set[str] | None = None
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    user: str | None = None  # the other party of an IM
    bot_is_member: bool = True


@dataclass
class _Fault:
    error: str
    status: int
    retry_after: int | None
    remaining: int

    def response(self) -> web.Response:
        headers = {}
        if self.status == 429 and self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return web.json_response(
            {"ok": False, "error": self.error}, status=self.status, headers=headers
        )


@dataclass
class _Delay:
    seconds: float
    remaining: int | None


class SlackError(Exception):
    """Raised inside a fake method to answer ``{"ok": false, "error": code}`` with HTTP 200."""

    def __init__(self, code: str, messages: Sequence[str] = ()) -> None:
        super().__init__(code)
        self.code = code
        self.messages = list(messages)


class _BadJson(Exception):
    pass


# --------------------------------------------------------------------------------------------
# the server


class FakeSlack:
    """Loopback Slack Web API. See the module docstring."""

    def __init__(
        self,
        *,
        team_id: str = "T0001",
        bot_user_id: str = "U0BOT",
        token: str = "xoxb-test",  # noqa: S107 - a fake token
        team_name: str = "Acme",
        team_domain: str = TEAM_DOMAIN,
        bot_id: str = BOT_ID,
        bot_name: str = "upward",
        app_id: str = APP_ID,
        ts_base: int = 1_700_000_000,
    ) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.token = token
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.app_id = app_id

        self.calls: list[Call] = []
        self.users: dict[str, FakeUser] = {}
        self.channels: dict[str, FakeChannel] = {}
        self.messages: list[dict[str, Any]] = []  # posted/updated messages, each with "channel"
        self.views: dict[str, dict[str, Any]] = {}  # view id -> latest view object
        self.home_views: dict[str, dict[str, Any]] = {}  # user id -> latest published home view
        self.used_trigger_ids: set[str] = set()
        self.expired_trigger_ids: set[str] = set()
        self.trigger_issued_at: dict[str, float] = {}
        self.app_token = "xapp-test"
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_acks: list[dict[str, Any]] = []

        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, _Delay] = {}
        self._answer_delays: dict[str, float] = {}
        self._ts_base = ts_base
        self._ts_counter = 0
        self._view_counter = 0
        self._arrived = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

        self.add_user(bot_user_id, bot_name, bot_name.capitalize(), is_bot=True)
        self._methods = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "users.info": self._users_info,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
        }

    # ---- lifecycle

    async def start(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response_url/{id}", self._handle_response_url)
        app.router.add_get("/socket", self._handle_socket)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        self._closing.set()  # cut scripted delays short so shutdown does not wait for them
        for socket in self.sockets:
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ---- addresses

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeSlack is not started")
        return self._port

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def base_url(self) -> str:
        """``AsyncWebClient(base_url=...)``; it ends with a slash because the client urljoins."""
        return f"{self.root_url}api/"

    def response_url(self, response_url_id: str) -> str:
        return f"{self.root_url}response_url/{response_url_id}"

    # ---- registry

    def upward_env(
        self, database_url: str, encryption_key: str, signing_secret: str, **extra: str
    ) -> dict[str, str]:
        """The environment of an `upward` process (e.g. `upward dispatch`) that talks to this
        fake: this process's own, less any Upward, Slack or Teams settings, plus these."""
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("UPWARD_", "SLACK_", "MICROSOFT_")) and k != "DATABASE_URL"
        }
        return {
            **inherited,
            "DATABASE_URL": database_url,
            "UPWARD_ENCRYPTION_KEYS": encryption_key,
            "SLACK_BOT_TOKEN": self.token,
            "SLACK_SIGNING_SECRET": signing_secret,
            "SLACK_API_URL": self.base_url,
            "UPWARD_SLACK_PACING_SECONDS": "0",
            **extra,
        }

    def add_user(
        self,
        user_id: str,
        name: str,
        real_name: str,
        tz: str = "Europe/London",
        deleted: bool = False,
        *,
        email: str | None = None,
        display_name: str = "",
        is_bot: bool = False,
    ) -> FakeUser:
        ZoneInfo(tz)  # fail early on a bad zone name
        user = FakeUser(user_id, name, real_name, tz, deleted, email, display_name, is_bot)
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        name: str,
        is_archived: bool = False,
        members: Iterable[str] | None = None,
        *,
        is_private: bool = False,
        bot_is_member: bool = True,
    ) -> FakeChannel:
        member_set = None if members is None else set(members)
        if member_set is not None and bot_is_member:
            member_set.add(self.bot_user_id)
        channel = FakeChannel(
            channel_id,
            name,
            is_archived=is_archived,
            members=member_set,
            is_private=is_private,
            bot_is_member=bot_is_member,
        )
        self.channels[channel_id] = channel
        return channel

    def dm_id(self, user_id: str) -> str:
        """The id of the bot's DM with ``user_id`` (stable: ``U0ALICE`` -> ``D0ALICE``)."""
        return "D" + user_id[1:]

    def mpim_id(self, *user_ids: str) -> str:
        """The id of the group DM of the bot with ``user_ids`` (order-insensitive)."""
        key = ",".join(sorted(set(user_ids) - {self.bot_user_id}))
        return "G" + hashlib.sha256(key.encode()).hexdigest()[:10].upper()

    # ---- scripting

    def fail(
        self,
        method: str,
        error: str = "ratelimited",
        status: int | None = None,
        retry_after: int | None = 1,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail; queued faults are used in order.

        ``status`` defaults to 429 for ``error="ratelimited"`` and 200 otherwise. 429 answers
        carry ``Retry-After: <retry_after>`` (unless ``retry_after`` is None); 5xx answers use
        ``error="internal_error"`` unless another error is given.
        """
        if status is None:
            status = 429 if error == "ratelimited" else 200
        if status >= 500 and error == "ratelimited":
            error = "internal_error"
        self._faults.setdefault(method, []).append(_Fault(error, status, retry_after, times))

    def delay(self, method: str, seconds: float, times: int | None = None) -> None:
        """Answer ``method`` after ``seconds`` (for the next ``times`` calls, or always)."""
        if seconds <= 0:
            self._delays.pop(method, None)
        else:
            self._delays[method] = _Delay(seconds, times)

    def slow_answers(self, method: str, seconds: float) -> None:
        """Do what ``method`` asks at once, but answer ``seconds`` later: a client that dies
        meanwhile leaves Slack with a message it never heard about (crash tests)."""
        self._answer_delays[method] = seconds

    def limit_rate(self, method: str, per_second: int) -> None:
        """Let at most ``per_second`` calls to ``method`` through in any sliding one-second
        window, whatever the channel: a workspace-wide limit. A call above it is answered
        HTTP 429 ``{"ok": false, "error": "ratelimited"}`` with ``Retry-After`` (whole seconds
        until the window has room, at least 1) and does nothing (no message is recorded); it
        is still in ``calls``. Only calls let through count towards the window; scripted
        delays and faults apply to those. ``per_second <= 0`` lifts the limit."""
        limits: dict[str, tuple[int, deque[float]]] = self.__dict__.setdefault("_rate_limits", {})
        if per_second <= 0:
            limits.pop(method, None)
            return
        limits[method] = (per_second, deque())
        if "_script" in self.__dict__:
            return  # this instance's scripting hook already checks the limits
        scripted = self._script

        async def script(name: str) -> web.Response | None:
            limit = limits.get(name)
            if limit is not None:
                allowed, window = limit
                now = time.monotonic()
                while window and window[0] <= now - 1.0:
                    window.popleft()
                if len(window) >= allowed:
                    wait = max(1, math.ceil(window[0] + 1.0 - now))
                    return web.json_response(
                        {"ok": False, "error": "ratelimited"},
                        status=429,
                        headers={"Retry-After": str(wait)},
                    )
                window.append(now)
            return await scripted(name)

        self._script = script  # type: ignore[method-assign]

    def expire_trigger(self, trigger_id: str) -> None:
        """Make ``views.open``/``views.push`` answer ``expired_trigger_id`` for this trigger."""
        self.expired_trigger_ids.add(trigger_id)

    def issue_trigger(self, trigger_id: str) -> None:
        """Note when Slack handed out this trigger (in a request to the app): like real Slack,
        ``views.open`` refuses it with ``expired_trigger_id`` after 3 seconds."""
        self.trigger_issued_at[trigger_id] = time.monotonic()

    # ---- inspection

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def responses(self, response_url_id: str | None = None) -> list[Call]:
        """Posts to ``response_url(...)``, optionally for one id."""
        return [
            call
            for call in self.calls_to("response_url")
            if response_url_id is None or call.response_url_id == response_url_id
        ]

    def messages_in(self, channel_id: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["channel"] == channel_id]

    async def wait_for(self, method: str, count: int = 1, within: float = 2.0) -> list[Call]:
        """Wait until ``count`` calls to ``method`` have arrived (not necessarily answered)."""
        try:
            async with asyncio.timeout(within):
                while len(self.calls_to(method)) < count:
                    await self._arrived.wait()
        except TimeoutError:
            seen = [call.method for call in self.calls]
            raise TimeoutError(
                f"expected {count} call(s) to {method} within {within}s; calls so far: {seen}"
            ) from None
        return self.calls_to(method)

    # ---- HTTP plumbing

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()

    async def _script(self, method: str) -> web.Response | None:
        delay = self._delays.get(method)
        if delay is not None:
            if delay.remaining is not None:
                delay.remaining -= 1
                if delay.remaining <= 0:
                    del self._delays[method]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), delay.seconds)
        faults = self._faults.get(method)
        if faults:
            fault = faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                faults.pop(0)
            return fault.response()
        return None

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        bad_json = False
        try:
            args = await _read_args(request)
        except _BadJson:
            args, bad_json = dict(request.query), True
        call = Call(method, args, Headers(request.headers.items()), request.method, request.path)
        self._record(call)
        scripted = await self._script(method)
        if scripted is not None:
            return scripted
        if bad_json:
            return web.json_response({"ok": False, "error": "invalid_json"})
        if method == "apps.connections.open":  # the one method that takes the app-level token
            if call.token != self.app_token:
                return web.json_response({"ok": False, "error": "invalid_auth"})
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"})
        handler = self._methods.get(method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method", "req_method": method})
        token = call.token
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        if token != self.token:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        try:
            body = handler(args)
        except SlackError as error:
            body = {"ok": False, "error": error.code}
            if error.messages:
                body["response_metadata"] = {"messages": error.messages}
        if method in self._answer_delays:
            await asyncio.sleep(self._answer_delays[method])
        return web.json_response(body)

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, then deliver queued envelopes and record the app's acks."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": 1, "debug_info": {}})
        async for frame in socket:
            if frame.type == aiohttp.WSMsgType.TEXT:
                self.socket_acks.append(json.loads(frame.data))
                self._record(Call("socket_ack", json.loads(frame.data), Headers(), "WS", "/socket"))
        return socket

    async def send_envelope(self, kind: str, payload: dict[str, Any], envelope_id: str) -> None:
        """Push a Socket Mode envelope (``slash_commands``, ``interactive``, ``events_api``)."""
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        await self.sockets[-1].send_json(envelope)

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        try:
            args = await _read_args(request)
        except _BadJson:
            args = {"_raw": await request.text()}
        call = Call(
            "response_url", args, Headers(request.headers.items()), request.method, request.path
        )
        self._record(call)
        scripted = await self._script("response_url")
        if scripted is not None:
            return scripted
        return web.json_response({"ok": True})

    # ---- helpers for methods

    def _next_ts(self) -> str:
        self._ts_counter += 100
        seconds, micros = divmod(self._ts_counter, 1_000_000)
        return f"{self._ts_base + seconds}.{micros:06d}"

    def _im_for(self, user_id: str) -> FakeChannel:
        dm = self.dm_id(user_id)
        channel = self.channels.get(dm)
        if channel is None:
            channel = FakeChannel(
                dm, dm, members={user_id, self.bot_user_id}, is_private=True, is_im=True
            )
            channel.user = user_id
            self.channels[dm] = channel
        return channel

    def _resolve_channel(self, channel_arg: Any) -> FakeChannel:
        """The channel chat.* post to; raises the error Slack would answer."""
        if not isinstance(channel_arg, str) or not channel_arg:
            raise SlackError("channel_not_found")
        if channel_arg in self.channels:
            channel = self.channels[channel_arg]
        elif channel_arg[0] in "UW":
            user = self.users.get(channel_arg)
            if user is None:
                raise SlackError("channel_not_found")
            if user.deleted:
                raise SlackError("account_inactive")
            channel = self._im_for(user.id)
        elif channel_arg.startswith("#"):
            named = [c for c in self.channels.values() if c.name == channel_arg[1:]]
            if not named:
                raise SlackError("channel_not_found")
            channel = named[0]
        else:
            raise SlackError("channel_not_found")
        if channel.is_archived:
            raise SlackError("is_archived")
        if channel.is_im and channel.user is not None:
            other = self.users.get(channel.user)
            if other is None or other.deleted:
                raise SlackError("account_inactive")
        if not channel.bot_is_member:
            raise SlackError("not_in_channel")
        return channel

    def _message_content(self, args: dict[str, Any]) -> dict[str, Any]:
        text = args.get("text")
        blocks = args.get("blocks")
        attachments = args.get("attachments")
        if not text and not blocks and not attachments:
            raise SlackError("no_text")
        if text is not None and not isinstance(text, str):
            text = str(text)
        if text is not None and len(text) > MAX_TEXT:
            raise SlackError("msg_too_long")
        content: dict[str, Any] = {"text": text or ""}
        if blocks is not None:
            if not isinstance(blocks, list):
                raise SlackError(
                    "invalid_blocks_format", ["[ERROR] must be an array [json-pointer:/blocks]"]
                )
            errors = block_errors(blocks, max_blocks=MAX_MESSAGE_BLOCKS)
            if errors:
                raise SlackError("invalid_blocks", errors)
            content["blocks"] = _with_block_ids(blocks)
        if attachments is not None:
            content["attachments"] = attachments
        return content

    # ---- methods

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        content = self._message_content(args)
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
            **content,
        }
        for key in ("thread_ts", "metadata"):
            if args.get(key):
                message[key] = args[key]
        self.messages.append({"channel": channel.id, **message})
        return {"ok": True, "channel": channel.id, "ts": ts, "message": message}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        user_id = args.get("user")
        user = self.users.get(user_id) if isinstance(user_id, str) else None
        if user is None or user.deleted:
            raise SlackError("user_not_in_channel")
        if channel.is_im and channel.user != user_id:
            raise SlackError("user_not_in_channel")
        if channel.members is not None and user_id not in channel.members:
            raise SlackError("user_not_in_channel")
        self._message_content(args)
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(args.get("channel"))
        ts = args.get("ts")
        found = [m for m in self.messages if m["channel"] == channel.id and m["ts"] == ts]
        if not found:
            raise SlackError("message_not_found")
        content = self._message_content(args)
        message = found[0]
        message.update(content)
        if "blocks" not in content:
            message.pop("blocks", None)
        echo = {k: v for k, v in message.items() if k != "channel"}
        return {
            "ok": True,
            "channel": channel.id,
            "ts": ts,
            "text": content["text"],
            "message": echo,
        }

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Newest first; `metadata` only with include_all_metadata, as in Slack."""
        channel_id = args.get("channel")
        if not isinstance(channel_id, str) or channel_id not in self.channels:
            raise SlackError("channel_not_found")
        limit = min(int(args.get("limit") or 100), 999)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("true", "1")
        found = [m for m in reversed(self.messages) if m["channel"] == channel_id][:limit]
        messages = [
            {k: v for k, v in m.items() if k != "channel" and (with_metadata or k != "metadata")}
            for m in found
        ]
        return {"ok": True, "messages": messages, "has_more": False}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        existing = args.get("channel")
        if existing:
            channel = self.channels.get(existing)
            if channel is None or not (channel.is_im or channel.is_mpim):
                raise SlackError("channel_not_found")
            return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": channel.id}}
        raw = args.get("users")
        if isinstance(raw, str):
            user_ids = [u.strip() for u in raw.split(",") if u.strip()]
        elif isinstance(raw, list):
            user_ids = [str(u) for u in raw]
        else:
            user_ids = []
        user_ids = list(dict.fromkeys(u for u in user_ids if u != self.bot_user_id))
        if not user_ids:
            if raw and self.bot_user_id in str(raw):
                raise SlackError("cannot_dm_bot")
            raise SlackError("users_list_not_supplied")
        if len(user_ids) > 8:
            raise SlackError("too_many_users")
        for user_id in user_ids:
            user = self.users.get(user_id)
            if user is None:
                raise SlackError("user_not_found")
            if user.deleted:
                raise SlackError("user_disabled")
        if len(user_ids) == 1:
            already = self.dm_id(user_ids[0]) in self.channels
            channel = self._im_for(user_ids[0])
        else:
            mpim = self.mpim_id(*user_ids)
            already = mpim in self.channels
            if not already:
                name = "mpdm-" + "--".join(sorted(self.users[u].name for u in user_ids)) + "-1"
                self.channels[mpim] = FakeChannel(
                    mpim,
                    name,
                    members={*user_ids, self.bot_user_id},
                    is_private=True,
                    is_mpim=True,
                )
            channel = self.channels[mpim]
        return {
            "ok": True,
            "no_op": already,
            "already_open": already,
            "channel": {"id": channel.id},
        }

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(args.get("user") or "")
        if user is None:
            raise SlackError("user_not_found")
        include_locale = str(args.get("include_locale", "")).lower() in ("1", "true")
        return {"ok": True, "user": user.to_json(self.team_id, include_locale=include_locale)}

    def _use_trigger(self, args: dict[str, Any]) -> None:
        trigger = args.get("trigger_id") or args.get("interactivity_pointer")
        if not isinstance(trigger, str) or not trigger:
            raise SlackError("invalid_trigger_id")
        issued = self.trigger_issued_at.get(trigger)
        if trigger in self.expired_trigger_ids or (
            issued is not None and time.monotonic() - issued > TRIGGER_LIFETIME
        ):
            raise SlackError("expired_trigger_id")
        if trigger in self.used_trigger_ids:
            raise SlackError("invalid_trigger_id")
        self.used_trigger_ids.add(trigger)

    def _new_view(
        self,
        view: dict[str, Any],
        *,
        view_id: str | None = None,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> dict[str, Any]:
        self._view_counter += 1
        if view_id is None:
            view_id = f"V{self._view_counter:08d}"
        stored = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type"),
            "title": view.get("title"),
            "submit": view.get("submit"),
            "close": view.get("close"),
            "blocks": _with_block_ids(view.get("blocks") or []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{self._ts_base + self._view_counter}.{self._view_counter:08x}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root_view_id or view_id,
            "previous_view_id": previous_view_id,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        self.views[view_id] = stored
        return stored

    def _check_view(
        self, view: Any, *, types: tuple[str, ...], replacing: str | None = None
    ) -> dict[str, Any]:
        if not isinstance(view, dict):
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: view"])
        if view.get("type") not in types:
            raise SlackError(
                "invalid_arguments",
                [f"[ERROR] must be one of {list(types)} [json-pointer:/view/type]"],
            )
        if view.get("external_id"):
            for other in self.views.values():
                if other["id"] != replacing and other["external_id"] == view["external_id"]:
                    raise SlackError("duplicate_external_id")
        errors = view_errors(view)
        if errors:
            raise SlackError("invalid_arguments", errors)
        return view

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        self._use_trigger(args)
        view = self._check_view(args.get("view"), types=("modal",))
        return {"ok": True, "view": self._new_view(view)}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        self._use_trigger(args)
        view = self._check_view(args.get("view"), types=("modal",))
        return {"ok": True, "view": self._new_view(view)}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id, external_id = args.get("view_id"), args.get("external_id")
        if view_id:
            old = self.views.get(view_id)
        elif external_id:
            old = next((v for v in self.views.values() if v["external_id"] == external_id), None)
        else:
            raise SlackError("invalid_arguments", ["[ERROR] view_id or external_id is required"])
        if old is None:
            raise SlackError("not_found")
        if args.get("hash") and args["hash"] != old["hash"]:
            raise SlackError("hash_conflict")
        view = self._check_view(args.get("view"), types=(old["type"],), replacing=old["id"])
        if not view.get("external_id"):
            view = {**view, "external_id": old["external_id"]}
        new = self._new_view(
            view,
            view_id=old["id"],
            root_view_id=old["root_view_id"],
            previous_view_id=old["previous_view_id"],
        )
        return {"ok": True, "view": new}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = args.get("user_id")
        user = self.users.get(user_id) if isinstance(user_id, str) else None
        if user is None:
            raise SlackError("user_not_found")
        old = self.home_views.get(user.id)
        if args.get("hash") and old is not None and args["hash"] != old["hash"]:
            raise SlackError("hash_conflict")
        view = self._check_view(
            args.get("view"), types=("home",), replacing=old["id"] if old else None
        )
        new = self._new_view(view, view_id=old["id"] if old else None)
        self.home_views[user.id] = new
        return {"ok": True, "view": new}


# --------------------------------------------------------------------------------------------
# request parsing


def _token_of(headers: Mapping[str, str], args: Mapping[str, Any]) -> str | None:
    auth = headers.get("Authorization") or headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        token = auth[7:].strip()
        if token:
            return token
    token = args.get("token")
    return token if isinstance(token, str) and token else None


async def _read_args(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.body_exists:
        content_type = request.content_type
        if content_type == "application/json":
            raw = await request.text()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except json.JSONDecodeError as error:
                raise _BadJson from error
            if not isinstance(body, dict):
                raise _BadJson
            args.update(body)
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                args[key] = value if isinstance(value, str) else value.file.read()
        else:
            raw = await request.text()
            if raw:
                args["_raw"] = raw
    for key in _JSON_ARGS:
        value = args.get(key)
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            # An undecodable string is kept: the method answers invalid_blocks_format etc.
            with contextlib.suppress(json.JSONDecodeError):
                args[key] = json.loads(value)
    return args


def _with_block_ids(blocks: list[Any]) -> list[Any]:
    """Slack fills in a ``block_id`` for blocks sent without one."""
    out = []
    for index, block in enumerate(blocks):
        if isinstance(block, dict) and "block_id" not in block:
            digest = hashlib.sha256(json.dumps(block, sort_keys=True).encode()).hexdigest()
            block = {**block, "block_id": f"{digest[:4]}{index}"}
        out.append(block)
    return out


# --------------------------------------------------------------------------------------------
# Block Kit checks (the basic limits the real API enforces)


def _too_long(limit: int, pointer: str) -> str:
    return f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]"


def _text_errors(
    obj: Any, pointer: str, *, limit: int, plain_only: bool = False, required: bool = True
) -> list[str]:
    if obj is None:
        return [f"[ERROR] missing required field [json-pointer:{pointer}]"] if required else []
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        return [f"[ERROR] must be a {' or '.join(allowed)} text object [json-pointer:{pointer}]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"[ERROR] must be more than 0 characters [json-pointer:{pointer}/text]"]
    if len(text) > limit:
        return [_too_long(limit, f"{pointer}/text")]
    return []


def _element_errors(element: Any, pointer: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"[ERROR] missing required field: type [json-pointer:{pointer}]"]
    errors = []
    action_id = element.get("action_id")
    if action_id is not None and (not isinstance(action_id, str) or len(action_id) > 255):
        errors.append(_too_long(255, f"{pointer}/action_id"))
    if element["type"] == "button":
        errors += _text_errors(element.get("text"), f"{pointer}/text", limit=75, plain_only=True)
        value = element.get("value")
        if isinstance(value, str) and len(value) > 2000:
            errors.append(_too_long(2000, f"{pointer}/value"))
        url = element.get("url")
        if isinstance(url, str) and len(url) > 3000:
            errors.append(_too_long(3000, f"{pointer}/url"))
    options = element.get("options")
    if isinstance(options, list) and len(options) > 100:
        errors.append(f"[ERROR] no more than 100 items allowed [json-pointer:{pointer}/options]")
    if "placeholder" in element:
        errors += _text_errors(
            element["placeholder"], f"{pointer}/placeholder", limit=150, plain_only=True
        )
    return errors


def block_errors(blocks: Any, *, max_blocks: int, root: str = "/blocks") -> list[str]:
    """Slack-style error messages for a list of blocks (empty when the blocks look valid)."""
    if not isinstance(blocks, list):
        return [f"[ERROR] must be an array [json-pointer:{root}]"]
    if len(blocks) > max_blocks:
        return [f"[ERROR] no more than {max_blocks} items allowed [json-pointer:{root}]"]
    errors: list[str] = []
    seen_ids: set[str] = set()
    for index, block in enumerate(blocks):
        pointer = f"{root}/{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"[ERROR] missing required field: type [json-pointer:{pointer}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or len(block_id) > 255:
                errors.append(_too_long(255, f"{pointer}/block_id"))
            elif block_id in seen_ids:
                errors.append(f"[ERROR] duplicate block_id [json-pointer:{pointer}/block_id]")
            else:
                seen_ids.add(block_id)
        kind = block["type"]
        if kind == "section":
            text, fields = block.get("text"), block.get("fields")
            if text is None and not fields:
                errors.append(
                    f"[ERROR] must provide either text or fields [json-pointer:{pointer}]"
                )
            errors += _text_errors(text, f"{pointer}/text", limit=3000, required=False)
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > 10:
                    errors.append(
                        f"[ERROR] no more than 10 items allowed [json-pointer:{pointer}/fields]"
                    )
                else:
                    for i, item in enumerate(fields):
                        errors += _text_errors(item, f"{pointer}/fields/{i}", limit=2000)
            if "accessory" in block:
                errors += _element_errors(block["accessory"], f"{pointer}/accessory")
        elif kind == "header":
            errors += _text_errors(block.get("text"), f"{pointer}/text", limit=150, plain_only=True)
        elif kind in ("actions", "context"):
            limit = 25 if kind == "actions" else 10
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                errors.append(f"[ERROR] must provide elements [json-pointer:{pointer}/elements]")
            elif len(elements) > limit:
                errors.append(
                    f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}/elements]"
                )
            elif kind == "actions":
                for i, element in enumerate(elements):
                    errors += _element_errors(element, f"{pointer}/elements/{i}")
        elif kind == "input":
            errors += _text_errors(
                block.get("label"), f"{pointer}/label", limit=2000, plain_only=True
            )
            if "element" not in block:
                errors.append(f"[ERROR] missing required field: element [json-pointer:{pointer}]")
            else:
                errors += _element_errors(block["element"], f"{pointer}/element")
    return errors


def view_errors(view: Mapping[str, Any]) -> list[str]:
    """Slack-style error messages for a modal or home view (empty when it looks valid)."""
    errors = block_errors(view.get("blocks", []), max_blocks=MAX_VIEW_BLOCKS, root="/view/blocks")
    if view.get("type") == "modal":
        errors += _text_errors(view.get("title"), "/view/title", limit=24, plain_only=True)
        for key in ("submit", "close"):
            errors += _text_errors(
                view.get(key), f"/view/{key}", limit=24, plain_only=True, required=False
            )
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and not view.get("submit"):
            errors.append(
                "[ERROR] must provide submit when using input blocks [json-pointer:/view]"
            )
    for key, limit in (("private_metadata", 3000), ("callback_id", 255), ("external_id", 255)):
        value = view.get(key)
        if isinstance(value, str) and len(value) > limit:
            errors.append(_too_long(limit, f"/view/{key}"))
    return errors


# --------------------------------------------------------------------------------------------
# what Slack sends to our app


def signed_headers(
    body: bytes | str, secret: str, *, timestamp: int | None = None
) -> dict[str, str]:
    """``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` for ``body`` (add Content-Type)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def _channel_name(channel_id: str) -> str:
    if channel_id.startswith("D"):
        return "directmessage"
    if channel_id.startswith("G"):
        return "privategroup"
    return "general"


def slash_command_body(
    *,
    command: str = "/mentoring",
    text: str = "",
    user_id: str,
    team_id: str,
    trigger_id: str,
    response_url: str,
    channel_id: str = "D0001",
    user_name: str = "alice",
    channel_name: str | None = None,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = APP_ID,
    token: str = VERIFICATION_TOKEN,
) -> str:
    """A slash-command POST body, form-encoded in the field order Slack uses."""
    return urlencode(
        [
            ("token", token),
            ("team_id", team_id),
            ("team_domain", team_domain),
            ("channel_id", channel_id),
            ("channel_name", channel_name or _channel_name(channel_id)),
            ("user_id", user_id),
            ("user_name", user_name),
            ("command", command),
            ("text", text),
            ("api_app_id", api_app_id),
            ("is_enterprise_install", "false"),
            ("response_url", response_url),
            ("trigger_id", trigger_id),
        ]
    )


def interaction_body(payload: Mapping[str, Any]) -> str:
    """An interactivity POST body: ``payload=<urlencoded JSON>``."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def _team(team_id: str, team_domain: str) -> dict[str, str]:
    return {"id": team_id, "domain": team_domain}


def _user(user_id: str, user_name: str, team_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id}


def block_actions_payload(
    *,
    user_id: str,
    team_id: str,
    action_id: str,
    value: str,
    trigger_id: str,
    channel_id: str | None = None,
    view: Mapping[str, Any] | None = None,
    block_id: str = "actions",
    message_ts: str = "1700000000.000100",
    message: Mapping[str, Any] | None = None,
    response_url: str | None = None,
    user_name: str = "alice",
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = APP_ID,
    button_text: str | None = None,
) -> dict[str, Any]:
    """A ``block_actions`` payload for a button click.

    With ``view`` the click came from a modal/home view (``container.type == "view"``); otherwise
    from a message in ``channel_id`` (default ``D0001``, the app's DM), with a ``response_url``.
    """
    action_ts = f"{time.time():.6f}"
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "team": _team(team_id, team_domain),
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "V1")}
        payload["view"] = dict(view)
        if channel_id is not None:
            payload["channel"] = {"id": channel_id, "name": _channel_name(channel_id)}
    else:
        channel_id = channel_id or "D0001"
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": _channel_name(channel_id)}
        payload["message"] = (
            dict(message)
            if message is not None
            else {
                "type": "message",
                "user": "U0BOT",
                "bot_id": BOT_ID,
                "ts": message_ts,
                "text": "",
                "blocks": [],
                "team": team_id,
            }
        )
        payload["state"] = {"values": {}}
        payload["response_url"] = response_url or (
            f"https://hooks.slack.com/actions/{team_id}/1/fake-response-url"
        )
    payload["actions"] = [
        {
            "action_id": action_id,
            "block_id": block_id,
            "text": {"type": "plain_text", "text": button_text or value, "emoji": True},
            "value": value,
            "type": "button",
            "action_ts": action_ts,
        }
    ]
    return payload


def _option(value: str, text: str | None = None) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}


def plain_text_input(value: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def static_select(value: str | None, text: str | None = None) -> dict[str, Any]:
    return {
        "type": "static_select",
        "selected_option": None if value is None else _option(value, text),
    }


def multi_static_select(values: Iterable[str]) -> dict[str, Any]:
    return {"type": "multi_static_select", "selected_options": [_option(v) for v in values]}


def checkboxes(values: Iterable[str]) -> dict[str, Any]:
    return {"type": "checkboxes", "selected_options": [_option(v) for v in values]}


def radio_buttons(value: str | None) -> dict[str, Any]:
    return {"type": "radio_buttons", "selected_option": None if value is None else _option(value)}


def datepicker(value: date | str | None) -> dict[str, Any]:
    selected = value.isoformat() if isinstance(value, date) else value
    return {"type": "datepicker", "selected_date": selected}


def _state_value(value: Any) -> dict[str, Any]:
    if isinstance(value, dict) and "type" in value:
        return dict(value)
    if value is None or isinstance(value, str):
        return plain_text_input(value)
    if isinstance(value, date):
        return datepicker(value)
    if isinstance(value, list | tuple | set | frozenset):
        return multi_static_select(str(v) for v in value)
    raise TypeError(f"cannot turn {value!r} into a view state value")


def view_submission_payload(
    *,
    user_id: str,
    team_id: str,
    callback_id: str,
    private_metadata: str,
    values: Mapping[str, Mapping[str, Any]],
    view_id: str = "V1",
    trigger_id: str = "1000.1000.fake-trigger",
    user_name: str = "alice",
    blocks: list[dict[str, Any]] | None = None,
    title: str = "Upward",
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = APP_ID,
) -> dict[str, Any]:
    """A ``view_submission`` payload.

    ``values`` is ``{block_id: {action_id: state}}``. A state is either a full state dict (it has
    a ``"type"``; see ``static_select``, ``checkboxes``, ... above) or a shorthand: ``str``/``None``
    -> plain_text_input, ``date`` -> datepicker, list of str -> multi_static_select.
    """
    state = {
        block_id: {action_id: _state_value(v) for action_id, v in actions.items()}
        for block_id, actions in values.items()
    }
    return {
        "type": "view_submission",
        "team": _team(team_id, team_domain),
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": state},
            "hash": "1700000000.fakehash",
            "title": {"type": "plain_text", "text": title, "emoji": True},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel", "emoji": True},
            "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": api_app_id,
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": BOT_ID,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def event_body(
    event: Mapping[str, Any],
    *,
    team_id: str,
    event_id: str,
    event_time: int | None = None,
    bot_user_id: str = "U0BOT",
    api_app_id: str = APP_ID,
) -> dict[str, Any]:
    """An Events API ``event_callback`` envelope (``json.dumps`` it, then sign it)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-fake-{team_id}-{event_id}",
    }


__all__ = [
    "APP_ID",
    "BOT_ID",
    "TEAM_DOMAIN",
    "VERIFICATION_TOKEN",
    "Call",
    "FakeChannel",
    "FakeSlack",
    "FakeUser",
    "Headers",
    "SlackError",
    "block_actions_payload",
    "block_errors",
    "checkboxes",
    "datepicker",
    "event_body",
    "interaction_body",
    "multi_static_select",
    "plain_text_input",
    "radio_buttons",
    "signed_headers",
    "slash_command_body",
    "static_select",
    "view_errors",
    "view_submission_payload",
]
