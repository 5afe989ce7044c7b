"""Delivery to the terminal: what each person, pair and channel would see."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.console.render import render_message
from bot.messages import Button, Message, ToChannel, ToGroup, ToPair, ToPerson
from bot.ports import Capabilities, Receipt


@dataclass
class Delivered:
    """One message as a recipient saw it; `to` is a user id or `#channel`."""

    to: str
    where: str
    message: Message


@dataclass
class ConsoleAdapter:
    tenant: str = "demo"
    echo: Callable[[str], None] | None = print
    platform: str = "console"
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(group_dm=True))
    delivered: list[Delivered] = field(default_factory=list)
    buttons: dict[str, tuple[Button, ...]] = field(default_factory=dict)

    async def deliver(
        self, address: ToPerson | ToPair | ToGroup | ToChannel, message: Message, *, key: str
    ) -> Receipt:
        if isinstance(address, ToPerson):
            self._show([address.person.user_id], f"DM to @{address.person.user_id}", message)
        elif isinstance(address, ToPair | ToGroup):
            users = [m.user_id for m in address.members]
            self._show(users, "group DM: " + " + ".join(f"@{u}" for u in users), message)
        else:
            self._show([f"#{address.channel_id}"], f"#{address.channel_id}", message)
        return Receipt(platform_id=str(len(self.delivered)))

    def show_reply(self, user: str, message: Message) -> None:
        self._show([user], f"to @{user} (only you)", message, record=False)

    def _show(self, users: list[str], where: str, message: Message, *, record: bool = True) -> None:
        for user in users:
            if record:
                self.delivered.append(Delivered(to=user, where=where, message=message))
            if message.buttons:
                self.buttons[user] = message.buttons
        if self.echo:
            body = "\n".join("  │ " + line for line in render_message(message).splitlines())
            self.echo(f"  ┌─ {where}\n{body}\n")

    def seen_by(self, user: str) -> list[Delivered]:
        return [d for d in self.delivered if d.to == user]
