"""Inbound events in a platform-neutral shape.

Adapters translate platform payloads into these; flows only ever see these. `raw` keeps
platform leftovers for debugging and is never read by a flow.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Actor(Frozen):
    """Who did something: a person is only ever identified within a platform and tenant."""

    platform: str
    tenant: str
    user_id: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.tenant}:{self.user_id}"


class BaseEvent(Frozen):
    actor: Actor
    display_name: str | None = None
    timezone: str | None = None  # the platform's idea of the person's time zone, if it has one
    email: str | None = None  # from the platform's profile: links an email-keyed roster row
    event_id: str | None = None
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)


class Command(BaseEvent):
    """`/mentoring join` on Slack, `join` typed to Teams, `@alice join` on the console."""

    kind: Literal["command"] = "command"
    name: str
    args: tuple[str, ...] = ()
    # The shared channel the command was said in (None in a direct message): lets an admin
    # say `admin channel here` where digests should go.
    where: str | None = None


class ButtonAction(BaseEvent):
    kind: Literal["button"] = "button"
    action_id: str
    value: str = ""


class FormSubmission(BaseEvent):
    kind: Literal["form"] = "form"
    form_id: str
    values: dict[str, str | list[str]] = Field(default_factory=dict)
    state: dict[str, str] = Field(default_factory=dict)


class FirstContact(BaseEvent):
    """The bot was installed for, or first heard from, a person; `address` is what a
    platform needs to message them later (e.g. a Teams conversation reference)."""

    kind: Literal["first_contact"] = "first_contact"
    address: dict[str, Any] = Field(default_factory=dict)


Event = Annotated[
    Command | ButtonAction | FormSubmission | FirstContact, Field(discriminator="kind")
]
