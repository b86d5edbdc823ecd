"""Catch-up and live are one operation: resuming from any sequence loses and repeats nothing."""

from __future__ import annotations

import asyncio

import pytest

from execution_server.events.fanout import Fanout

from .fanout_kit import (
    InMemoryLog,
    Writer,
    entries_from,
    guarded,
    sequences,
    settle,
    take,
    take_through,
)

BEFORE = 100  # already in the log when the readers start: most of it outside the window
LIVE = 140  # published while the readers consume
TOTAL = BEFORE + LIVE


async def test_a_reader_that_stops_anywhere_and_resumes_gets_exactly_the_rest() -> None:
    """For every k: read k entries, close, resubscribe after the last one seen.

    The window is small, so small k stop inside the replay from the log, middling k at the
    hand-over to the window, large k while live; the writer keeps publishing throughout.
    """
    log = InMemoryLog()
    fanout = Fanout(log, window_size=16, page_size=7)
    writer = Writer(log, fanout)
    writer.write(BEFORE)

    async def stop_after_and_resume(k: int) -> list[int]:
        first = fanout.subscribe(0)
        seen = await take(first, k)
        await first.aclose()
        after = seen[-1].sequence if seen else 0
        if after < TOTAL:
            seen += await take_through(fanout.subscribe(after), TOTAL)
        return sequences(seen)

    readers = [asyncio.create_task(stop_after_and_resume(k)) for k in range(TOTAL + 1)]
    await writer.write_while_others_run(LIVE)
    results = await asyncio.gather(*readers)

    for k, seen in enumerate(results):
        assert seen == list(range(1, TOTAL + 1)), f"stopped after {k}"
    assert log.reads > 0  # the replay did go through the log
    assert fanout.subscriber_count == 0


async def test_resuming_after_a_server_restart_gets_what_was_missed() -> None:
    log = InMemoryLog()
    before_restart = Fanout(log, window_size=10)
    Writer(log, before_restart).write(60)
    subscription = before_restart.subscribe(0)
    seen = await take(subscription, 25)
    await subscription.aclose()
    Writer(log, before_restart).write(60)  # the client is away; then the server stops
    before_restart.close()

    after_restart = Fanout(log, window_size=10, high_water_mark=log.last_sequence)
    resumed = asyncio.create_task(take_through(after_restart.subscribe(seen[-1].sequence), 150))
    await Writer(log, after_restart).write_while_others_run(30)

    assert sequences(seen + await resumed) == list(range(1, 151))


@pytest.mark.parametrize("window_size", [5, 100])
async def test_rows_committed_but_not_yet_published_are_not_delivered_early(
    window_size: int,
) -> None:
    """After a restart the window is empty and the log has a gap (a rolled-back sequence
    range), so a single read of the log reaches past the mark: those rows must wait."""
    log = InMemoryLog()
    log.append(entries_from(1, 20) + entries_from(25, 16))
    fanout = Fanout(log, window_size=window_size, page_size=100, high_water_mark=40)
    committed = entries_from(41, 20)
    log.append(committed)  # the writer has committed these and not published them yet
    subscription = fanout.subscribe(0)

    assert sequences(await take(subscription, 36)) == [*range(1, 21), *range(25, 41)]
    next_one = asyncio.create_task(anext(subscription))
    await settle()
    assert not next_one.done()

    fanout.publish(committed)
    assert (await guarded(next_one)).sequence == 41
    await subscription.aclose()


async def test_a_subscriber_ahead_of_the_mark_waits_for_it() -> None:
    log = InMemoryLog()
    fanout = Fanout(log, window_size=5)
    writer = Writer(log, fanout)
    writer.write(3)
    reader = asyncio.create_task(take_through(fanout.subscribe(10), 12))
    await settle()
    writer.write(12)

    assert sequences(await reader) == [11, 12]


async def test_a_gap_in_the_numbering_is_skipped_not_reported() -> None:
    """A rolled-back transaction can burn a sequence number; nothing is missing then."""
    log = InMemoryLog()
    fanout = Fanout(log, window_size=100)
    writer = Writer(log, fanout)
    writer.write(10)
    after_gap = entries_from(15, 6)
    log.append(after_gap)
    fanout.publish(after_gap)

    assert fanout.window_length == 6  # the window restarted after the gap
    assert sequences(await take_through(fanout.subscribe(0), 20)) == [*range(1, 11), *range(15, 21)]
    assert sequences(await take_through(fanout.subscribe(12), 20)) == list(range(15, 21))
