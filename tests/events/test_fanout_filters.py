"""Subscribers filter by strategy and by symbol; what they skip still moves them forward."""

from __future__ import annotations

import asyncio

import pytest

from execution_server.events.fanout import Fanout

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

ALL = entries_from(1, 60)


@pytest.mark.parametrize(
    ("strategy_id", "symbol"),
    [("alpha", ""), ("", "MSFT"), ("beta", "TSLA"), ("", "")],
)
async def test_a_subscriber_sees_exactly_the_matching_entries_in_order(
    strategy_id: str, symbol: str
) -> None:
    log = InMemoryLog()
    fanout = Fanout(log, window_size=8, page_size=5)
    writer = Writer(log, fanout)
    writer.write(30)  # half of it before subscribing, most of that only in the log
    expected = [
        e.sequence
        for e in ALL
        if (not strategy_id or e.strategy_id == strategy_id) and (not symbol or e.symbol == symbol)
    ]
    reader = asyncio.create_task(take(fanout.subscribe(0, strategy_id, symbol), len(expected)))
    await writer.write_while_others_run(30)

    assert sequences(await reader) == expected


async def test_filtered_out_entries_still_advance_the_cursor() -> None:
    """A filter that matches nothing for a long time must not fall back to reading the log."""
    log = InMemoryLog()
    fanout = Fanout(log, window_size=4, page_size=2)
    subscription = fanout.subscribe(0, strategy_id="beta")
    reader = asyncio.create_task(anext(subscription))
    await settle()
    for sequence in range(1, 101):
        log.append([an_entry(sequence, "alpha")])
        fanout.publish([an_entry(sequence, "alpha")])
        await settle(3)
    fanout.publish([an_entry(101, "beta")])

    assert (await guarded(reader)).sequence == 101
    assert log.reads == 0
    await subscription.aclose()
