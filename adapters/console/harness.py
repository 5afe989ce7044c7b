"""Drive the engine as named people: used by `upward shell`, the demo and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.console.adapter import ConsoleAdapter
from adapters.console.parse import PLATFORM, ConsoleLine, to_command
from bot.events import Actor, ButtonAction, Command, FormSubmission
from bot.messages import Form, FormErrors, Say, ShowForm
from bot.ports import EventHandler


@dataclass
class ConsoleSession:
    engine: EventHandler
    adapter: ConsoleAdapter
    tenant: str = "demo"
    open_forms: dict[str, Form] = field(default_factory=dict)
    last_errors: dict[str, dict[str, str]] = field(default_factory=dict)

    def actor(self, user: str) -> Actor:
        return Actor(platform=PLATFORM, tenant=self.tenant, user_id=user)

    async def say(self, user: str, text: str) -> list[Say | ShowForm | FormErrors]:
        """`await session.say("alice", "/mentoring join")`."""
        return await self._handle(user, to_command(ConsoleLine(user, text), self.tenant))

    async def submit(
        self, user: str, values: dict[str, str | list[str]]
    ) -> list[Say | ShowForm | FormErrors]:
        form = self.open_forms.get(user)
        if form is None:
            raise LookupError(f"@{user} has no open form")
        event = FormSubmission(
            actor=self.actor(user),
            display_name=user.capitalize(),
            form_id=form.form_id,
            values=values,
            state=form.state,
        )
        return await self._handle(user, event)

    async def press(
        self, user: str, label_or_number: str | int
    ) -> list[Say | ShowForm | FormErrors]:
        buttons = self.adapter.buttons.get(user, ())
        if isinstance(label_or_number, int):
            if not 1 <= label_or_number <= len(buttons):
                raise LookupError(f"@{user} has no button {label_or_number}")
            button = buttons[label_or_number - 1]
        else:
            matching = [b for b in buttons if b.label == label_or_number]
            if not matching:
                raise LookupError(f"@{user} has no button {label_or_number!r}")
            button = matching[0]
        event = ButtonAction(
            actor=self.actor(user),
            display_name=user.capitalize(),
            action_id=button.action_id,
            value=button.value,
        )
        return await self._handle(user, event)

    async def _handle(
        self, user: str, event: Command | ButtonAction | FormSubmission
    ) -> list[Say | ShowForm | FormErrors]:
        replies = await self.engine.handle(event)
        for reply in replies:
            if isinstance(reply, ShowForm):
                self.open_forms[user] = reply.form
            elif isinstance(reply, FormErrors):
                self.last_errors[user] = reply.errors
            elif isinstance(reply, Say):
                if isinstance(event, FormSubmission):
                    self.open_forms.pop(user, None)
                self.adapter.show_reply(user, reply.message)
        return replies
