"""Pacing: per conversation, and for the whole app."""

from __future__ import annotations

import asyncio
import time

from adapters.pacing import Pacer


async def sends(pacer: Pacer, conversations: list[str]) -> float:
    async def one(conversation: str) -> None:
        async with pacer.slot(conversation):
            pass

    started = time.monotonic()
    await asyncio.gather(*(one(c) for c in conversations))
    return time.monotonic() - started


async def test_the_overall_rate_spreads_sends_to_different_conversations() -> None:
    took = await sends(Pacer(0.0, overall_rate=50), [f"D{i}" for i in range(11)])
    assert 0.18 <= took < 1.0  # ten gaps of 20 ms


async def test_one_conversation_is_paced_and_others_are_not_held_up_by_it() -> None:
    pacer = Pacer(0.2)
    assert await sends(pacer, ["C1", "C2", "C3"]) < 0.1
    assert await sends(pacer, ["C1"]) >= 0.1  # C1 was used a moment ago


async def test_a_share_of_the_overall_rate_spaces_sends_further_apart() -> None:
    pacer = Pacer(0.0, overall_rate=50)
    pacer.share(2)  # two processes send at once: 25/s each
    took = await sends(pacer, [f"D{i}" for i in range(11)])
    assert 0.38 <= took < 1.5  # ten gaps of 40 ms
    pacer.share(1)
    assert await sends(pacer, [f"E{i}" for i in range(11)]) < 0.38


async def test_without_an_overall_rate_a_share_changes_nothing() -> None:
    pacer = Pacer(0.0)
    pacer.share(5)
    assert await sends(pacer, [f"D{i}" for i in range(11)]) < 0.1
