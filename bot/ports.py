"""What the engine needs from a platform adapter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from bot.events import Actor, ButtonAction, Command, FirstContact, FormSubmission
from bot.messages import FormErrors, Message, Say, ShowForm, ToChannel, ToGroup, ToPair, ToPerson


@dataclass(frozen=True)
class Capabilities:
    group_dm: bool  # can the bot open one conversation with both partners?


@dataclass(frozen=True)
class Receipt:
    """What the platform answered for a sent message (e.g. Slack's `ts`)."""

    platform_id: str = ""


class Adapter(Protocol):
    platform: str
    capabilities: Capabilities

    async def deliver(
        self, address: ToPerson | ToPair | ToGroup | ToChannel, message: Message, *, key: str
    ) -> Receipt:
        """Send one message the bot started. Raise TransientDeliveryError or
        PermanentDeliveryError from bot.errors; `key` is the outbox idempotency key."""
        ...

    # Optional, found with getattr by the dispatcher:
    # - `reconcile(address, message, *, key) -> Receipt`: send an item that may have gone
    #   out before a crash without sending it twice (Slack: the key is in the metadata);
    # - `share_rate(senders: int) -> None`: that many dispatchers send at once; keep to that
    #   share of the platform's overall rate.


class EventHandler(Protocol):
    """What an adapter hands inbound events to (the engine)."""

    async def handle(
        self, event: Command | ButtonAction | FormSubmission | FirstContact
    ) -> list[Say | ShowForm | FormErrors]: ...

    def acks_first(self, event: Command | ButtonAction | FormSubmission | FirstContact) -> bool:
        """Answer the platform with `check`'s replies, then `handle_acked` the event."""
        ...

    async def check(self, event: FormSubmission) -> list[Say | ShowForm | FormErrors]: ...

    async def handle_acked(self, event: FormSubmission) -> list[Say | ShowForm | FormErrors]: ...

    async def send_later(self, actor: Actor, message: Message, *, key: str) -> bool:
        """Queue a reply that could not be delivered directly (through the outbox)."""
        ...


class ContactBook(Protocol):
    """Where an adapter keeps what its platform needs to message someone later (a Teams
    conversation reference), keyed by a person's id or a channel's conversation id."""

    async def find(self, platform: str, tenant: str, key: str) -> dict[str, Any] | None: ...

    async def remember(self, platform: str, tenant: str, key: str, address: dict[str, Any]) -> None:
        """Store or refresh; hearing from someone also means they are reachable again."""
        ...

    async def forget(self, platform: str, tenant: str, key: str) -> None: ...
