"""Neutral messages and forms as Adaptive Cards (version 1.5, the most Teams renders).

A form is a card of inputs with one Action.Submit. Its `data` carries what the submission
needs (form id, state, field ids) and, when it is small enough, the form itself, so that a
submission with field errors can be shown again as it was filled in, with a message under
each field. The engine re-validates everything it receives either way.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.messages import Actions, Divider, Fields, Form, FormField, Heading, Message, Text

CARD_VERSION = "1.5"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
FORM_KEY = "upward_form"
CARD_KEY = "upward_card"  # the whole form, for showing it again with errors
CARD_KEY_LIMIT = 6_000  # Teams refuses messages over about 28 KB; the form doubles a card
ACTION_KEY = "upward_action"
STATE_KEY = "upward_state"
CHOICES_MAX = 100
_COMMAND = re.compile(r"\*{0,2}`/mentoring ([^`]*)`\*{0,2}")
_BOLD = re.compile(r"(?<![\w*])\*(\S(?:[^*\n]*\S)?)\*(?![\w*])")
_CODE = re.compile(r"`([^`\n]+)`")


def card(body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {
        "$schema": SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }
    if actions:
        content["actions"] = actions
    return content


def markdown(text: str) -> str:
    """Our copy is written once, Slack-flavoured: `*bold*`, and commands as `/mentoring x`.
    On Teams, commands are typed to the bot, so `join` reads right; TextBlock markdown has
    `**bold**` and no inline code."""
    text = _BOLD.sub(r"**\1**", text)
    text = _COMMAND.sub(lambda m: f"**{m.group(1)}**", text)
    return _CODE.sub(r"\1", text)


def render_message(message: Message, *, context: str = "") -> dict[str, Any]:
    """A message as one card; `context` is a first line such as who the pair is."""
    body: list[dict[str, Any]] = []
    if context:
        body.append(_text(context, subtle=True))
    separate = False
    for block in message.blocks or (Text(text=message.summary),):
        if isinstance(block, Divider):
            separate = True
            continue
        element = _block(block)
        if separate and element:
            element["separator"] = True
            separate = False
        if element:
            body.append(element)
    return card(body)


def _block(block: Heading | Text | Fields | Actions) -> dict[str, Any]:
    if isinstance(block, Heading):
        return {
            "type": "TextBlock",
            "text": markdown(block.text),
            "size": "Medium",
            "weight": "Bolder",
            "wrap": True,
        }
    if isinstance(block, Text):
        return _text(block.text)
    if isinstance(block, Fields):
        facts = [{"title": label, "value": markdown(value)} for label, value in block.items]
        return {"type": "FactSet", "facts": facts}
    return {"type": "ActionSet", "actions": [_button(b) for b in block.buttons]}


def _text(text: str, *, subtle: bool = False, color: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "TextBlock", "text": markdown(text), "wrap": True}
    if subtle:
        element["isSubtle"] = True
    if color:
        element["color"] = color
    return element


def _button(button: Any) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": "Action.Submit",
        "title": button.label,
        "data": {ACTION_KEY: button.action_id, "value": button.value},
    }
    if button.style == "primary":
        action["style"] = "positive"
    elif button.style == "danger":
        action["style"] = "destructive"
    return action


# --- forms ------------------------------------------------------------------------------


def render_form(
    form: Form,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str | list[str]] | None = None,
) -> dict[str, Any]:
    """The form as a card; with `errors` (and what was typed) when it is shown again."""
    errors, values = errors or {}, values or {}
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": form.title, "size": "Large", "weight": "Bolder", "wrap": True}
    ]
    if form.intro:
        body.append(_text(form.intro))
    if errors:
        body.append(_text("Please check the fields marked below.", color="Attention"))
    for field in form.fields:
        body.append(_input(field, values.get(field.id, _initial(field))))
        if field.hint:
            body.append(_text(field.hint, subtle=True))
        if field.id in errors:
            body.append(_text(errors[field.id], color="Attention"))
    data: dict[str, Any] = {
        FORM_KEY: {
            "id": form.form_id,
            "title": form.title,
            "state": form.state,
            "fields": [f.id for f in form.fields],
            "lists": sorted(many_valued(form)),
        }
    }
    whole = form.model_dump(mode="json")
    if len(json.dumps(whole)) <= CARD_KEY_LIMIT:
        data[CARD_KEY] = whole
    submit = {
        "type": "Action.Submit",
        "title": form.submit_label,
        "style": "positive",
        "data": data,
    }
    return card(body, [submit])


def _initial(field: FormField) -> str | list[str]:
    if field.initial is None:
        return ""
    return list(field.initial) if isinstance(field.initial, tuple) else field.initial


def _input(field: FormField, value: str | list[str]) -> dict[str, Any]:
    element: dict[str, Any] = {"id": field.id, "label": field.label, "isRequired": field.required}
    if field.required:
        element["errorMessage"] = "Required"
    joined = ",".join(value) if isinstance(value, list) else value
    kind = field.type
    choices = [{"title": o.label, "value": o.value} for o in field.options][:CHOICES_MAX]
    if kind in ("text", "long_text"):
        element |= {"type": "Input.Text", "isMultiline": kind == "long_text"}
        if field.max_length:
            element["maxLength"] = field.max_length
    elif kind == "number":
        element["type"] = "Input.Number"
        number = _number(joined)
        joined = ""  # the schema wants a number, and clients ignore a string
        if number is not None:
            element["value"] = number
    elif kind == "date":
        element["type"] = "Input.Date"
    elif kind == "checkbox" and len(field.options) <= 1:
        option = field.options[0].value if field.options else "yes"
        title = field.options[0].label if field.options else field.label
        # A toggle has no "required" that means "must be on": the engine checks that.
        element |= {
            "type": "Input.Toggle",
            "title": title,
            "valueOn": option,
            "valueOff": "",
            "isRequired": False,
        }
        element.pop("errorMessage", None)
    else:
        element |= {
            "type": "Input.ChoiceSet",
            "choices": choices,
            "isMultiSelect": kind in ("multi_select", "checkbox"),
            "style": "expanded" if kind == "checkbox" else "compact",
        }
    if joined:
        element["value"] = joined
    return element


def _number(text: str) -> int | float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else value


def many_valued(form: Form) -> set[str]:
    """Fields whose Adaptive Card value is a comma-separated list of choices."""
    return {f.id for f in form.fields if f.type in ("multi_select", "checkbox")}


def errors_card(errors: dict[str, str]) -> dict[str, Any]:
    """When the form is too big to carry itself: what to fix, above the card still open."""
    lines = "\n".join(f"- {message}" for message in errors.values())
    return card(
        [_text("Please check the form above and send it again:", color="Attention"), _text(lines)]
    )
