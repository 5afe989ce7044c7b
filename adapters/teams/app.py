"""The Teams edge: `POST /api/messages`, checked, translated, handed to the engine.

No program logic here: what to answer is the engine's business; this module decides how
an answer looks on Teams (a card in the chat, a form card, an updated card) and keeps the
conversation references proactive messages need.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import ClientPayloadError, web
from aiohttp.http_exceptions import HttpProcessingError
from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes, ConversationReference
from botframework.connector.auth import BotFrameworkAuthentication

from adapters import limits
from adapters.after_ack import AfterAck
from adapters.teams import parse, shapes
from adapters.teams.render import errors_card, render_form, render_message
from bot.commands import MAX_COMMAND_TEXT, TOO_LONG
from bot.events import ButtonAction, Command, FormSubmission
from bot.messages import FormErrors, Say, ShowForm
from bot.ports import ContactBook, EventHandler

log = logging.getLogger(__name__)
NEEDS_EMAIL = frozenset({"join", "join.open"})
MAX_BODY = 256 * 1024
PROACTIVE = "ContinueConversation"  # the activity botbuilder's continue_conversation runs


class UpwardTeamsBot:
    """The bot's turn: remember how to reach the sender, translate, answer."""

    def __init__(
        self,
        engine: EventHandler,
        contacts: ContactBook,
        *,
        app_id: str,
        tenants: frozenset[str] = frozenset(),
        after_ack: AfterAck | None = None,
    ) -> None:
        self._engine = engine
        self._contacts = contacts
        self._app_id = app_id
        self._tenants = tenants
        self.after_ack = after_ack or AfterAck()

    async def on_turn(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if activity.type == ActivityTypes.invoke:
            # Upward answers no invoke (its cards use Action.Submit): a plain 200, where
            # botbuilder would answer 501.
            await turn_context.send_activity(
                Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=200))
            )
            return
        if activity.channel_id != "msteams" or not activity.from_property:
            return
        if self._tenants and parse.tenant_of(activity) not in self._tenants:
            # Anyone can sideload an app with our bot id into their own tenant: their
            # people must not join this organisation's program (or be matched with it).
            log.warning("Teams activity from a tenant that is not allowed: ignored")
            return
        if parse.bot_removed(activity):
            await self._contacts.forget(
                parse.PLATFORM, parse.tenant_of(activity), parse.contact_key(activity)
            )
            return
        await self._remember(activity)
        if parse.installed(activity):
            await self._answer(
                turn_context, await self._engine.handle(parse.first_contact(activity))
            )
        if activity.type == ActivityTypes.message:
            await self._message(turn_context)

    async def _remember(self, activity: Activity) -> None:
        """On every activity: Teams may move a tenant to a new serviceUrl, and hearing from
        someone means they can be reached again. The contact book writes only changes."""
        reference = TurnContext.get_conversation_reference(activity)
        reference.activity_id = None
        shared = parse.shared_conversation(activity)
        if shared is not None:  # a new post in the channel later, not a reply in this thread
            reference.conversation.id = shared
        await self._contacts.remember(
            parse.PLATFORM,
            parse.tenant_of(activity),
            parse.contact_key(activity),
            reference.serialize(),
        )

    async def _message(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        event: Command | ButtonAction | FormSubmission
        if parse.is_submission(activity):
            event = parse.submission(activity)
            if event.form_id in NEEDS_EMAIL:
                event = event.model_copy(update={"email": await self._email(turn_context)})
            await self._submitted(turn_context, event)
            return
        if parse.is_button(activity):
            event = parse.button(activity)
            asked = event.action_id
        else:
            if len(parse.command_text(activity)) > MAX_COMMAND_TEXT:
                await turn_context.send_activity(TOO_LONG)
                return
            event = parse.command(activity)
            if not event.name:
                event = event.model_copy(update={"name": "help"})
            asked = event.name
        if asked in NEEDS_EMAIL:
            event = event.model_copy(update={"email": await self._email(turn_context)})
        await self._answer(turn_context, await self._engine.handle(event))

    async def _submitted(self, turn_context: TurnContext, event: FormSubmission) -> None:
        """A form card. Errors: the card again as filled in, marked where to fix (or, for a
        form too big to carry itself, a list of what to fix above the card, which Teams
        keeps filled in). A second submission of the same card is a replay: said so.
        A form with an early check (a join, a readiness pulse to thousands) is checked in
        the turn and stored after it, so that the turn stays short whatever its audience."""
        if self._engine.acks_first(event):
            replies = await self._engine.check(event)
            if not replies:
                reference = TurnContext.get_conversation_reference(turn_context.activity)
                self.after_ack.spawn(self._after(turn_context.adapter, reference, event))
                return
        else:
            replies = await self._engine.handle(event)
        await self._answer_submission(turn_context, event, replies)

    async def _after(
        self, adapter: Any, reference: ConversationReference, event: FormSubmission
    ) -> None:
        """After the turn: the form stored (exactly once: its event id is recorded with
        it), and its answer sent into the same conversation; through the outbox if Teams
        won't take it now."""
        replies = await self._engine.handle_acked(event)

        async def answer(turn_context: TurnContext) -> None:
            if replies:
                await self._answer(turn_context, replies)
            else:
                await turn_context.send_activity("That form was already sent.")

        try:
            await adapter.continue_conversation(reference, answer, self._app_id)
        except Exception as exc:  # e.g. a 403, or the connector unreachable
            log.warning("the answer to a form was not delivered (%s): queued", type(exc).__name__)
            for n, reply in enumerate(replies):
                if isinstance(reply, Say):
                    key = f"reply:{event.event_id or id(event)}:{n}"
                    await self._engine.send_later(event.actor, reply.message, key=key)

    async def _answer_submission(
        self, turn_context: TurnContext, event: FormSubmission, replies: list
    ) -> None:
        if not replies:
            await turn_context.send_activity("That form was already sent.")
            return
        errors = next((r for r in replies if isinstance(r, FormErrors)), None)
        if errors is None:
            await self._answer(turn_context, replies)
            return
        form = parse.submitted_form(turn_context.activity)
        if form is None:
            await self._send_card(turn_context, errors_card(errors.errors))
            return
        content = render_form(form, errors=errors.errors, values=dict(event.values))
        card = MessageFactory.attachment(CardFactory.adaptive_card(content))
        card.id = turn_context.activity.reply_to_id
        try:
            await turn_context.update_activity(card)
        except Exception as exc:  # an old card may not be editable: send a new one
            log.info("could not update card (%s); sending a new one", type(exc).__name__)
            await self._send_card(turn_context, content)

    @staticmethod
    async def _send_card(turn_context: TurnContext, content: dict[str, Any]) -> None:
        await turn_context.send_activity(
            MessageFactory.attachment(CardFactory.adaptive_card(content))
        )

    async def _answer(self, turn_context: TurnContext, replies: list) -> None:
        """Private answers (and forms) never go into a shared channel: they go to the
        person's 1:1 chat with the bot, and the channel only hears where to look."""
        personal = parse.is_personal(turn_context.activity)
        private: list[dict[str, Any]] = []
        for reply in replies:
            if isinstance(reply, ShowForm):
                content, secret = render_form(reply.form), True
            elif isinstance(reply, Say):
                content, secret = render_message(reply.message), reply.private
            else:
                continue
            if personal or not secret:
                await self._send_card(turn_context, content)
            else:
                private.append(content)
        if private:
            await turn_context.send_activity(await self._to_personal_chat(turn_context, private))

    async def _to_personal_chat(
        self, turn_context: TurnContext, contents: list[dict[str, Any]]
    ) -> str:
        """Sends the cards to the person's 1:1 chat; returns what to say in the channel."""
        activity = turn_context.activity
        reference = await self._contacts.find(
            parse.PLATFORM, parse.tenant_of(activity), parse.user_id_of(activity.from_property)
        )
        private_note = (
            "That answer is private: open a 1:1 chat with me (find Upward under Apps) and "
            "ask me there."
        )
        if reference is None:
            return private_note

        async def send(personal: TurnContext) -> None:
            for content in contents:
                await self._send_card(personal, content)

        try:
            await turn_context.adapter.continue_conversation(
                ConversationReference().deserialize(reference), send, self._app_id
            )
        except Exception as exc:  # e.g. 403: they removed the app's 1:1 chat
            log.info("private answer not delivered (%s)", type(exc).__name__)
            return private_note
        return "I've answered you in our 1:1 chat."

    async def _email(self, turn_context: TurnContext) -> str | None:
        """The sender's email from the Teams roster (links a roster row keyed by email).
        A nicety: a slow or failing lookup just means no email."""
        try:
            member = await asyncio.wait_for(
                TeamsInfo.get_member(turn_context, turn_context.activity.from_property.id), 2.0
            )
        except Exception:  # timeouts, API and network errors alike
            return None
        return getattr(member, "email", None) or getattr(member, "user_principal_name", None)


def messages_endpoint(
    adapter: CloudAdapter,
    auth: BotFrameworkAuthentication,
    bot: UpwardTeamsBot,
    *,
    auth_required: bool,
) -> Any:
    """`POST /api/messages`. The caller's token is checked before anything runs: every
    credential botbuilder rejects, however it rejects it (it raises assorted exceptions that
    would otherwise become 500s, which the Bot Connector retries), is a 401."""

    async def handler(request: web.Request) -> web.StreamResponse:
        header = request.headers.get("Authorization")
        if auth_required and not header:
            return web.json_response({"error": "unauthorized"}, status=401)
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "expected application/json"}, status=415)
        if (request.content_length or 0) > MAX_BODY:
            return web.json_response({"error": "too large"}, status=413)
        try:
            raw = await request.read()  # the whole body, however it arrives
        except (ConnectionError, ClientPayloadError, HttpProcessingError) as exc:
            log.info("Teams request abandoned mid-body: %s", type(exc).__name__)
            return web.json_response({"error": "incomplete request"}, status=400)
        if len(raw) > MAX_BODY:
            return web.json_response({"error": "too large"}, status=413)
        body = _body(raw)
        activity = _activity(body)
        if body is None or activity is None:
            log.warning("malformed Teams activity refused: not_json")
            return web.json_response({"error": "malformed activity"}, status=400)
        try:
            authenticated = await auth.authenticate_request(activity, header)  # type: ignore[arg-type]
        except Exception as exc:  # PermissionError, jwt errors, unknown key ids, bad metadata …
            # The type only: a wrong MICROSOFT_APP_ID or unreachable signing keys show here.
            log.warning("Teams request refused: %s", type(exc).__name__)
            return web.json_response({"error": "unauthorized"}, status=401)
        if (problem := shapes.problem(body)) is not None:
            log.warning("malformed Teams activity refused: %s", problem)
            return web.json_response({"error": "malformed activity"}, status=400)
        try:
            response = await adapter.process_activity(authenticated, activity, bot.on_turn)
        except Exception as exc:  # outside the turn (the turn's own go to on_turn_error)
            log.warning("Teams activity failed: %s", type(exc).__name__)
            return web.json_response({"error": "not processed"}, status=400)
        if response is not None and response.status < 500:
            return web.json_response(data=response.body, status=response.status)
        if response is not None:
            log.warning("Teams activity answered %s by botbuilder: sent as 400", response.status)
            return web.json_response({"error": "not processed"}, status=400)
        return web.Response(status=201)

    return handler


def _body(raw: bytes) -> dict[str, Any] | None:
    try:
        body = limits.loads(raw)
    except ValueError:  # malformed JSON, absurd nesting
        return None
    return body if isinstance(body, dict) and isinstance(body.get("type"), str) else None


def _activity(body: dict[str, Any] | None) -> Activity | None:
    if body is None:
        return None
    try:
        return Activity().deserialize(body)
    except Exception:  # odd shapes msrest can't read: a 400
        return None


async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """botbuilder's `on_turn_error`: a library (or bot) exception in a turn is one log line
    with its type (its text could quote the activity), and the turn ends without a 500.
    A proactive send's failure goes back to its sender (the outbox records a 403 or 404)."""
    activity = turn_context.activity
    if activity.type == ActivityTypes.event and activity.name == PROACTIVE:
        raise error
    log.warning("a Teams turn failed: %s", type(error).__name__)
