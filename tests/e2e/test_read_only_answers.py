"""Buttons and commands that only read and answer don't take SQLite's write lock (issue 16,
"A missed trigger"): with another connection holding it, as a tick or a dispatch does, the
check-in form still opens at once, and the lists still come."""

from __future__ import annotations

import time
from datetime import timedelta

from tests.e2e import test_slack
from tests.e2e.slack_world import SlackWorld, buttons
from tests.e2e.test_readiness_at_scale import write_lock

world = test_slack.world
WITHIN = 1.0  # seconds; waiting for the lock would take busy_timeout (5 s), then fail


async def test_opening_forms_and_reading_lists_never_wait_for_the_write_lock(
    world: SlackWorld,
) -> None:
    await test_slack.pair_up(world)
    world.clock.advance(timedelta(days=15))
    await world.app.engine.tick()
    [invite] = [m for m in world.messages_to("U0AMY") if "private check-in" in m["text"]]
    with write_lock(world.app.db.sqlite_path):
        started = time.monotonic()
        modal = await world.opened_modal(await world.press("U0AMY", buttons(invite)[0]))
        assert time.monotonic() - started < WITHIN
        assert modal["callback_id"] == "checkin"
        for text, expect in [
            ("status", "Mentor"),
            ("goals", "goal"),
            ("help", "join"),
            ("checkin", ""),
        ]:
            started = time.monotonic()
            trigger, response_id = await world.slash("U0AMY", text)
            if text == "checkin":
                await world.opened_modal(trigger)
            else:
                assert expect.lower() in (await world.answer(response_id)).lower()
            assert time.monotonic() - started < WITHIN, text
