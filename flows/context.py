"""The narrow context every flow receives: repositories, the time, and program policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.events import Actor
from bot.messages import Message, ToChannel, ToGroup, ToPair, ToPerson
from bot.timing import next_working_time
from storage.jsontext import Hole, JsonText, Template, dumps
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


class Person(Protocol):
    """Whom the bot can message: a participant, or the tick's lighter `Member` row."""

    @property
    def platform(self) -> str: ...
    @property
    def tenant(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def timezone(self) -> str: ...


Item = dict[str, Any]  # one outbox row to be queued (see `FlowContext.item`)


@dataclass
class FlowContext:
    repos: Repositories
    now: datetime
    policy: Policy
    # The working window per (earliest, time zones): a tick asks it for many people at once.
    _windows: dict[tuple[datetime, tuple[str, ...]], datetime] = field(
        default_factory=dict, init=False, repr=False
    )

    def working_time(self, earliest: datetime, timezones: tuple[str, ...]) -> datetime:
        """The first moment at or after `earliest` inside everyone's working hours."""
        found = self._windows.get((earliest, timezones))
        if found is None:
            found = next_working_time(
                earliest, list(timezones), self.policy.work_start, self.policy.work_end
            )
            self._windows[(earliest, timezones)] = found
        return found

    def item(
        self,
        key: str,
        address: ToPerson | ToPair | ToChannel,
        message: Message,
        *,
        timezones: list[str] | None = None,
        at: datetime | None = None,
        pair_id: int | None = None,
        expires_at: datetime | None = None,
    ) -> Item:
        """The outbox row for a message the bot starts; messages to people wait for their
        working hours. `expires_at`: when it stops making sense (never sent after that)."""
        if isinstance(address, ToPair):
            pair_id = address.pair_id
        where = address.model_dump(mode="json")
        platform, recipient = _platform_json(where), _recipient_json(where)
        zones = tuple(timezones or ())
        return self._row(
            key, dumps(where), platform, recipient, message, zones, pair_id, at, expires_at
        )

    def person_item(
        self,
        key: str,
        participant: Person,
        message: Message | dict[str, Any] | JsonText,
        *,
        pair_id: int | None = None,
        expires_at: datetime | None = None,
    ) -> Item:
        """To one person, in their working hours; `pair_id` if it's about a pair's activity
        (cancelled if the pair ends before it goes). `message` may be a dumped Message."""
        p = participant
        where = _TO_PERSON.fill(platform=p.platform, tenant=p.tenant, user_id=p.user_id)
        recipient = f"{p.platform}:{p.tenant}:{p.user_id}"
        zones = (p.timezone,)
        return self._row(
            key, where, p.platform, recipient, message, zones, pair_id, expires_at=expires_at
        )

    def pair_items(
        self,
        key: str,
        first: Person,
        second: Person,
        pair_id: int,
        message: Message | dict[str, Any] | JsonText,
        *,
        expires_at: datetime | None = None,
    ) -> list[Item]:
        """To both partners: one item, or one per partner where the platform has no group DM
        (keys `<key>:0` and `<key>:1`). `message` may be a dumped Message."""
        message = _message_json(message)
        members = {
            "pair_id": pair_id,
            "platform0": first.platform,
            "tenant0": first.tenant,
            "user_id0": first.user_id,
            "platform1": second.platform,
            "tenant1": second.tenant,
            "user_id1": second.user_id,
            "name0": first.display_name,
            "name1": second.display_name,
        }
        platform = first.platform
        if platform not in self.policy.one_by_one:
            where = _TO_PAIR.fill(**members, only=None)
            zones = (first.timezone, second.timezone)
            return [
                self._row(
                    key, where, platform, f"pair:{pair_id}", message, zones, pair_id,
                    expires_at=expires_at,
                )
            ]  # fmt: skip
        return [
            self._row(
                f"{key}:{index}",
                _TO_PAIR.fill(**members, only=index),
                platform,
                f"{member.platform}:{member.tenant}:{member.user_id}",
                message,
                (member.timezone,),
                pair_id,
                expires_at=expires_at,
            )
            for index, member in enumerate((first, second))
        ]

    def _row(
        self,
        key: str,
        address: JsonText,
        platform: str,
        recipient: str | None,
        message: Message | dict[str, Any] | JsonText,
        timezones: tuple[str, ...],
        pair_id: int | None,
        at: datetime | None = None,
        expires_at: datetime | None = None,
    ) -> Item:
        """The outbox row; address and message as JSON text (see `storage.jsontext`)."""
        earliest = at or self.now
        if timezones:
            earliest = self.working_time(earliest, timezones)
        return {
            "key": key,
            "platform": platform,
            "address": address,
            "message": _message_json(message),
            "not_before": earliest,
            "created_at": self.now,
            "recipient": recipient,
            "pair_id": pair_id,
            "expires_at": expires_at,
        }

    async def queue(self, items: list[Item]) -> set[str]:
        """Queue many items in one go; the keys queued now (not before, nor by a concurrent
        tick: each item is queued once)."""
        return await self.repos.outbox.add_many(items) if items else set()

    async def send(
        self,
        key: str,
        address: ToPerson | ToPair | ToGroup | ToChannel,
        message: Message,
        *,
        timezones: list[str] | None = None,
        at: datetime | None = None,
        pair_id: int | None = None,
        expires_at: datetime | None = None,
    ) -> bool:
        """Queue a message the bot starts. Messages to people wait for their working hours.
        Returns False if `key` was queued before (the item is never sent twice)."""
        item = self.item(
            key, address, message, timezones=timezones, at=at, pair_id=pair_id,
            expires_at=expires_at,
        )  # fmt: skip
        return await self.repos.outbox.add(**item)

    async def send_to(
        self,
        key: str,
        participant: Person,
        message: Message,
        *,
        pair_id: int | None = None,
        expires_at: datetime | None = None,
    ) -> bool:
        """To one person, in their working hours; `pair_id` if it's about a pair's activity
        (cancelled if the pair ends before it goes)."""
        return await self.repos.outbox.add(
            **self.person_item(key, participant, message, pair_id=pair_id, expires_at=expires_at)
        )

    async def send_to_pair(
        self, key: str, first: Person, second: Person, pair_id: int, message: Message
    ) -> bool:
        queued = False
        for item in self.pair_items(key, first, second, pair_id, message):
            queued = await self.repos.outbox.add(**item) or queued
        return queued

    async def send_to_group(self, key: str, members: list[Person], message: Message) -> bool:
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


def actor_of(participant: Person) -> Actor:
    return Actor(
        platform=participant.platform, tenant=participant.tenant, user_id=participant.user_id
    )


def to_person(participant: Person) -> ToPerson:
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


# The same, over an address already dumped to JSON (the tick builds those directly: it's
# many times faster than validating and dumping a pydantic model per message). The
# templates have the shape of `ToPerson` and `ToPair` dumped to JSON.

_ACTOR_FIELDS = ("platform", "tenant", "user_id")
_TO_PERSON = Template({"kind": "person", "person": {f: Hole(f) for f in _ACTOR_FIELDS}})
_TO_PAIR = Template(
    {
        "kind": "pair",
        "pair_id": Hole("pair_id"),
        "members": [{f: Hole(f"{f}{i}") for f in _ACTOR_FIELDS} for i in (0, 1)],
        "names": [Hole("name0"), Hole("name1")],
        "only": Hole("only"),
    }
)


def _message_json(message: Message | dict[str, Any] | JsonText) -> JsonText:
    if isinstance(message, Message):
        return dumps(message.model_dump(mode="json"))
    return dumps(message)


def _key_json(actor: dict[str, str]) -> str:
    return f"{actor['platform']}:{actor['tenant']}:{actor['user_id']}"


def _platform_json(address: dict[str, Any]) -> str:
    if address["kind"] == "person":
        return str(address["person"]["platform"])
    if address["kind"] in ("pair", "group"):
        return str(address["members"][0]["platform"])
    return str(address["platform"])


def _recipient_json(address: dict[str, Any]) -> str | None:
    if address["kind"] == "person":
        return _key_json(address["person"])
    if address["kind"] in ("pair", "group"):
        if address.get("only") is not None:
            return _key_json(address["members"][address["only"]])
        return f"pair:{address['pair_id']}" if address["kind"] == "pair" else address["group"]
    return None
