"""SlackDelivery against the loopback Web API: addressing, pacing, and error mapping."""

from __future__ import annotations

import time

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.deliver import SlackDelivery
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.events import Actor
from bot.messages import Message, Text, ToChannel, ToPair, ToPerson
from tests.fakes.slack_api import FakeSlack

HELLO = Message(summary="hello", blocks=(Text(text="hello"),))


def person(user: str) -> Actor:
    return Actor(platform="slack", tenant="T0001", user_id=user)


@pytest.fixture
async def slack():  # type: ignore[no-untyped-def]
    async with FakeSlack() as fake:
        for user in ("U0ANN", "U0SAM"):
            fake.add_user(user, user.lower(), user.title())
        fake.add_channel("C0ADMIN", "admins")
        yield fake


def delivery(slack: FakeSlack, pacing: float = 0.0) -> SlackDelivery:
    return SlackDelivery(
        AsyncWebClient(token="xoxb-test", base_url=slack.base_url), pacing_seconds=pacing
    )


async def test_a_pair_is_one_group_dm_and_a_person_their_dm(slack: FakeSlack) -> None:
    sender = delivery(slack)
    pair = ToPair(pair_id=1, members=(person("U0ANN"), person("U0SAM")))
    await sender.deliver(pair, HELLO, key="intro:1")
    await sender.deliver(ToPerson(person=person("U0ANN")), HELLO, key="checkin:1")
    [opened] = slack.calls_to("conversations.open")
    assert set(opened.args["users"].split(",")) == {"U0ANN", "U0SAM"}
    posted = [c.args["channel"] for c in slack.calls_to("chat.postMessage")]
    assert posted == [slack.mpim_id("U0ANN", "U0SAM"), "U0ANN"]
    await sender.deliver(pair, HELLO, key="prompt:1:1")
    assert len(slack.calls_to("conversations.open")) == 1  # the pair's group DM is remembered


async def test_about_one_message_per_second_per_channel(slack: FakeSlack) -> None:
    sender = delivery(slack, pacing=0.3)
    admins = ToChannel(platform="slack", tenant="T0001", channel_id="C0ADMIN")
    started = time.monotonic()
    await sender.deliver(admins, HELLO, key="a")
    await sender.deliver(ToPerson(person=person("U0ANN")), HELLO, key="b")  # another channel
    other_channel_done = time.monotonic() - started
    await sender.deliver(admins, HELLO, key="c")  # the same channel again: paced
    assert other_channel_done < 0.3 <= time.monotonic() - started


@pytest.mark.parametrize(
    "error",
    [
        "user_not_found",
        "account_inactive",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
    ],
)
async def test_permanent_errors(slack: FakeSlack, error: str) -> None:
    slack.fail("chat.postMessage", error=error)
    with pytest.raises(PermanentDeliveryError, match=error):
        await delivery(slack).deliver(ToPerson(person=person("U0ANN")), HELLO, key="k")


async def test_rate_limit_carries_retry_after(slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", error="ratelimited", retry_after=17)
    with pytest.raises(TransientDeliveryError) as raised:
        await delivery(slack).deliver(ToPerson(person=person("U0ANN")), HELLO, key="k")
    assert raised.value.retry_after == 17


async def test_server_errors_are_transient(slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", error="internal_error", status=503)
    with pytest.raises(TransientDeliveryError):
        await delivery(slack).deliver(ToPerson(person=person("U0ANN")), HELLO, key="k")


async def test_app_wide_errors_hold_and_retry_instead_of_failing_everyone(slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", error="invalid_auth")
    with pytest.raises(TransientDeliveryError) as raised:
        await delivery(slack).deliver(ToPerson(person=person("U0ANN")), HELLO, key="k")
    assert raised.value.retry_after and raised.value.retry_after >= 600


LONG = Message(summary="long", blocks=tuple(Text(text=f"paragraph {i}") for i in range(60)))


@pytest.mark.parametrize(
    "address",
    [
        ToPerson(person=person("U0ANN")),
        ToPair(pair_id=1, members=(person("U0ANN"), person("U0SAM"))),
        ToChannel(platform="slack", tenant="T0001", channel_id="C0ADMIN"),
    ],
)
async def test_reconcile_after_a_crash_posts_only_what_slack_does_not_have(
    slack: FakeSlack, address: ToPerson | ToPair | ToChannel
) -> None:
    """A dispatcher died after Slack took page 1 of 2: the next one finds page 1 by the
    outbox key in its metadata and posts page 2 alone. Reconciling again posts nothing."""
    await delivery(slack).deliver(address, LONG, key="digest:1:2027-01")
    slack.messages.pop()  # as if the process died before posting page 2
    [first] = slack.messages
    assert first["metadata"]["event_payload"] == {"key": "digest:1:2027-01", "page": 0}

    await delivery(slack).reconcile(address, LONG, key="digest:1:2027-01")  # a fresh process
    pages = [m["metadata"]["event_payload"]["page"] for m in slack.messages]
    assert pages == [0, 1]
    await delivery(slack).reconcile(address, LONG, key="digest:1:2027-01")
    assert len(slack.messages) == 2
