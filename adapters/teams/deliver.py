"""Proactive messages on Teams: continue a stored conversation reference.

A bot can't open a group chat on Teams, so a message "to the pair" goes to each partner's
1:1 chat with the bot, naming the other. Answers from the Bot Connector are mapped for the
outbox: 403/404 mean the bot can't reach that person any more (app removed, conversation
gone) and are not retried; 429, 412 and 5xx are retried, after Retry-After if given.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import ConversationReference, ErrorResponseException
from msrest.exceptions import ClientRequestError

from adapters.pacing import Pacer
from adapters.teams.parse import PLATFORM
from adapters.teams.render import render_message
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.events import Actor
from bot.messages import Message, ToChannel, ToGroup, ToPair, ToPerson
from bot.ports import Capabilities, ContactBook, Receipt

GONE = frozenset({403, 404})
RETRYABLE = frozenset({408, 412, 429, 500, 502, 503, 504})
# Our own credentials refused: about the app, not the recipient. Retry after an operator
# fixes MICROSOFT_APP_PASSWORD, rather than failing every queued message for good.
APP_WIDE = frozenset({401})
APP_WIDE_WAIT = 900.0


class TeamsDelivery:
    platform = PLATFORM
    capabilities = Capabilities(group_dm=False)

    def __init__(
        self,
        adapter: CloudAdapter,
        *,
        app_id: str,
        contacts: ContactBook,
        pacing_seconds: float = 0.5,
        overall_rate: float = 30.0,
    ) -> None:
        self._adapter = adapter
        self._app_id = app_id
        self._contacts = contacts
        # Teams throttles per bot per conversation, and per app per tenant (about 50/s).
        self._pacer = Pacer(pacing_seconds, overall_rate)

    def share_rate(self, senders: int) -> None:
        """`senders` processes send at once: keep to that share of the overall rate."""
        self._pacer.share(senders)

    async def deliver(
        self, address: ToPerson | ToPair | ToGroup | ToChannel, message: Message, *, key: str
    ) -> Receipt:
        if isinstance(address, ToPair):
            return await self._to_pair(address, message)
        if isinstance(address, ToGroup):
            return await self._to_group(address, message)
        if isinstance(address, ToPerson):
            return await self._to_person(address.person, message)
        reference = await self._contacts.find(PLATFORM, address.tenant, address.channel_id)
        if reference is None:
            raise PermanentDeliveryError(
                "Upward has no conversation in that channel: say `admin channel here` in it again"
            )
        return await self._send(reference, render_message(message), who=None)

    async def _to_person(self, person: Actor, message: Message, context: str = "") -> Receipt:
        reference = await self._contacts.find(PLATFORM, person.tenant, person.user_id)
        if reference is None:
            raise PermanentDeliveryError(
                "no conversation with Upward: the app isn't installed for this person",
                unreachable=(person.key,),
            )
        return await self._send(reference, render_message(message, context=context), who=person)

    async def _to_pair(self, address: ToPair, message: Message) -> Receipt:
        """Each partner's copy, naming the other. The engine queues one item per partner
        (`only`), so each is retried or fails on its own and none is sent twice."""
        members = [address.only] if address.only is not None else [0, 1]
        receipt = Receipt()
        for index in members:
            other = address.names[1 - index] or "your partner"
            context = f"Your mentoring pair with {other}"
            receipt = await self._to_person(address.members[index], message, context)
        return receipt

    async def _to_group(self, address: ToGroup, message: Message) -> Receipt:
        """Bots can't start group chats in Teams: each member's copy names the others."""
        members = [address.only] if address.only is not None else range(len(address.members))
        receipt = Receipt()
        for index in members:
            others = [n for i, n in enumerate(address.names) if i != index and n]
            context = "With " + ", ".join(others) if others else ""
            receipt = await self._to_person(address.members[index], message, context)
        return receipt

    async def _send(
        self, reference: dict[str, Any], content: dict[str, Any], *, who: Actor | None
    ) -> Receipt:
        conversation = ConversationReference().deserialize(reference)
        conversation_id = conversation.conversation.id
        activity = MessageFactory.attachment(CardFactory.adaptive_card(content))
        answer: list[Any] = []

        async def send(turn_context: TurnContext) -> None:
            answer.append(await turn_context.send_activity(activity))

        try:
            async with self._pacer.slot(conversation_id):
                await self._adapter.continue_conversation(conversation, send, self._app_id)
        except ErrorResponseException as exc:
            raise _classify(exc, who) from None
        except (ClientRequestError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TransientDeliveryError(f"network: {type(exc).__name__}") from None
        except PermissionError:  # our own token couldn't be had (e.g. an expired secret)
            raise TransientDeliveryError(
                "Upward could not get a token for Teams: check MICROSOFT_APP_PASSWORD",
                APP_WIDE_WAIT,
            ) from None
        sent = answer[0] if answer else None
        return Receipt(platform_id=str(getattr(sent, "id", "") or ""))


def _classify(
    exc: ErrorResponseException, who: Actor | None
) -> PermanentDeliveryError | TransientDeliveryError:
    response = getattr(exc, "response", None)
    status = int(getattr(response, "status_code", 0) or 0)
    code = _error_code(exc)
    if status in GONE:
        reason = f"Teams answered {status} {code}: the app was removed or the chat is gone"
        return PermanentDeliveryError(reason, unreachable=(who.key,) if who else ())
    if status in APP_WIDE:
        return TransientDeliveryError(
            "Teams refused Upward's credentials (401): check MICROSOFT_APP_ID and "
            "MICROSOFT_APP_PASSWORD",
            APP_WIDE_WAIT,
        )
    if status in RETRYABLE or status == 0:
        return TransientDeliveryError(f"Teams answered {status} {code}", _retry_after(response))
    return PermanentDeliveryError(f"Teams answered {status} {code}")


def _error_code(exc: ErrorResponseException) -> str:
    error = getattr(getattr(exc, "error", None), "error", None)
    return str(getattr(error, "code", "") or "").strip()


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return max(1.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None
