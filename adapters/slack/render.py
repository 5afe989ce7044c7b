"""Neutral messages and forms as Slack Block Kit, and modal submissions back again.

Pure functions. Every payload is built from `slack_sdk` model objects, whose `to_dict()`
checks Block Kit's limits; content that would break a limit is split (long text, many
fields, many buttons, many blocks) or, for short labels, truncated with "…".

All text that comes from a message or form is escaped (`&`, `<`, `>`), so a goal that says
`<!channel>` stays words. Our own copy keeps its mrkdwn (`*bold*`, backticks).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
)
from slack_sdk.models.blocks import Option as SlackOption
from slack_sdk.models.blocks.block_elements import InputInteractiveElement
from slack_sdk.models.views import View

from bot.messages import (
    Actions,
    Button,
    Divider,
    Fields,
    Form,
    FormField,
    Heading,
    Message,
    Option,
    Text,
)

# Block Kit limits (docs.slack.dev/reference/block-kit; slack_sdk's validators agree).
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
BUTTON_TEXT = 75
ACTIONS_ELEMENTS = 25
FALLBACK_TEXT = 3000
VIEW_TITLE = 24
VIEW_BUTTON = 24
PRIVATE_METADATA = 3000
INPUT_LABEL = 2000
INPUT_HINT = 2000
INPUT_MAX_LENGTH = 3000
OPTION_TEXT = 75
SELECT_OPTIONS = 100
CHECKBOX_OPTIONS = 10
# Not stated in the reference notes or slack_sdk; a conservative cap so a message that
# sits under a field stays readable.
ERROR_TEXT = 150

ELLIPSIS = "…"
CONTINUED = "(continued) "
SUFFIX = "~"
_SUFFIXED = re.compile(r"~\d+\Z")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)\Z")


# --- text ----------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack's three control characters as entities; everything else is left alone."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _entity_safe(escaped: str, end: int) -> int:
    """`end`, moved back to the start of an entity (`&amp;`) it would cut in half."""
    start = escaped.rfind("&", max(0, end - 4), end)
    if start != -1 and ";" not in escaped[start:end]:
        return start
    return end


def _clip(escaped: str, limit: int) -> str:
    """Escaped text cut to `limit` characters, ending in "…" when cut."""
    if len(escaped) <= limit:
        return escaped
    return escaped[: _entity_safe(escaped, limit - len(ELLIPSIS))] + ELLIPSIS


def _label(text: str, limit: int) -> str:
    """Short plain text for a label; Slack refuses empty ones."""
    return _clip(escape(text.strip()), limit) or ELLIPSIS


def _last_space(text: str, end: int) -> int:
    for i in range(min(end, len(text) - 1), 0, -1):
        if text[i].isspace():
            return i
    return -1


def _split(escaped: str, limit: int) -> list[str]:
    """Chunks of at most `limit` characters, cut at a paragraph, else a line, else a word
    boundary; a word is cut only when it is longer than `limit` on its own (and never
    inside an entity). Whitespace at the cuts is dropped; no other character is."""
    chunks: list[str] = []
    rest = escaped.strip()
    while len(rest) > limit:
        cut = -1
        for separator in ("\n\n", "\n"):
            cut = rest.rfind(separator, 1, limit + len(separator))
            if cut > 0:
                break
        if cut <= 0:
            cut = _last_space(rest, limit)
        if cut <= 0:
            cut = _entity_safe(rest, limit) or limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks


def _sections(text: str) -> list[Block]:
    return [
        SectionBlock(text=MarkdownTextObject(text=chunk))
        for chunk in _split(escape(text), SECTION_TEXT)
    ]


# --- messages ------------------------------------------------------------------------------


def neutral_action_id(slack_action_id: str) -> str:
    """The neutral action id behind a Slack one: `goal.done~2` -> `goal.done`."""
    return _SUFFIXED.sub("", slack_action_id)


class _ActionIds:
    """Slack wants action ids unique within a message; repeats get `~2`, `~3`, …"""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def unique(self, action_id: str) -> str:
        candidate, n = action_id, 1
        while candidate in self.used:
            n += 1
            candidate = f"{action_id}{SUFFIX}{n}"
        self.used.add(candidate)
        return candidate


def _fields(block: Fields) -> list[Block]:
    texts = []
    for label, value in block.items:
        parts = [f"*{escape(label)}*" if label.strip() else "", escape(value)]
        text = "\n".join(p for p in parts if p)
        if text.strip():
            texts.append(_clip(text, FIELD_TEXT))
    return [
        SectionBlock(fields=[MarkdownTextObject(text=t) for t in group])
        for group in _chunked(texts, SECTION_FIELDS)
    ]


def _button(button: Button, action_ids: _ActionIds) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=_label(button.label, BUTTON_TEXT), emoji=True),
        action_id=action_ids.unique(button.action_id),
        value=button.value or None,
        style=None if button.style == "default" else button.style,
    )


def _actions(block: Actions, action_ids: _ActionIds) -> list[Block]:
    elements = [_button(b, action_ids) for b in block.buttons]
    return [ActionsBlock(elements=group) for group in _chunked(elements, ACTIONS_ELEMENTS)]


def _blocks(message: Message) -> list[Block]:
    action_ids = _ActionIds()
    out: list[Block] = []
    for block in message.blocks or (Text(text=message.summary),):
        if isinstance(block, Heading):
            if block.text.strip():
                text = _clip(escape(block.text.strip()), HEADER_TEXT)
                out.append(HeaderBlock(text=PlainTextObject(text=text, emoji=True)))
        elif isinstance(block, Text):
            out += _sections(block.text)
        elif isinstance(block, Fields):
            out += _fields(block)
        elif isinstance(block, Actions):
            out += _actions(block, action_ids)
        elif isinstance(block, Divider):
            out.append(DividerBlock())
    return out


def _pages(blocks: list[Block]) -> Iterator[list[Block]]:
    """At most 50 blocks each; a heading is not left alone at the bottom of a page."""
    rest = blocks
    while len(rest) > MESSAGE_BLOCKS:
        page = rest[:MESSAGE_BLOCKS]
        if isinstance(page[-1], HeaderBlock) and len(page) > 1:
            page = page[:-1]
        yield page
        rest = rest[len(page) :]
    yield rest


def _summary(message: Message) -> str:
    if message.summary.strip():
        return message.summary.strip()
    texts = (b.text for b in message.blocks if isinstance(b, Heading | Text))
    return next((t.strip() for t in texts if t.strip()), ELLIPSIS)


def render_message(message: Message) -> list[dict[str, Any]]:
    """One or more `chat.postMessage`-ready payloads: `{"text": fallback, "blocks": [...]}`,
    each within 50 blocks; later ones say "(continued)" in their fallback."""
    summary = _summary(message)
    blocks = _blocks(message) or _sections(summary)
    payloads = []
    for n, page in enumerate(_pages(blocks)):
        fallback = _clip(escape((CONTINUED if n else "") + summary), FALLBACK_TEXT)
        payloads.append({"text": fallback, "blocks": [b.to_dict() for b in page]})
    return payloads


# --- modals --------------------------------------------------------------------------------


def _option(option: Option) -> SlackOption:
    return SlackOption(
        value=option.value, text=PlainTextObject(text=_label(option.label, OPTION_TEXT))
    )


def _initials(field: FormField) -> tuple[str, ...]:
    if field.initial is None:
        return ()
    return (field.initial,) if isinstance(field.initial, str) else tuple(field.initial)


def _chosen(options: Sequence[SlackOption], initials: tuple[str, ...]) -> list[SlackOption]:
    return [o for o in options if o.value in initials]


def _is_date(text: str) -> bool:
    if not _ISO_DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _element(field: FormField) -> InputInteractiveElement:
    initials = _initials(field)
    initial = initials[0] if initials else None
    options = [_option(o) for o in field.options]
    if field.type in ("text", "long_text"):
        return PlainTextInputElement(
            action_id=field.id,
            multiline=field.type == "long_text" or None,
            initial_value=initial or None,
            max_length=None
            if field.max_length is None
            else min(field.max_length, INPUT_MAX_LENGTH),
        )
    if field.type == "number":
        numeric = initial is not None and _NUMBER.match(initial.strip()) is not None
        return NumberInputElement(
            action_id=field.id,
            is_decimal_allowed=True,
            initial_value=initial.strip() if numeric and initial is not None else None,
        )
    if field.type == "date":
        return DatePickerElement(
            action_id=field.id,
            initial_date=initial if initial is not None and _is_date(initial) else None,
        )
    if field.type == "select":
        options = options[:SELECT_OPTIONS]
        chosen = _chosen(options, initials[:1])
        return StaticSelectElement(
            action_id=field.id, options=options, initial_option=chosen[0] if chosen else None
        )
    if field.type == "multi_select":
        options = options[:SELECT_OPTIONS]
        return StaticMultiSelectElement(
            action_id=field.id, options=options, initial_options=_chosen(options, initials) or None
        )
    # checkbox: the field's options, or one box ("yes") labelled like the field
    options = (options or [_option(Option(value="yes", label=field.label))])[:CHECKBOX_OPTIONS]
    return CheckboxesElement(
        action_id=field.id, options=options, initial_options=_chosen(options, initials) or None
    )


def _input(field: FormField) -> InputBlock:
    return InputBlock(
        block_id=field.id,
        label=PlainTextObject(text=_label(field.label, INPUT_LABEL), emoji=True),
        element=_element(field),
        hint=PlainTextObject(text=_label(field.hint, INPUT_HINT)) if field.hint.strip() else None,
        optional=not field.required,
    )


def _metadata(form: Form) -> str:
    metadata = json.dumps(
        {"form_id": form.form_id, "state": form.state}, ensure_ascii=False, separators=(",", ":")
    )
    if len(metadata) > PRIVATE_METADATA:
        # State is ours and cannot be cut without corrupting it: a programming error.
        raise ValueError(
            f"form {form.form_id!r}: state is {len(metadata)} characters as private_metadata; "
            f"Slack allows {PRIVATE_METADATA}"
        )
    return metadata


def render_modal(form: Form) -> dict[str, Any]:
    """A `views.open`-ready modal. `callback_id` is the form id; `private_metadata`
    carries the form id and state back with the submission (see `form_metadata`)."""
    inputs: list[Block] = [_input(f) for f in form.fields]
    intro = _sections(form.intro) if form.intro.strip() else []
    room = max(VIEW_BLOCKS - len(inputs), 0)
    view = View(
        type="modal",
        callback_id=form.form_id,
        private_metadata=_metadata(form),
        title=PlainTextObject(text=_label(form.title, VIEW_TITLE), emoji=True),
        submit=PlainTextObject(text=_label(form.submit_label, VIEW_BUTTON), emoji=True),
        close=PlainTextObject(text="Cancel", emoji=True),
        blocks=intro[:room] + inputs,
    )
    return view.to_dict()


# --- submissions ---------------------------------------------------------------------------


def _selected(options: Any) -> list[str]:
    if not isinstance(options, list):
        return []
    return [str(o["value"]) for o in options if isinstance(o, dict) and "value" in o]


def _element_value(state: dict[str, Any]) -> str | list[str] | None:
    kind = state.get("type")
    if kind in ("multi_static_select", "checkboxes") or "selected_options" in state:
        return _selected(state.get("selected_options"))
    if kind in ("static_select", "radio_buttons") or "selected_option" in state:
        option = state.get("selected_option")
        return str(option.get("value", "")) if isinstance(option, dict) else ""
    if kind == "datepicker" or "selected_date" in state:
        return state.get("selected_date") or ""
    if kind in ("plain_text_input", "number_input") or "value" in state:
        return state.get("value") or ""
    return None


def form_values(view_state_values: dict[str, Any]) -> dict[str, str | list[str]]:
    """`view.state.values` (block id -> action id -> element state) as neutral values
    keyed by field id: text, number, select and date as a string ("" when unanswered),
    multi-select and checkboxes as a list of option values."""
    values: dict[str, str | list[str]] = {}
    if not isinstance(view_state_values, dict):
        return values
    for block_id, actions in view_state_values.items():
        if not isinstance(actions, dict):
            continue
        for state in actions.values():
            value = _element_value(state) if isinstance(state, dict) else None
            if value is not None:
                values[block_id] = value
    return values


def form_metadata(private_metadata: str) -> tuple[str, dict[str, str]]:
    """(form id, state) from a modal's `private_metadata`; ("", {}) for anything else."""
    if not isinstance(private_metadata, str) or len(private_metadata) > PRIVATE_METADATA:
        return "", {}
    try:
        data = json.loads(private_metadata)
    except (TypeError, ValueError, RecursionError):  # junk, or nested absurdly deep
        return "", {}
    if not isinstance(data, dict) or not isinstance(data.get("form_id"), str):
        return "", {}
    state = data.get("state")
    if not isinstance(state, dict):
        return data["form_id"], {}
    return data["form_id"], {k: v for k, v in state.items() if isinstance(v, str)}


def errors_response(errors: dict[str, str]) -> dict[str, Any]:
    """The `view_submission` ack that keeps the modal open with a message under each field
    (keyed by block id, which is the field id)."""
    return {
        "response_action": "errors",
        "errors": {field_id: _error(message) for field_id, message in errors.items()},
    }


def _error(message: str) -> str:
    text = " ".join(message.split()) or "Please check this."
    return text if len(text) <= ERROR_TEXT else text[: ERROR_TEXT - 1] + ELLIPSIS


def _chunked(items: Sequence[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
