"""Neutral messages and forms as plain text."""

from __future__ import annotations

from bot.messages import Actions, Divider, Fields, Form, FormField, Heading, Message, Text


def render_message(message: Message) -> str:
    lines: list[str] = []
    number = 0
    for block in message.blocks or (Text(text=message.summary),):
        if isinstance(block, Heading):
            lines.append(f"== {block.text} ==")
        elif isinstance(block, Text):
            lines.append(block.text)
        elif isinstance(block, Fields):
            width = max((len(label) for label, _ in block.items), default=0)
            lines.extend(f"  {label.ljust(width)}  {value}" for label, value in block.items)
        elif isinstance(block, Actions):
            for button in block.buttons:
                number += 1
                lines.append(f"  [{number}] {button.label}")
        elif isinstance(block, Divider):
            lines.append("-" * 40)
    return "\n".join(lines)


def render_field_prompt(field: FormField) -> str:
    parts = [f"{field.label}{'' if field.required else ' (optional)'}"]
    if field.hint:
        parts.append(f"  ({field.hint})")
    if field.type in ("select", "multi_select"):
        many = "several, comma-separated numbers" if field.type == "multi_select" else "one number"
        parts.append(f"  choose {many}:")
        parts.extend(f"    {i}. {option.label}" for i, option in enumerate(field.options, 1))
    if field.type == "checkbox":
        parts.append("  (yes/no)")
    if field.initial:
        parts.append(f"  [default: {field.initial}]")
    return "\n".join(parts)


def render_form_intro(form: Form) -> str:
    return "\n".join(line for line in (f"== {form.title} ==", form.intro) if line)
