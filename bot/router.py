"""One explicit table from commands, buttons and forms to flow handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.errors import DuplicateRouteError
from bot.events import ButtonAction, Command, FormSubmission
from bot.messages import FormErrors, Say, ShowForm

Replies = Say | ShowForm | FormErrors | list[Say | ShowForm | FormErrors]
Handler = Callable[[Any, Any], Awaitable[Replies]]
Check = Callable[[Any, Any], Awaitable[Replies | None]]


@dataclass(frozen=True)
class Route:
    name: str
    handler: Handler
    admin: bool = False
    summary: str = ""
    # A form's read-only early answer (see `Router.form`); None: answered in one step.
    check: Check | None = None
    # Only reads and answers (opens a form, lists something): handled in a read session,
    # which on SQLite doesn't wait for the write lock (the tick, the dispatcher).
    reads_only: bool = False


class Router:
    def __init__(self) -> None:
        self.commands: dict[str, Route] = {}
        self.admin_commands: dict[str, Route] = {}
        self.buttons: dict[str, Route] = {}
        self.forms: dict[str, Route] = {}

    def command(
        self, name: str, handler: Handler, summary: str = "", *, reads_only: bool = False
    ) -> None:
        self._add(self.commands, name, Route(name, handler, summary=summary, reads_only=reads_only))

    def admin(self, name: str, handler: Handler, summary: str = "") -> None:
        self._add(self.admin_commands, name, Route(f"admin {name}", handler, True, summary))

    def button(
        self, action_id: str, handler: Handler, *, admin: bool = False, reads_only: bool = False
    ) -> None:
        """`reads_only`: the handler stores nothing (never for admin buttons: they are
        audited)."""
        if reads_only and admin:
            raise ValueError("admin actions are audited: they write")
        self._add(self.buttons, action_id, Route(action_id, handler, admin, reads_only=reads_only))

    def form(
        self,
        form_id: str,
        handler: Handler,
        *,
        admin: bool = False,
        check: Check | None = None,
    ) -> None:
        """`check` (optional): a read-only look at a submission that answers field errors
        or a final word, or None when the form may be accepted at once; `handler` then
        stores it just after the platform has its answer. An admin form is checked only
        for admins; it is audited (refusals too) as it is handled."""
        self._add(self.forms, form_id, Route(form_id, handler, admin, check=check))

    def resolve(self, event: Command | ButtonAction | FormSubmission) -> tuple[Route | None, Any]:
        """The route and the event to hand it (admin commands lose their `admin` word)."""
        if isinstance(event, Command):
            if event.name == "admin" and event.args:
                sub = event.args[0].lower()
                rest = event.model_copy(update={"name": f"admin {sub}", "args": event.args[1:]})
                return self.admin_commands.get(sub), rest
            return self.commands.get(event.name), event
        if isinstance(event, ButtonAction):
            return self.buttons.get(event.action_id), event
        return self.forms.get(event.form_id), event

    @staticmethod
    def _add(table: dict[str, Route], key: str, route: Route) -> None:
        if key in table:
            raise DuplicateRouteError(f"{route.name!r} is registered twice")
        table[key] = route
