"""App Home publishing: a long home view says it was cut short instead of dropping silently."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import HOME_BLOCK_LIMIT, publish_home
from adapters.slack.parse import actor
from bot.messages import Text, say
from tests.fakes.slack_api import FakeSlack


class LongHome:
    """Stands in for the engine: answers `home` with more blocks than a Home tab holds."""

    async def handle(self, event):  # type: ignore[no-untyped-def]
        return [say("home", *(Text(text=f"line {i}") for i in range(150)))]


async def test_a_long_home_view_ends_with_a_pointer_to_the_rest() -> None:
    async with FakeSlack() as slack:
        slack.add_user("U0ANN", "ann", "Ann")
        client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
        await publish_home(LongHome(), client, actor("T0001", "U0ANN"))
        blocks = slack.home_views["U0ANN"]["blocks"]
        assert len(blocks) == HOME_BLOCK_LIMIT
        assert "`/mentoring goals` show it all" in blocks[-1]["text"]["text"]
