"""The Slack edge: bolt listeners that ack at once, translate, and hand events to the engine.

No program logic here: what to answer is the engine's business; this module only decides
*how* an answer looks on Slack (ephemeral reply, modal, DM, App Home).
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters import limits
from adapters.after_ack import AfterAck
from adapters.slack import parse, shapes
from adapters.slack.parse import Profile
from adapters.slack.render import errors_response, neutral_action_id, render_message, render_modal
from bot.commands import MAX_COMMAND_TEXT, TOO_LONG
from bot.events import Actor, Command, FormSubmission
from bot.messages import FormErrors, Message, Say, ShowForm
from bot.ports import EventHandler

log = logging.getLogger(__name__)
SHAPE = "upward_shape"  # the bolt context key of the payload's checked shape
HOME_BLOCK_LIMIT = 100


class Directory:
    """Names, time zones and emails from users.info, cached, time-boxed, never fatal: a
    slow or failing lookup only means the form suggests the default time zone."""

    def __init__(self, client: AsyncWebClient, *, within: float = 1.0) -> None:
        self._client = client
        self._within = within
        self._cache: dict[str, Profile] = {}

    def cached(self, user_id: str) -> Profile:
        return self._cache.get(user_id, Profile())

    async def profile(self, user_id: str) -> Profile:
        if user_id not in self._cache:
            try:
                response = await asyncio.wait_for(
                    self._client.users_info(user=user_id), self._within
                )
            except Exception:  # a profile is a nicety: timeouts, API and network errors alike
                return Profile()
            user = response.get("user") or {}
            details = user.get("profile") or {}
            name = details.get("display_name") or details.get("real_name") or user.get("real_name")
            self._cache[user_id] = Profile(
                name or None, user.get("tz") or None, details.get("email") or None
            )
        return self._cache[user_id]


NEEDS_PROFILE = frozenset({"join", "join.open"})


def build_bolt_app(
    *,
    engine: EventHandler,
    client: AsyncWebClient,
    signing_secret: str | None,
    after_ack: AfterAck | None = None,
) -> AsyncApp:
    """`after_ack` runs the work of forms stored after their ack (see `AfterAck`)."""
    app = CheckedApp(client=client, signing_secret=signing_secret, process_before_response=False)
    directory = Directory(client)
    after_ack = after_ack or AfterAck()
    app.error(_failed)

    @app.command(shapes.COMMAND)
    async def on_command(ack: Any, context: dict, client: AsyncWebClient, respond: Any) -> None:
        body: shapes.SlashCommand = context[SHAPE]
        if len(body.text) > MAX_COMMAND_TEXT:
            await ack(response_type="ephemeral", text=TOO_LONG)
            return
        await ack()  # within Slack's 3 seconds, before any Web API call
        event = parse.command(body)  # parsed once: the text may be long
        if event.name in NEEDS_PROFILE:
            profile = await directory.profile(body.user_id)
        else:
            profile = directory.cached(body.user_id)
        event = parse.profiled(event, profile)
        replies = await engine.handle(event)
        await _answer(
            client,
            body.trigger_id,
            replies,
            say=lambda payload: respond(
                response_type="ephemeral", replace_original=False, **payload
            ),
        )

    @app.action(re.compile(".*"))
    async def on_action(ack: Any, context: dict, client: AsyncWebClient) -> None:
        await ack()
        body: shapes.BlockActions = context[SHAPE]
        user_id = body.user.id
        for action in body.actions:
            action_id = neutral_action_id(action.action_id)
            profile = directory.cached(user_id)
            if action_id in NEEDS_PROFILE:
                profile = await directory.profile(user_id)
            event = parse.button(body, action, action_id, profile)
            replies = await engine.handle(event)
            await _answer(
                client,
                body.trigger_id,
                replies,
                say=lambda payload: client.chat_postMessage(channel=user_id, **payload),
            )
        if body.view is not None and body.view.type == "home":
            await publish_home(engine, client, parse.actor(body.tenant, user_id))

    @app.view(re.compile(".*"))
    async def on_submission(ack: Any, context: dict, client: AsyncWebClient) -> None:
        """Only our own database before the ack: no Web API call may delay it. A form the
        engine checks early (joining) is acked on that check and stored after."""
        body: shapes.ViewSubmission = context[SHAPE]
        event = parse.submission(body, display_name=directory.cached(body.user.id).name)
        if engine.acks_first(event):
            replies = await engine.check(event)
            if not await _ack_submission(ack, replies):
                return
            async with after_ack.slot():
                await _after(engine, client, event, replies or await engine.handle_acked(event))
            return
        replies = await engine.handle(event)
        if await _ack_submission(ack, replies):
            await _after(engine, client, event, replies)

    @app.event("app_home_opened")
    async def on_home_opened(context: dict, client: AsyncWebClient) -> None:
        body: shapes.EventEnvelope = context[SHAPE]
        if body.home_opened().tab != "home":
            return
        first_contact = parse.home_opened(body)
        if not await engine.handle(first_contact):
            return  # a retry of an event already handled (Slack retries up to three times)
        await publish_home(engine, client, first_contact.actor)

    return app


class CheckedApp(AsyncApp):
    """Bolt, with the shape of every payload checked before bolt's own middleware reads it
    (HTTP and Socket Mode alike): only payloads the listeners can read reach them.
    Malformed: a 400 (an event: Slack's empty 200, so that it isn't retried), with one log
    line naming the kind of problem, never the content. Anything bolt raises is a 400."""

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        body = req.body
        if isinstance(body, dict) and (
            body.get("ssl_check") or body.get("type") == "url_verification"
        ):
            return await self._dispatch(req)  # bolt answers Slack's own checks itself
        try:
            req.context[SHAPE] = shapes.check(body)  # what the listeners read
        except shapes.Unhandled as exc:
            log.info("Slack %s of a kind Upward doesn't answer: ignored", exc.kind)
            return BoltResponse(status=200, body="")
        except shapes.Malformed as exc:
            log.warning("malformed Slack %s refused: %s", exc.kind, exc.problem)
            event = isinstance(body, dict) and body.get("type") == "event_callback"
            return BoltResponse(status=200 if event else 400, body="")
        return await self._dispatch(req)

    async def _dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        try:
            return await super().async_dispatch(req)
        except Exception as exc:  # bolt's own error handling failed too
            log.warning("a Slack request failed: %s", type(exc).__name__)
            return BoltResponse(status=400, body="")


async def _failed(error: Exception, response: BoltResponse | None) -> BoltResponse | None:
    """Bolt's error handler: whatever a library or listener raised, one line with its type
    (its text could quote the payload), and no 500: before the ack, a 400."""
    log.warning("a Slack request failed: %s", type(error).__name__)
    return BoltResponse(status=400, body="") if response is not None else None


async def _after(
    engine: EventHandler, client: AsyncWebClient, event: FormSubmission, replies: list
) -> None:
    """After a form's ack: its answer by DM, and the App Home brought up to date."""
    for n, reply in enumerate(replies):
        if isinstance(reply, Say):
            await _dm_or_later(engine, client, event, reply.message, n)
    await publish_home(engine, client, event.actor)


