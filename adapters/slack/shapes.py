"""The shape of what Upward reads from Slack, checked before anything reads it.

Typed models of the fields the listeners use, nothing more (everything else is ignored).
A signed payload of the wrong shape (a buggy client, a proxy, a replay tool, someone
holding the signing secret) is refused at the edge with one log line naming the kind of
problem, never its content. Pure: no I/O.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.limits import TooDeep, check_depth

# Slack's own limits: slash-command text is capped at 4,000 characters, private_metadata
# at 3,000; ids are short. Anything longer was not sent by Slack.
MAX_METADATA = 3000
COMMAND = "/mentoring"  # the one slash command (manifest.yaml)
Id = Annotated[str, Field(min_length=1, max_length=255)]
Short = Annotated[str, Field(max_length=255)]


class _Shape(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class User(_Shape):
    id: Id
    name: Short | None = None
    username: Short | None = None
    team_id: Short | None = None


class Team(_Shape):
    id: Short = ""


class SlashCommand(_Shape):
    command: Short
    user_id: Id
    text: str = ""  # its length is the listener's to answer kindly (see MAX_COMMAND_TEXT)
    user_name: Short | None = None
    team_id: Short = ""
    channel_id: Short = ""
    trigger_id: Short = ""
    response_url: Annotated[str, Field(max_length=2000)] = ""

    @property
    def tenant(self) -> str:
        return self.team_id


class Action(_Shape):
    action_id: Id
    value: Annotated[str, Field(max_length=2000)] | None = None


class ActionView(_Shape):
    type: Short = ""


class BlockActions(_Shape):
    type: Literal["block_actions"]
    user: User
    actions: Annotated[list[Action], Field(max_length=25)] = []
    trigger_id: Short | None = None
    team: Team | None = None
    view: ActionView | None = None

    @property
    def tenant(self) -> str:
        return (self.team.id if self.team else "") or self.user.team_id or ""


class ViewState(_Shape):
    # block id -> action id -> element state
    values: dict[Short, dict[Short, dict[str, Any]]] = {}


class View(_Shape):
    id: Short | None = None
    type: Short = "modal"
    callback_id: Short = ""
    private_metadata: Annotated[str, Field(max_length=MAX_METADATA)] = ""
    state: ViewState = ViewState()


class ViewSubmission(_Shape):
    type: Literal["view_submission"]
    user: User
    view: View
    team: Team | None = None

    @property
    def tenant(self) -> str:
        return (self.team.id if self.team else "") or self.user.team_id or ""


class HomeOpened(_Shape):
    type: Literal["app_home_opened"]
    user: Id
    channel: Short = ""
    tab: Short = "home"


class EventEnvelope(_Shape):
    type: Literal["event_callback"]
    event: dict[str, Any]
    event_id: Short | None = None
    team_id: Short | None = None

    @property
    def tenant(self) -> str:
        return self.team_id or ""

    def home_opened(self) -> HomeOpened:
        return HomeOpened.model_validate(self.event)  # checked already by `check`


class Malformed(ValueError):
    """A payload Upward can't read. `kind` names the payload, `problem` the kind of problem
    (e.g. `string_type`), never the content."""

    def __init__(self, kind: str, problem: str) -> None:
        super().__init__(f"{kind}: {problem}")
        self.kind, self.problem = kind, problem


class Unhandled(ValueError):
    """A well-formed payload of a kind Upward doesn't answer (another event type…)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


EVENTS: dict[str, type[_Shape]] = {"app_home_opened": HomeOpened}
# Kinds Slack may send that Upward doesn't answer, named in the log as they are.
OTHER_KINDS = frozenset(
    {"shortcut", "message_action", "block_suggestion", "view_closed", "interactive_message"}
)


Shape = SlashCommand | BlockActions | ViewSubmission | EventEnvelope


def check(body: Any) -> Shape:
    """The checked shape of a payload bolt has parsed (slash command, block_actions,
    view_submission, event_callback); raises Malformed or Unhandled."""
    if not isinstance(body, dict):
        raise Malformed("payload", "not_an_object")
    try:
        check_depth(body)
    except TooDeep:
        raise Malformed("payload", "too_deep") from None
    if "command" in body:
        command = _parse(SlashCommand, body, "slash command")
        if command.command != COMMAND:  # type: ignore[attr-defined]
            raise Unhandled("slash command")
        return command
    kind = body.get("type")
    if kind == "block_actions":
        return _parse(BlockActions, body, kind)
    if kind == "view_submission":
        return _parse(ViewSubmission, body, kind)
    if kind == "event_callback":
        envelope = _parse(EventEnvelope, body, "event envelope")
        event_type = envelope.event.get("type")  # type: ignore[attr-defined]
        model = EVENTS.get(event_type) if isinstance(event_type, str) else None
        if model is None:
            raise Unhandled("event")
        _parse(model, envelope.event, str(event_type))  # type: ignore[attr-defined]
        return envelope
    raise Unhandled(kind if isinstance(kind, str) and kind in OTHER_KINDS else "payload")


def _parse(model: type[Any], data: dict[str, Any], kind: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise Malformed(kind, str(errors[0]["type"]) if errors else "invalid") from None
