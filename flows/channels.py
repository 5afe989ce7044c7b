"""Where digests go: channels from settings, plus those an admin chose by saying
`admin channel here` in them (the only way on Teams, where channel ids aren't visible)."""

from __future__ import annotations

from bot.events import Command
from bot.messages import Say, ToChannel, say
from flows.context import FlowContext


async def admin_channels(ctx: FlowContext) -> list[ToChannel]:
    chosen = [
        ToChannel(platform=c.platform, tenant=c.tenant, channel_id=c.channel_id)
        for c in await ctx.repos.admin_channels.all()
    ]
    return _unique([*ctx.policy.channels(), *chosen])


async def admin_channel(event: Command, ctx: FlowContext) -> Say:
    """`admin channel here` / `admin channel off`, said in the channel; `admin channel` lists."""
    action = event.args[0].lower() if event.args else "list"
    if action == "list":
        return _listing(await admin_channels(ctx))
    if action not in ("here", "off"):
        return say("Say `admin channel here` in a channel to post digests there, or `off` to stop.")
    if event.where is None:
        return say(
            f"Say `admin channel {action}` in the channel itself (mention me there), not in a "
            "direct message."
        )
    actor = event.actor
    if action == "here":
        added = await ctx.repos.admin_channels.add(
            actor.platform, actor.tenant, event.where, actor.key, ctx.now
        )
        if not added:
            return say("Digests are already posted in this channel.", private=False)
        return say(
            "Done: the anonymised monthly digests will be posted in this channel. Everyone in it "
            "can read them, so keep it to the people running the program.",
            private=False,
        )
    removed = await ctx.repos.admin_channels.remove(actor.platform, actor.tenant, event.where)
    if not removed:
        return say("Digests weren't being posted in this channel.", private=False)
    return say("Done: digests will no longer be posted in this channel.", private=False)


def _listing(channels: list[ToChannel]) -> Say:
    if not channels:
        return say(
            "No admin channel yet. Say `admin channel here` in the channel where digests should "
            "go (or set UPWARD_ADMIN_CHANNELS)."
        )
    names = "\n".join(f"• {c.platform}: {c.channel_id}" for c in channels)
    return say(f"Digests are posted in:\n{names}")


def _unique(channels: list[ToChannel]) -> list[ToChannel]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for channel in channels:
        if (channel.platform, channel.channel_id) not in seen:
            seen.add((channel.platform, channel.channel_id))
            unique.append(channel)
    return unique