async def _ack_submission(ack: Any, replies: list) -> bool:
    """Field errors keep the modal open (False: nothing more to do); a follow-up form
    replaces it; anything else closes it."""
    errors = next((r for r in replies if isinstance(r, FormErrors)), None)
    follow_up = next((r for r in replies if isinstance(r, ShowForm)), None)
    if errors is not None:
        await ack(**errors_response(errors.errors))
        return False
    if follow_up is not None:
        await ack(response_action="update", view=render_modal(follow_up.form))
    else:
        await ack()
    return True


async def _dm_or_later(
    engine: EventHandler, client: AsyncWebClient, event: FormSubmission, message: Message, n: int
) -> None:
    """The answer to a submitted form, by DM (the modal is closed); if Slack won't take
    it now, through the outbox."""
    try:
        await _dm(client, event.actor.user_id, message)
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("a DM answering a form failed (%s): queued instead", _slack_error(exc))
        key = f"reply:{event.event_id or uuid.uuid4().hex}:{n}"
        await engine.send_later(event.actor, message, key=key)


def _slack_error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "unknown_error"))
    return type(exc).__name__


async def _answer(client: AsyncWebClient, trigger: str | None, replies: list, *, say: Any) -> None:
    """Forms open as modals (with the interaction's trigger id); messages go back the way
    the person asked."""
    for reply in replies:
        if isinstance(reply, ShowForm):
            if not trigger:
                await say({"text": "Sorry, I couldn't open that form. Please try again."})
                continue
            try:
                await client.views_open(trigger_id=trigger, view=render_modal(reply.form))
            except SlackApiError as exc:  # e.g. expired_trigger_id after a slow moment
                log.warning("views.open failed: %s", exc.response.get("error"))
                await say({"text": "Sorry, that form took too long to open. Please try again."})
        elif isinstance(reply, Say):
            for payload in render_message(reply.message):
                await say(payload)


