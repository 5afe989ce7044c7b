"""The narrow context every flow receives: repositories, the time, and program policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.events import Actor
from bot.messages import Message, ToChannel, ToGroup, ToPair, ToPerson, platform_of
from bot.timing import next_working_time
from storage.models import Participant
from storage.repositories import Repositories


@dataclass(frozen=True)
class Policy:
    """Who may administer, where digests go, when people may be messaged."""

    admins: frozenset[str] = frozenset()
    admin_channels: tuple[str, ...] = ()
    work_start: int = 9
    work_end: int = 17
    default_timezone: str = "UTC"
    retention_days: int = 90
    # Platforms whose bots can't open a group DM: a pair message is two items, one per
    # partner, so each is sent, retried or failed on its own.
    one_by_one: frozenset[str] = frozenset()

    def is_admin(self, actor: Actor) -> bool:
        return actor.key in self.admins or f"{actor.platform}:{actor.user_id}" in self.admins

    def channels(self) -> list[ToChannel]:
        channels = []
        for entry in self.admin_channels:
            platform, tenant, channel_id = entry.split(":", 2)
            channels.append(ToChannel(platform=platform, tenant=tenant, channel_id=channel_id))
        return channels


@dataclass
class FlowContext:
    repos: Repositories
    now: datetime
    policy: Policy

    async def send(
        self,
        key: str,
        address: ToPerson | ToPair | ToGroup | ToChannel,
        message: Message,
        *,
        timezones: list[str] | None = None,
        at: datetime | None = None,
        pair_id: int | None = None,
    ) -> bool:
        """Queue a message the bot starts. Messages to people wait for their working hours.
        Returns False if `key` was queued before (the item is never sent twice)."""
        earliest = at or self.now
        if timezones:
            earliest = next_working_time(
                earliest, timezones, self.policy.work_start, self.policy.work_end
            )
        recipient = recipient_of(address)
        if isinstance(address, ToPair):
            pair_id = address.pair_id
        return await self.repos.outbox.add(
            key=key,
            platform=platform_of(address),
            address=address.model_dump(mode="json"),
            message=message.model_dump(mode="json"),
            not_before=earliest,
            created_at=self.now,
            recipient=recipient,
            pair_id=pair_id,
        )

    async def send_to(
        self, key: str, participant: Participant, message: Message, *, pair_id: int | None = None
    ) -> bool:
        """To one person, in their working hours; `pair_id` if it's about a pair's activity
        (cancelled if the pair ends before it goes)."""
        return await self.send(
            key, to_person(participant), message, timezones=[participant.timezone], pair_id=pair_id
        )

    async def send_to_pair(
        self, key: str, first: Participant, second: Participant, pair_id: int, message: Message
    ) -> bool:
        address = ToPair(
            pair_id=pair_id,
            members=(actor_of(first), actor_of(second)),
            names=(first.display_name, second.display_name),
        )
        if first.platform not in self.policy.one_by_one:
            timezones = [first.timezone, second.timezone]
            return await self.send(key, address, message, timezones=timezones)
        queued = False
        for index, member in enumerate((first, second)):
            copy = address.model_copy(update={"only": index})
            sent = await self.send(f"{key}:{index}", copy, message, timezones=[member.timezone])
            queued = sent or queued
        return queued

    async def send_to_group(self, key: str, members: list[Participant], message: Message) -> bool:
        """To a few people at once (a mentor circle), in hours that suit them all where one
        group DM is possible, else one copy each in their own hours."""
        address = ToGroup(
            group=key,
            members=tuple(actor_of(m) for m in members),
            names=tuple(m.display_name for m in members),
        )
        if members[0].platform not in self.policy.one_by_one:
            timezones = [m.timezone for m in members]
            return await self.send(key, address, message, timezones=timezones)
        queued = False
        for index, member in enumerate(members):
            copy = address.model_copy(update={"only": index})
            sent = await self.send(f"{key}:{index}", copy, message, timezones=[member.timezone])
            queued = sent or queued
        return queued


def actor_of(participant: Participant) -> Actor:
    return Actor(
        platform=participant.platform, tenant=participant.tenant, user_id=participant.user_id
    )


def to_person(participant: Participant) -> ToPerson:
    return ToPerson(person=actor_of(participant))


def recipient_of(address: ToPerson | ToPair | ToGroup | ToChannel) -> str | None:
    """What pending items are filed under, so they can be cancelled when a person or pair goes."""
    if isinstance(address, ToPerson):
        return address.person.key
    if isinstance(address, ToPair | ToGroup):
        if address.only is not None:
            return address.members[address.only].key
        return f"pair:{address.pair_id}" if isinstance(address, ToPair) else address.group
    return None
