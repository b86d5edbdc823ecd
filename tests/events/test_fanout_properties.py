"""The one invariant, for any publish pattern, window, page size, start point and reader pace:
a subscriber sees exactly the matching entries in (after_sequence, high-water mark], in order,
with no gap and no duplicate, and nothing else."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from execution_server.events.fanout import Fanout
from execution_server.events.log import LogEntry

from .fanout_kit import (
    PROPERTY_STRATEGIES,
    PROPERTY_SYMBOLS,
    SENTINEL_TAGS,
    InMemoryLog,
    an_entry,
    matches,
    publishes_after,
    take,
)


@dataclass(frozen=True)
class Reader:
    after_sequence: int
    starts_before_batch: int
    strategy_id: str
    symbol: str
    pauses_per_entry: int  # a slow reader lets the writer run between its entries

    def wants(self, entry: LogEntry) -> bool:
        return matches(entry, self.strategy_id, self.symbol)


entry_tags = st.tuples(st.sampled_from(PROPERTY_STRATEGIES), st.sampled_from(PROPERTY_SYMBOLS))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[int, int, int, list[list[LogEntry]], list[Reader], int]:
    window_size = draw(st.integers(1, 20))
    page_size = draw(st.integers(1, 8))
    preexisting = draw(st.integers(0, 10))
    batches = publishes_after(preexisting, draw(st.lists(st.lists(entry_tags, max_size=12), min_size=1, max_size=10)))
    sequence = preexisting + sum(map(len, batches))
    reader = st.builds(
        Reader,
        after_sequence=st.integers(0, sequence),
        starts_before_batch=st.integers(0, len(batches)),
        strategy_id=st.sampled_from(("", *PROPERTY_STRATEGIES)),
        symbol=st.sampled_from(("", *PROPERTY_SYMBOLS)),
        pauses_per_entry=st.integers(0, 3),
    )
    readers = draw(st.lists(reader, min_size=1, max_size=6))
    pauses_between_batches = draw(st.integers(0, 3))
    return window_size, page_size, preexisting, batches, readers, pauses_between_batches


async def _read(fanout: Fanout, reader: Reader, count: int) -> list[LogEntry]:
    subscription = fanout.subscribe(reader.after_sequence, reader.strategy_id, reader.symbol)
    seen = []
    for _ in range(count):
        seen += await take(subscription, 1)
        for _ in range(reader.pauses_per_entry):
            await asyncio.sleep(0)
    await subscription.aclose()
    return seen


async def _run(window_size, page_size, preexisting, batches, readers, pauses) -> None:
    log = InMemoryLog()
    log.append([an_entry(s, "A", "X") for s in range(1, preexisting + 1)])
    fanout = Fanout(log, window_size=window_size, page_size=page_size, high_water_mark=preexisting)
    everything = log.entries + [entry for batch in batches for entry in batch]
    last = everything[-1].sequence if everything else 0
    sentinels = [an_entry(last + i + 1, *tag) for i, tag in enumerate(SENTINEL_TAGS)]
    expected = {
        reader: [e for e in everything if e.sequence > reader.after_sequence and reader.wants(e)]
        for reader in readers
    }
    tasks = {}
    for index, batch in enumerate([*batches, sentinels]):
        for reader in readers:
            if reader.starts_before_batch == index:
                # One entry beyond the expected ones: it must be a sentinel, so none is extra.
                count = len(expected[reader]) + 1
                tasks[reader] = asyncio.create_task(_read(fanout, reader, count))
        log.append(batch)
        await asyncio.sleep(0)
        fanout.publish(batch)
        for _ in range(pauses):
            await asyncio.sleep(0)

    for reader, task in tasks.items():
        seen = await task
        assert seen[:-1] == expected[reader]
        assert seen[-1] in sentinels
    assert fanout.subscriber_count == 0
    assert fanout.window_length <= window_size


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_each_subscriber_sees_exactly_its_entries_in_order(scenario) -> None:
    asyncio.run(_run_with_hang_guard(*scenario))


async def _run_with_hang_guard(*scenario) -> None:
    """A missing entry would leave a reader waiting forever: fail fast instead, so that
    hypothesis can shrink the example (each one takes milliseconds; no duration is asserted)."""
    async with asyncio.timeout(2):
        await _run(*scenario)
