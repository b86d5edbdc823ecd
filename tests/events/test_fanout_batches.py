"""subscribe_batches: the entries subscribe delivers, grouped into non-empty ascending batches
of at most max_entries, each holding everything ready when it is handed over."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Sequence

import pytest

from execution_server.events.fanout import Fanout
from execution_server.events.log import FanoutClosed, LogEntry, SequenceOutOfRange

from .fanout_kit import (
    HANG_GUARD_SECONDS,
    InMemoryLog,
    Writer,
    an_entry,
    entries_from,
    guarded,
    sequences,
    settle,
)

Batches = AsyncGenerator[list[LogEntry], None]


async def take_batches(subscription: Batches, count: int) -> list[list[LogEntry]]:
    """Batches until they hold at least `count` entries; the subscription stays open."""
    taken: list[list[LogEntry]] = []
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        while sum(map(len, taken)) < count:
            taken.append(await anext(subscription))
    return taken


def flat(batches: Sequence[list[LogEntry]]) -> list[LogEntry]:
    return [entry for batch in batches for entry in batch]


def assert_well_formed(batches: Sequence[list[LogEntry]], max_entries: int) -> None:
    assert all(0 < len(batch) <= max_entries for batch in batches)
    seen = sequences(flat(batches))
    assert seen == sorted(set(seen))


@pytest.mark.parametrize("max_entries", [1, 3, 5, 8, 100])
@pytest.mark.parametrize(
    ("strategy_id", "symbol"), [("", ""), ("alpha", ""), ("", "MSFT"), ("beta", "TSLA")]
)
async def test_batches_hold_exactly_the_matching_entries_across_the_log_and_the_window(
    max_entries: int, strategy_id: str, symbol: str
) -> None:
    """Half is published before subscribing (mostly only in the log: window 8, pages of 5),
    half while the reader consumes."""
    log = InMemoryLog()
    fanout = Fanout(log, window_size=8, page_size=5)
    writer = Writer(log, fanout)
    writer.write(60)
    expected = [
        e.sequence
        for e in entries_from(1, 120)
        if (not strategy_id or e.strategy_id == strategy_id) and (not symbol or e.symbol == symbol)
    ]
    subscription = fanout.subscribe_batches(0, strategy_id, symbol, max_entries)
    reader = asyncio.create_task(take_batches(subscription, len(expected)))
    await writer.write_while_others_run(60)
    batches = await reader
    await subscription.aclose()

    assert_well_formed(batches, max_entries)
    assert sequences(flat(batches)) == expected
    assert log.reads > 0


async def test_a_reader_that_waits_gets_everything_published_meanwhile_in_one_batch() -> None:
    log = InMemoryLog()
    fanout = Fanout(log, window_size=100, page_size=10)
    writer = Writer(log, fanout)
    subscription = fanout.subscribe_batches(0, max_entries=50)
    writer.write(1)
    assert sequences(await guarded(anext(subscription))) == [1]

    for count in (3, 1, 7, 2, 20):  # the reader is busy elsewhere meanwhile
        writer.write(count)

    assert sequences(await guarded(anext(subscription))) == list(range(2, 35))
    await subscription.aclose()


async def test_with_a_min_interval_a_live_reader_woken_early_waits_and_takes_what_arrived_meanwhile() -> None:
    """Three commits land while the reader waits out its interval: one batch carries them."""
    log = InMemoryLog()
    fanout = Fanout(log, window_size=100, page_size=10)
    writer = Writer(log, fanout)
    subscription = fanout.subscribe_batches(0, max_entries=50, min_interval=0.5)
    writer.write(1)
    assert sequences(await guarded(anext(subscription))) == [1]  # after a quiet spell: at once

    reader = asyncio.create_task(anext(subscription))
    for count in (1, 2, 3):  # separate commits; each would wake the reader
        await settle()
        writer.write(count)
    assert not reader.done()  # held: its interval has not passed

    assert sequences(await guarded(reader)) == list(range(2, 8))
    await subscription.aclose()


async def test_a_min_interval_never_holds_back_a_reader_that_is_behind() -> None:
    """An hour between messages, and yet a backlog arrives at once, in full batches."""
    log = InMemoryLog()
    fanout = Fanout(log, window_size=100, page_size=10)
    Writer(log, fanout).write(45)
    subscription = fanout.subscribe_batches(0, max_entries=20, min_interval=3600)

    batches = await take_batches(subscription, 45)
    await subscription.aclose()

    assert [len(batch) for batch in batches] == [20, 20, 5]


async def test_a_backlog_larger_than_max_entries_comes_in_full_batches() -> None:
    log = InMemoryLog()
    fanout = Fanout(log, window_size=100, page_size=10)
    Writer(log, fanout).write(45)
    subscription = fanout.subscribe_batches(0, max_entries=20)

    batches = await take_batches(subscription, 45)
    await subscription.aclose()

    assert [len(batch) for batch in batches] == [20, 20, 5]


async def test_a_filter_that_matches_little_never_yields_an_empty_batch() -> None:
    log = InMemoryLog()
    fanout = Fanout(log, window_size=30, page_size=4)
    entries = [an_entry(s, "beta" if s % 25 == 0 else "alpha") for s in range(1, 101)]
    log.append(entries[:60])
    fanout.publish(entries[:60])  # 1..30 only in the log, 31..60 in the window
    subscription = fanout.subscribe_batches(0, strategy_id="beta", max_entries=2)
    reader = asyncio.create_task(take_batches(subscription, 4))
    await settle()
    log.append(entries[60:])
    fanout.publish(entries[60:])

    batches = await guarded(reader)
    await subscription.aclose()
    assert_well_formed(batches, 2)
    assert sequences(flat(batches)) == [25, 50, 75, 100]


@pytest.mark.parametrize("max_entries", [0, -1])
async def test_max_entries_must_be_positive(max_entries: int) -> None:
    fanout = Fanout(InMemoryLog())

    with pytest.raises(ValueError):
        await anext(fanout.subscribe_batches(0, max_entries=max_entries))
    assert fanout.subscriber_count == 0


# --- the same ending as subscribe ---


async def test_resuming_behind_retention_is_out_of_range_naming_the_oldest_available() -> None:
    log = InMemoryLog(retain_last=30)
    fanout = Fanout(log, window_size=10)
    Writer(log, fanout).write(100)

    with pytest.raises(SequenceOutOfRange) as raised:
        await anext(fanout.subscribe_batches(0))

    assert (raised.value.requested, raised.value.oldest_available) == (1, 71)
    assert fanout.subscriber_count == 0


async def test_close_ends_waiting_and_catching_up_batch_readers_with_fanout_closed() -> None:
    log = InMemoryLog()
    fanout = Fanout(log, window_size=10, page_size=6)
    Writer(log, fanout).write(100)
    waiting = fanout.subscribe_batches(100)
    waiting_next = asyncio.create_task(anext(waiting))
    catching_up = fanout.subscribe_batches(0, max_entries=2)
    assert sequences(await anext(catching_up)) == [1, 2]  # the first third of a page from the log
    await settle()

    fanout.close()

    with pytest.raises(FanoutClosed):
        await guarded(waiting_next)
    with pytest.raises(FanoutClosed):
        await anext(catching_up)  # even with the rest of its page read
    assert fanout.subscriber_count == 0


async def test_aclose_and_cancellation_free_batch_subscriptions_at_once() -> None:
    log = InMemoryLog()
    fanout = Fanout(log)
    Writer(log, fanout).write(5)
    closed = fanout.subscribe_batches(0)
    await anext(closed)
    cancelled = asyncio.create_task(anext(fanout.subscribe_batches(5)))
    survivor = asyncio.create_task(anext(fanout.subscribe_batches(5)))
    await settle()
    assert fanout.subscriber_count == 3

    await closed.aclose()
    cancelled.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await cancelled
    assert fanout.subscriber_count == 1
    Writer(log, fanout).write(1)

    assert sequences(await guarded(survivor)) == [6]
