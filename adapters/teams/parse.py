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

from adapters.teams.render import ACTION_KEY, CARD_KEY, FORM_KEY
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
    """A 1:1 chat with the bot. When Teams doesn't say, decide by the id (1:1 chats are
    `a:…`) and otherwise assume a shared conversation: privacy errs on the safe side."""
    kind = getattr(activity.conversation, "conversation_type", None)
    if kind:
        return kind == "personal"
    return str(activity.conversation.id).startswith("a:")


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


def submitted_form(activity: Any) -> Form | None:
    """The form itself, if the card carried it (small forms do)."""
    try:
        return Form.model_validate(activity.value[CARD_KEY])
    except (KeyError, ValueError, TypeError):
        return None


def is_button(activity: Any) -> bool:
    return isinstance(activity.value, dict) and isinstance(activity.value.get(ACTION_KEY), str)


def submission(activity: Any, *, email: str | None = None) -> FormSubmission:
    """An Action.Submit of a form card: inputs keyed by field id, as strings; choice sets
    that allow several answers come comma-separated. One card is one submission: its
    message id (`replyToId`) identifies it, so a second click on the same card is a replay."""
    meta = activity.value[FORM_KEY]
    lists = set(_strings(meta.get("lists")))
    values: dict[str, str | list[str]] = {}
    for field_id in _strings(meta.get("fields")):
        raw = activity.value.get(field_id, "")
        text = raw if isinstance(raw, str) else str(raw)
        values[field_id] = [v for v in text.split(",") if v] if field_id in lists else text
    state = meta.get("state") if isinstance(meta.get("state"), dict) else {}
    return FormSubmission(
        **_base(activity),
        email=email,
        event_id=event_id(activity, "card:", item=activity.reply_to_id),
        form_id=str(meta.get("id", "")),
        values=values,
        state={k: v for k, v in state.items() if isinstance(v, str)},
    )


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


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


def installed(activity: Any) -> bool:
    """A new install: greeted once. Teams also sends a conversationUpdate for it (only
    remembered), and `add-upgrade` when the app is updated (not a new install)."""
    return activity.type == "installationUpdate" and (activity.action or "add") == "add"


def bot_removed(activity: Any) -> bool:
    if activity.type == "installationUpdate":
        return (activity.action or "").startswith("remove")
    removed = activity.members_removed or []
    return any(m.id == activity.recipient.id for m in removed)
