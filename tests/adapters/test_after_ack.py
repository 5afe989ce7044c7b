"""The work promised by a form's ack: a few at a time, and waited for on stopping."""

from __future__ import annotations

import asyncio
import logging

import pytest

from adapters.after_ack import AfterAck


async def test_at_most_so_many_run_at_once_and_drain_waits_for_the_queue() -> None:
    after_ack, running, most = AfterAck(at_once=2), [0], [0]

    async def work() -> None:
        async with after_ack.slot():
            running[0] += 1
            most[0] = max(most[0], running[0])
            await asyncio.sleep(0.02)
            running[0] -= 1

    tasks = [asyncio.create_task(work()) for _ in range(5)]
    await asyncio.sleep(0)
    assert after_ack.waiting == 5

    assert await after_ack.drain(within=5) == 0
    assert most[0] == 2 and all(t.done() for t in tasks)


async def test_work_left_when_the_wait_runs_out_is_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    after_ack, release = AfterAck(), asyncio.Event()

    async def stuck() -> None:
        async with after_ack.slot():
            await release.wait()

    task = asyncio.create_task(stuck())
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR):
        assert await after_ack.drain(within=0.05) == 1
    assert "1 acked form(s) not stored" in caplog.text
    release.set()
    await task
    assert after_ack.waiting == 0


async def test_spawned_work_counts_from_the_moment_it_is_spawned() -> None:
    """Teams: the turn ends before the work starts; a stop that begins at once waits."""
    after_ack, done = AfterAck(at_once=1), []

    async def work(n: int) -> None:
        await asyncio.sleep(0.01)
        done.append(n)

    for n in range(3):
        after_ack.spawn(work(n))
    assert after_ack.waiting == 3  # before any of it has run
    assert await after_ack.drain(within=5) == 0
    assert done == [0, 1, 2]


async def test_spawned_work_that_fails_is_one_line(caplog: pytest.LogCaptureFixture) -> None:
    after_ack = AfterAck()

    async def work() -> None:
        raise RuntimeError("someone's words")

    after_ack.spawn(work())
    assert await after_ack.drain(within=5) == 0
    assert "RuntimeError" in caplog.text and "someone's words" not in caplog.text
