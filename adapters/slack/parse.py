"""Slack payloads, in the checked shapes of `shapes`, into neutral events. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.slack.render import form_metadata, form_values
from adapters.slack.shapes import (
    Action,
    BlockActions,
    EventEnvelope,
    SlashCommand,
    User,
    ViewSubmission,
)
from bot.commands import parse_command_text
from bot.events import Actor, ButtonAction, Command, FirstContact, FormSubmission

PLATFORM = "slack"


def actor(tenant: str, user_id: str) -> Actor:
    return Actor(platform=PLATFORM, tenant=tenant, user_id=user_id)


@dataclass(frozen=True)
class Profile:
    """What users.info told us about a person, if we asked."""

    name: str | None = None
    timezone: str | None = None
    email: str | None = None


NO_PROFILE = Profile()


def command(body: SlashCommand, profile: Profile = NO_PROFILE) -> Command:
    """A `/mentoring …` slash command (form-encoded body, already decoded by bolt)."""
    name, args = parse_command_text(body.text)
    return Command(
        actor=actor(body.tenant, body.user_id),
        display_name=profile.name or body.user_name,
        timezone=profile.timezone,
        email=profile.email,
        name=name,
        args=args,
        where=_shared_channel(body.channel_id),
    )


def profiled(event: Command, profile: Profile) -> Command:
    """`event` with what users.info said about its author, where it said anything."""
    if profile == NO_PROFILE:
        return event
    return event.model_copy(
        update={
            "display_name": profile.name or event.display_name,
            "timezone": profile.timezone,
            "email": profile.email,
        }
    )


def _shared_channel(channel_id: str) -> str | None:
    """Public (C…) and private (G…) channels; not direct messages (D…)."""
    return channel_id if channel_id[:1] in ("C", "G") else None


def _name(user: User) -> str | None:
    return user.name or user.username


def button(
    body: BlockActions,
    action: Action,
    neutral_action_id: str,
    profile: Profile = NO_PROFILE,
) -> ButtonAction:
    """One action of a `block_actions` payload."""
    return ButtonAction(
        actor=actor(body.tenant, body.user.id),
        display_name=profile.name or _name(body.user),
        timezone=profile.timezone,
        email=profile.email,
        action_id=neutral_action_id,
        value=action.value or "",
    )


def submission(body: ViewSubmission, *, display_name: str | None = None) -> FormSubmission:
    """A `view_submission`. The form id and state travel in the view's private_metadata;
    the view id identifies the submission, so a replay is stored once."""
    view = body.view
    form_id, state = form_metadata(view.private_metadata)
    return FormSubmission(
        actor=actor(body.tenant, body.user.id),
        display_name=display_name or _name(body.user),
        event_id=f"view:{view.id}" if view.id else None,
        form_id=form_id,
        values=form_values(view.state.values),
        state=state,
    )


def home_opened(body: EventEnvelope) -> FirstContact:
    """`app_home_opened` from the Events API: first contact, de-duplicated by event_id."""
    event = body.home_opened()
    return FirstContact(
        actor=actor(body.tenant, event.user),
        event_id=body.event_id,
        address={"channel": event.channel},
    )