async def publish_home(engine: EventHandler, client: AsyncWebClient, person: Actor) -> None:
    """The person's App Home, brought up to date."""
    home = Command(actor=person, name="home")
    blocks: list[dict] = []
    for reply in await engine.handle(home):
        if isinstance(reply, Say):
            for payload in render_message(reply.message):
                blocks += payload["blocks"]
    if len(blocks) > HOME_BLOCK_LIMIT:  # say so, rather than silently dropping the rest
        more = "More than fits here: `/mentoring status` and `/mentoring goals` show it all."
        blocks = [
            *blocks[: HOME_BLOCK_LIMIT - 1],
            {"type": "section", "text": {"type": "mrkdwn", "text": more}},
        ]
    await client.views_publish(user_id=person.user_id, view={"type": "home", "blocks": blocks})


async def _dm(client: AsyncWebClient, user_id: str, message: Message) -> None:
    for payload in render_message(message):
        await client.chat_postMessage(channel=user_id, **payload)


def events_endpoint(app: AsyncApp, signing_secret: str | None) -> Any:
    """`POST /slack/events` for aiohttp. The signature is checked on the raw bytes before
    anything is parsed, so a forged request with a junk body is a 401, never a 500; a
    genuine request Slack could not have sent is a 400. Then bolt verifies again and
    dispatches."""
    verifier = SignatureVerifier(signing_secret) if signing_secret else None

    async def handler(request: web.Request) -> web.Response:
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": "too large"}, status=413)
        except (ConnectionError, aiohttp.ClientPayloadError, HttpProcessingError) as exc:
            log.info("Slack request abandoned mid-body: %s", type(exc).__name__)
            return web.json_response({"error": "incomplete request"}, status=400)
        if verifier is None or not _signed(verifier, request, raw):
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            text = raw.decode("utf-8")
            _readable(text, request.headers.get("Content-Type", ""))
            bolt_request = AsyncBoltRequest(
                body=text,
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]
            )
        except Exception as exc:  # undecodable, not JSON, nested absurdly deep, odd shapes
            log.warning("malformed Slack request refused: %s", _problem(exc))
            return web.json_response({"error": "malformed request"}, status=400)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    return handler


def _readable(text: str, content_type: str) -> None:
    """Raise ValueError unless bolt can parse the body without recursing absurdly deep: the
    JSON of an event, or the `payload` JSON of a form-encoded interaction."""
    if "json" in content_type or text.lstrip().startswith("{"):
        limits.loads(text)
        return
    payload = parse_qs(text).get("payload")
    if payload:
        limits.loads(payload[0])


def _problem(exc: Exception) -> str:
    if isinstance(exc, limits.TooDeep):
        return "too_deep"
    if isinstance(exc, UnicodeDecodeError):
        return "not_utf8"
    if isinstance(exc, ValueError):
        return "not_json"
    return type(exc).__name__


def _signed(verifier: SignatureVerifier, request: web.Request, raw: bytes) -> bool:
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    if not (signature.isascii() and len(signature) < 200):
        return False
    try:
        return verifier.is_valid(body=raw, timestamp=timestamp, signature=signature)
    except (ValueError, TypeError, UnicodeError):
        return False
