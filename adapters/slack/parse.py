"""Slack payloads (as bolt hands them over) into neutral events. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.slack.render import form_metadata, form_values
from bot.commands import parse_command_text
from bot.events import Actor, ButtonAction, Command, FirstContact, FormSubmission

PLATFORM = "slack"


def team_of(body: dict[str, Any]) -> str:
    user = body.get("user")
    team = (
        body.get("team_id")
        or body.get("team")
        or (user.get("team_id") if isinstance(user, dict) else None)
        or ""
    )
    return team.get("id", "") if isinstance(team, dict) else str(team)


def actor(body: dict[str, Any], user_id: str) -> Actor:
    return Actor(platform=PLATFORM, tenant=team_of(body), user_id=user_id)


@dataclass(frozen=True)
class Profile:
    """What users.info told us about a person, if we asked."""

    name: str | None = None
    timezone: str | None = None
    email: str | None = None


NO_PROFILE = Profile()


def command(body: dict[str, Any], profile: Profile = NO_PROFILE) -> Command:
    """A `/mentoring …` slash command (form-encoded body, already decoded by bolt)."""
    name, args = parse_command_text(body.get("text", ""))
    return Command(
        actor=actor(body, body["user_id"]),
        display_name=profile.name or body.get("user_name"),
        timezone=profile.timezone,
        email=profile.email,
        name=name,
        args=args,
        where=_shared_channel(body.get("channel_id", "")),
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


def button(
    body: dict[str, Any],
    action: dict[str, Any],
    neutral_action_id: str,
    profile: Profile = NO_PROFILE,
) -> ButtonAction:
    """One action of a `block_actions` payload."""
    return ButtonAction(
        actor=actor(body, body["user"]["id"]),
        display_name=profile.name or body["user"].get("name") or body["user"].get("username"),
        timezone=profile.timezone,
        email=profile.email,
        action_id=neutral_action_id,
        value=action.get("value") or "",
    )


def submission(body: dict[str, Any], *, display_name: str | None = None) -> FormSubmission:
    """A `view_submission`. The form id and state travel in the view's private_metadata;
    the view id identifies the submission, so a replay is stored once."""
    view = body["view"]
    form_id, state = form_metadata(view.get("private_metadata", ""))
    return FormSubmission(
        actor=actor(body, body["user"]["id"]),
        display_name=display_name or body["user"].get("name") or body["user"].get("username"),
        event_id=f"view:{view['id']}" if view.get("id") else None,
        form_id=form_id,
        values=form_values(view["state"]["values"]),
        state=state,
    )


def home_opened(body: dict[str, Any]) -> FirstContact:
    """`app_home_opened` from the Events API: first contact, de-duplicated by event_id."""
    event = body["event"]
    return FirstContact(
        actor=actor(body, event["user"]),
        event_id=body.get("event_id"),
        address={"channel": event.get("channel", "")},
    )
