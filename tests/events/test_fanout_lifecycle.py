"""Subscriptions end cleanly: on shutdown, on aclose, on cancellation; bad publishes are refused."""

from __future__ import annotations

import asyncio

import pytest

from execution_server.events.fanout import Fanout
from execution_server.events.log import FanoutClosed

from .fanout_kit import (
    InMemoryLog,
    Writer,
    an_entry,
    entries_from,
    guarded,
    sequences,
    settle,
    take,
)


async def test_close_ends_waiting_and_catching_up_subscribers_with_fanout_closed() -> None:
    log = InMemoryLog()
    fanout = Fanout(log, window_size=10, page_size=5)
    Writer(log, fanout).write(100)
    waiting = fanout.subscribe(100)
    waiting_next = asyncio.create_task(anext(waiting))
    catching_up = fanout.subscribe(0)
    await take(catching_up, 3)
    await settle()

    fanout.close()

    with pytest.raises(FanoutClosed):
        await guarded(waiting_next)
    with pytest.raises(FanoutClosed):
        await anext(catching_up)  # even in the middle of a page
    assert fanout.subscriber_count == 0


async def test_subscribing_after_close_fails_at_once() -> None:
    fanout = Fanout(InMemoryLog())
    fanout.close()

    with pytest.raises(FanoutClosed):
        await anext(fanout.subscribe(0))


async def test_aclose_frees_the_subscription_at_once() -> None:
    log = InMemoryLog()
    fanout = Fanout(log)
    Writer(log, fanout).write(5)
    subscription = fanout.subscribe(0)
    await anext(subscription)
    assert fanout.subscriber_count == 1

    await subscription.aclose()

    assert fanout.subscriber_count == 0


async def test_a_cancelled_subscriber_is_freed_and_the_others_still_receive() -> None:
    """Subscribers share one wake-up future: cancelling one must not cancel it for all."""
    log = InMemoryLog()
    fanout = Fanout(log)
    cancelled = asyncio.create_task(anext(fanout.subscribe(0)))
    survivor = asyncio.create_task(anext(fanout.subscribe(0)))
    await settle()
    assert fanout.subscriber_count == 2

    cancelled.cancel()
    await settle()
    assert fanout.subscriber_count == 1
    Writer(log, fanout).write(1)

    assert (await guarded(survivor)).sequence == 1


async def test_a_publish_that_does_not_ascend_is_refused_and_changes_nothing() -> None:
    log = InMemoryLog()
    fanout = Fanout(log, window_size=10)
    Writer(log, fanout).write(5)

    with pytest.raises(ValueError):
        fanout.publish([an_entry(6), an_entry(7), an_entry(7)])
    with pytest.raises(ValueError):
        fanout.publish([an_entry(5)])

    assert (fanout.high_water_mark, fanout.window_length) == (5, 5)


async def test_the_window_never_holds_more_than_its_size() -> None:
    log = InMemoryLog()
    fanout = Fanout(log, window_size=7)
    writer = Writer(log, fanout)
    for count in (3, 4, 1, 25, 7):
        writer.write(count)
        assert fanout.window_length <= 7

    assert fanout.window_length == 7
    assert sequences(await take(fanout.subscribe(33), 7)) == list(range(34, 41))


async def test_the_mark_starts_where_the_log_ends() -> None:
    log = InMemoryLog()
    log.append(entries_from(1, 40))
    fanout = Fanout(log, window_size=10, high_water_mark=40)

    assert (fanout.high_water_mark, fanout.window_length) == (40, 0)
    assert sequences(await take(fanout.subscribe(0), 40)) == list(range(1, 41))
