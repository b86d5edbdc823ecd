"""Many readers, slow readers and greedy readers: none of them holds up the others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from execution_server.events.fanout import Fanout
from execution_server.events.log import LogEntry, SequenceOutOfRange

from .fanout_kit import InMemoryLog, Writer, sequences, settle, take, take_through


async def test_a_thousand_concurrent_subscribers_each_see_everything_in_order() -> None:
    log = InMemoryLog()
    fanout = Fanout(log, window_size=64, page_size=16)
    writer = Writer(log, fanout)
    writer.write(20)
    readers = [asyncio.create_task(take_through(fanout.subscribe(0), 220)) for _ in range(1000)]
    await settle(3)
    assert fanout.subscriber_count == 1000

    await writer.write_while_others_run(200, batch_sizes=(1, 10, 3))
    results = await asyncio.gather(*readers)

    assert all(sequences(seen) == list(range(1, 221)) for seen in results)
    assert fanout.subscriber_count == 0


WINDOW = 50


async def _stall_one_reader_while_publishing(
    log: InMemoryLog,
) -> tuple[Fanout, AsyncGenerator[LogEntry, None], list[list[LogEntry]]]:
    """One reader takes an entry and then stops reading while 3 windows' worth are published
    to it and to fast readers. Returns the fan-out, the stalled subscription and what the
    fast readers saw."""
    fanout = Fanout(log, window_size=WINDOW, page_size=20)
    writer = Writer(log, fanout)
    writer.write(1)
    stalled = fanout.subscribe(0)
    assert (await anext(stalled)).sequence == 1
    last = 1 + 3 * WINDOW
    fast = [asyncio.create_task(take_through(fanout.subscribe(0), last)) for _ in range(3)]

    for _ in range(3 * WINDOW // 10):
        writer.write(10)
        assert fanout.window_length <= WINDOW
        await settle(3)
    return fanout, stalled, await asyncio.gather(*fast)


async def test_a_stalled_reader_holds_up_neither_the_writer_nor_fast_readers() -> None:
    log = InMemoryLog()
    fanout, stalled, fast_results = await _stall_one_reader_while_publishing(log)

    assert all(sequences(seen) == list(range(1, 152)) for seen in fast_results)
    assert fanout.high_water_mark == 151
    assert fanout.window_length == WINDOW
    await stalled.aclose()


async def test_a_reader_that_overflows_the_window_catches_up_from_the_log() -> None:
    log = InMemoryLog()
    _, stalled, _ = await _stall_one_reader_while_publishing(log)
    reads_before = log.reads

    rest = await take_through(stalled, 151)

    assert sequences(rest) == list(range(2, 152))
    assert log.reads > reads_before


async def test_a_reader_behind_retention_gets_out_of_range_naming_the_oldest_available() -> None:
    log = InMemoryLog(retain_last=WINDOW + 10)
    fanout, stalled, _ = await _stall_one_reader_while_publishing(log)

    with pytest.raises(SequenceOutOfRange) as raised:
        await anext(stalled)

    assert raised.value.requested == 2
    assert raised.value.oldest_available == log.entries[0].sequence == 92
    assert fanout.subscriber_count == 0


async def test_subscribing_behind_retention_is_out_of_range() -> None:
    log = InMemoryLog(retain_last=30)
    fanout = Fanout(log, window_size=10)
    Writer(log, fanout).write(100)

    with pytest.raises(SequenceOutOfRange) as raised:
        await anext(fanout.subscribe(0))
    assert (raised.value.requested, raised.value.oldest_available) == (1, 71)
    assert sequences(await take_through(fanout.subscribe(70), 100)) == list(range(71, 101))


async def test_entries_still_in_the_window_are_served_even_if_the_log_deleted_them() -> None:
    log = InMemoryLog(retain_last=5)
    fanout = Fanout(log, window_size=20)
    Writer(log, fanout).write(20)

    assert sequences(await take_through(fanout.subscribe(0), 20)) == list(range(1, 21))


async def test_a_reader_catching_up_lets_other_tasks_run_between_pages() -> None:
    log = InMemoryLog()
    fanout = Fanout(log, page_size=100)
    writer = Writer(log, fanout)
    writer.write(5_000)
    others_ran = asyncio.Event()
    asyncio.get_running_loop().call_soon(others_ran.set)

    ran_before_caught_up = False
    async for entry in fanout.subscribe(0):  # a greedy consumer that never awaits anything
        if entry.sequence == 5_000:
            ran_before_caught_up = others_ran.is_set()
            break

    assert ran_before_caught_up


async def test_several_publishes_before_readers_run_are_all_delivered() -> None:
    log = InMemoryLog()
    fanout = Fanout(log, window_size=100)
    writer = Writer(log, fanout)
    reader = asyncio.create_task(take(fanout.subscribe(0), 30))
    await settle()
    for _ in range(30):
        writer.write(1)  # no await in between: one wake-up covers them all

    assert sequences(await reader) == list(range(1, 31))
