"""Bot Framework activities from Teams into neutral events. Pure functions.

A person is identified by their Entra object id (`from.aadObjectId`): stable, the id an
operator can look up in the Entra admin centre (for UPWARD_ADMINS=teams:<object id>), and
the same in every conversation. The Bot Framework id (`29:…`) stays inside the stored
conversation reference, which is all proactive messages need.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from adapters.teams.render import ACTION_KEY, FORM_KEY, many_valued
from bot.commands import parse_command_text
from bot.events import Actor, ButtonAction, Command, FirstContact, FormSubmission
from bot.messages import Form

PLATFORM = "teams"
_MENTION = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")


def tenant_of(activity: Any) -> str:
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = (channel_data.get("tenant") or {}).get("id")
    return str(tenant or getattr(activity.conversation, "tenant_id", None) or "")


def user_id_of(account: Any) -> str:
    return str(getattr(account, "aad_object_id", None) or account.id)


def actor(activity: Any) -> Actor:
    return Actor(
        platform=PLATFORM, tenant=tenant_of(activity), user_id=user_id_of(activity.from_property)
    )


def is_personal(activity: Any) -> bool:
    return (getattr(activity.conversation, "conversation_type", None) or "personal") == "personal"


def shared_conversation(activity: Any) -> str | None:
    """The channel (or group chat) a message was said in, without the thread suffix, so a
    digest posted there starts a new post; None in a 1:1 chat."""
    if is_personal(activity):
        return None
    return str(activity.conversation.id).split(";messageid=")[0]


def contact_key(activity: Any) -> str:
    """What a conversation reference is filed under: the person, or the shared conversation."""
    return shared_conversation(activity) or user_id_of(activity.from_property)


def event_id(activity: Any, prefix: str = "", *, item: str | None = None) -> str | None:
    """Activity ids are unique within a conversation only, and conversation ids are long:
    a short hash of the conversation plus the activity (or `item`) id."""
    item = item or activity.id
    if not item:
        return None
    conversation = hashlib.sha256(str(activity.conversation.id).encode()).hexdigest()[:16]
    return f"{prefix}{conversation}:{item}"


def command_text(activity: Any) -> str:
    """The text typed to the bot: @mentions and any HTML Teams added taken out."""
    text = _MENTION.sub(" ", activity.text or "")
    return _TAGS.sub(" ", text).replace("&nbsp;", " ").strip()


def _base(activity: Any) -> dict[str, Any]:
    timezone = getattr(activity, "local_timezone", None)
    return {
        "actor": actor(activity),
        "display_name": getattr(activity.from_property, "name", None) or None,
        "timezone": timezone or None,
    }


def command(activity: Any, *, email: str | None = None) -> Command:
    name, args = parse_command_text(command_text(activity))
    return Command(
        **_base(activity),
        email=email,
        event_id=event_id(activity),
        name=name,
        args=args,
        where=shared_conversation(activity),
    )


def is_submission(activity: Any) -> bool:
    return isinstance(activity.value, dict) and isinstance(activity.value.get(FORM_KEY), dict)


def is_button(activity: Any) -> bool:
    return isinstance(activity.value, dict) and isinstance(activity.value.get(ACTION_KEY), str)


def submitted_form(activity: Any) -> Form:
    return Form.model_validate(activity.value[FORM_KEY])


def submission(activity: Any, *, email: str | None = None) -> FormSubmission:
    """An Action.Submit of a form card: inputs keyed by field id, as strings; choice sets
    that allow several answers come comma-separated. One card is one submission: its
    message id (`replyToId`) identifies it, so a second click on the same card is a replay."""
    form = submitted_form(activity)
    lists = many_valued(form)
    values: dict[str, str | list[str]] = {}
    for field in form.fields:
        raw = activity.value.get(field.id, "")
        text = raw if isinstance(raw, str) else str(raw)
        values[field.id] = [v for v in text.split(",") if v] if field.id in lists else text
    return FormSubmission(
        **_base(activity),
        email=email,
        event_id=event_id(activity, "card:", item=activity.reply_to_id),
        form_id=form.form_id,
        values=values,
        state=form.state,
    )


def button(activity: Any, *, email: str | None = None) -> ButtonAction:
    return ButtonAction(
        **_base(activity),
        email=email,
        event_id=event_id(activity),
        action_id=activity.value[ACTION_KEY],
        value=str(activity.value.get("value") or ""),
    )


def first_contact(activity: Any) -> FirstContact:
    return FirstContact(**_base(activity), event_id=event_id(activity, "hello:"))


def bot_added(activity: Any) -> bool:
    """An install (`installationUpdate` add) or the bot joining a conversation."""
    if activity.type == "installationUpdate":
        return (activity.action or "add").startswith("add")
    added = activity.members_added or []
    return any(m.id == activity.recipient.id for m in added)


def bot_removed(activity: Any) -> bool:
    if activity.type == "installationUpdate":
        return (activity.action or "").startswith("remove")
    removed = activity.members_removed or []
    return any(m.id == activity.recipient.id for m in removed)
