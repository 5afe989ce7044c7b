"""The shape of what Upward reads from a Teams activity, checked once its token is valid.

Typed models of the fields the bot reads (everything else is ignored). A valid token does
not make a well-formed activity: a buggy client or replay tool can still send
`"conversation": null`. Such an activity gets a 400 and one log line naming the kind of
problem, never its content. Pure: no I/O.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.limits import TooDeep, check_depth

Id = Annotated[str, Field(min_length=1, max_length=1000)]
Short = Annotated[str, Field(max_length=1000)]
# Teams caps a message at about 28 KB; Upward reads commands (MAX_COMMAND_TEXT) and cards.
Text = Annotated[str, Field(max_length=100_000)]


class _Shape(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, populate_by_name=True)


class Account(_Shape):
    id: Id
    name: Short | None = None
    aad_object_id: Short | None = Field(default=None, alias="aadObjectId")


class Conversation(_Shape):
    id: Id
    conversation_type: Short | None = Field(default=None, alias="conversationType")
    tenant_id: Short | None = Field(default=None, alias="tenantId")


class Tenant(_Shape):
    id: Short | None = None


class ChannelData(_Shape):
    tenant: Tenant | None = None


class TeamsActivity(_Shape):
    """Every activity Upward acts on comes from someone, in a conversation, to the bot."""

    type: Id
    id: Short | None = None
    channel_id: Short | None = Field(default=None, alias="channelId")
    service_url: Short | None = Field(default=None, alias="serviceUrl")
    from_property: Account = Field(alias="from")
    conversation: Conversation
    recipient: Account
    text: Text | None = None
    value: Any = None
    reply_to_id: Short | None = Field(default=None, alias="replyToId")
    action: Short | None = None
    local_timezone: Short | None = Field(default=None, alias="localTimezone")
    members_added: list[Account] | None = Field(default=None, alias="membersAdded")
    members_removed: list[Account] | None = Field(default=None, alias="membersRemoved")
    channel_data: ChannelData | None = Field(default=None, alias="channelData")


def problem(body: dict[str, Any]) -> str | None:
    """None when Upward can read the activity; otherwise the kind of problem (a pydantic
    error type such as `missing` or `string_type`, with the field it is about)."""
    try:
        check_depth(body)
    except TooDeep:
        return "too_deep"
    try:
        TeamsActivity.model_validate(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        if not errors:
            return "invalid"
        where = str(errors[0]["loc"][0]) if errors[0]["loc"] else "activity"
        return f"{errors[0]['type']} at {where if where in FIELDS else 'activity'}"
    return None


FIELDS = frozenset(f.alias or name for name, f in TeamsActivity.model_fields.items())
