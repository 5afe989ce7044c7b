"""Outbound content and addresses in a platform-neutral shape.

A message is a short list of blocks that every adapter can render: Block Kit on Slack,
an Adaptive Card on Teams, plain text on the console.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from bot.events import Actor


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- content -------------------------------------------------------------------------


class Heading(Frozen):
    kind: Literal["heading"] = "heading"
    text: str


class Text(Frozen):
    kind: Literal["text"] = "text"
    text: str


class Fields(Frozen):
    """Label/value pairs, e.g. a digest's figures."""

    kind: Literal["fields"] = "fields"
    items: tuple[tuple[str, str], ...]


class Button(Frozen):
    action_id: str
    label: str
    value: str = ""
    style: Literal["default", "primary", "danger"] = "default"


class Actions(Frozen):
    kind: Literal["actions"] = "actions"
    buttons: tuple[Button, ...]


class Divider(Frozen):
    kind: Literal["divider"] = "divider"


Block = Annotated[Heading | Text | Fields | Actions | Divider, Field(discriminator="kind")]


class Message(Frozen):
    """`summary` is the plain-text fallback (notifications, screen readers, the console)."""

    summary: str
    blocks: tuple[Block, ...] = ()

    @property
    def buttons(self) -> tuple[Button, ...]:
        return tuple(
            b for block in self.blocks if isinstance(block, Actions) for b in block.buttons
        )


class Option(Frozen):
    value: str
    label: str


class FormField(Frozen):
    id: str
    label: str
    type: Literal["text", "long_text", "select", "multi_select", "checkbox", "date", "number"] = (
        "text"
    )
    required: bool = True
    options: tuple[Option, ...] = ()
    hint: str = ""
    initial: str | tuple[str, ...] | None = None
    max_length: int | None = None


class Form(Frozen):
    """A modal on Slack, an input card on Teams, questions asked one by one on the console.
    `state` travels with the form and comes back with the submission."""

    form_id: str
    title: str
    intro: str = ""
    fields: tuple[FormField, ...]
    submit_label: str = "Submit"
    state: dict[str, str] = Field(default_factory=dict)


# --- replies to a person's own action -------------------------------------------------


class Say(Frozen):
    kind: Literal["say"] = "say"
    message: Message
    private: bool = True


class ShowForm(Frozen):
    kind: Literal["form"] = "form"
    form: Form


class FormErrors(Frozen):
    """Field id -> what is wrong; the form stays open and nothing is stored."""

    kind: Literal["errors"] = "errors"
    errors: dict[str, str]


Reply = Annotated[Say | ShowForm | FormErrors, Field(discriminator="kind")]


# --- addresses for messages the bot starts ----------------------------------------------


class ToPerson(Frozen):
    kind: Literal["person"] = "person"
    person: Actor


class ToPair(Frozen):
    """Both partners; the adapter decides whether that is one group DM or two 1:1s.
    `names` lets a 1:1 rendering say who the other partner is."""

    kind: Literal["pair"] = "pair"
    pair_id: int
    members: tuple[Actor, Actor]
    names: tuple[str, str] = ("", "")
    # On platforms without group DMs, each partner's copy is its own outbox item: `only`
    # is the member (0 or 1) this copy goes to.
    only: int | None = None


class ToGroup(Frozen):
    """A few people who are not a pair (a mentor circle): one group DM where the platform
    has them, else one copy each (`only`, as for pairs), naming the others."""

    kind: Literal["group"] = "group"
    group: str
    members: tuple[Actor, ...] = Field(min_length=2, max_length=8)
    names: tuple[str, ...] = ()
    only: int | None = None


class ToChannel(Frozen):
    kind: Literal["channel"] = "channel"
    platform: str
    tenant: str
    channel_id: str


Address = Annotated[ToPerson | ToPair | ToGroup | ToChannel, Field(discriminator="kind")]

ADDRESS: TypeAdapter[ToPerson | ToPair | ToGroup | ToChannel] = TypeAdapter(Address)


def platform_of(address: ToPerson | ToPair | ToGroup | ToChannel) -> str:
    if isinstance(address, ToPerson):
        return address.person.platform
    if isinstance(address, ToPair | ToGroup):
        return address.members[0].platform
    return address.platform


def say(summary: str, *blocks: Block, private: bool = True) -> Say:
    """The common reply: a message whose first text block is the summary itself."""
    body = blocks or (Text(text=summary),)
    return Say(message=Message(summary=summary, blocks=body), private=private)
