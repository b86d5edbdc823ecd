"""For any publish pattern, window, page size, start point, filter, batch limit and reader
pace: subscribe_batches, flattened, is exactly what subscribe delivers (the matching entries
after the start, in order), and its batches are non-empty, ascending and never larger than
the limit."""

from __future__ import annotations

import asyncio
import contextlib
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
)


@dataclass(frozen=True)
class Reader:
    after_sequence: int
    starts_before_batch: int
    strategy_id: str
    symbol: str
    max_entries: int
    pauses_per_step: int  # a slow reader lets the writer run between its steps

    def wants(self, entry: LogEntry) -> bool:
        return matches(entry, self.strategy_id, self.symbol)


@dataclass(frozen=True)
class Scenario:
    window_size: int
    page_size: int
    preexisting: int
    publishes: list[list[LogEntry]]
    readers: list[Reader]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    preexisting = draw(st.integers(0, 12))
    tag = st.tuples(st.sampled_from(PROPERTY_STRATEGIES), st.sampled_from(PROPERTY_SYMBOLS))
    publishes = publishes_after(preexisting, draw(st.lists(st.lists(tag, max_size=12), min_size=1, max_size=8)))
    last = preexisting + sum(map(len, publishes))
    reader = st.builds(
        Reader,
        after_sequence=st.integers(0, last),
        starts_before_batch=st.integers(0, len(publishes)),
        strategy_id=st.sampled_from(("", *PROPERTY_STRATEGIES)),
        symbol=st.sampled_from(("", *PROPERTY_SYMBOLS)),
        max_entries=st.integers(1, 10),
        pauses_per_step=st.integers(0, 3),
    )
    return Scenario(
        window_size=draw(st.integers(1, 20)),
        page_size=draw(st.integers(1, 8)),
        preexisting=preexisting,
        publishes=publishes,
        readers=draw(st.lists(reader, min_size=1, max_size=4)),
    )


async def _batches(fanout: Fanout, reader: Reader, last: int) -> list[list[LogEntry]]:
    """Batches until one reaches past `last` (a sentinel)."""
    taken: list[list[LogEntry]] = []
    subscription = fanout.subscribe_batches(reader.after_sequence, reader.strategy_id, reader.symbol, reader.max_entries)
    async with contextlib.aclosing(subscription):
        async for batch in subscription:
            taken.append(batch)
            if batch[-1].sequence > last:
                break
            for _ in range(reader.pauses_per_step):
                await asyncio.sleep(0)
    return taken


async def _entries(fanout: Fanout, reader: Reader, last: int) -> list[LogEntry]:
    """Entries up to and including the first one past `last` (a sentinel)."""
    taken: list[LogEntry] = []
    subscription = fanout.subscribe(reader.after_sequence, reader.strategy_id, reader.symbol)
    async with contextlib.aclosing(subscription):
        async for entry in subscription:
            taken.append(entry)
            if entry.sequence > last:
                break
            for _ in range(reader.pauses_per_step):
                await asyncio.sleep(0)
    return taken


async def _run(scenario: Scenario) -> None:
    log = InMemoryLog()
    log.append([an_entry(s, "A", "X") for s in range(1, scenario.preexisting + 1)])
    fanout = Fanout(
        log, window_size=scenario.window_size, page_size=scenario.page_size, high_water_mark=scenario.preexisting
    )
    everything = log.entries + [entry for publish in scenario.publishes for entry in publish]
    last = everything[-1].sequence if everything else 0
    sentinels = [an_entry(last + i + 1, *tag) for i, tag in enumerate(SENTINEL_TAGS)]
    batched, single = {}, {}
    for index, publish in enumerate([*scenario.publishes, sentinels]):
        for reader in scenario.readers:
            if reader.starts_before_batch == index:
                batched[reader] = asyncio.create_task(_batches(fanout, reader, last))
                single[reader] = asyncio.create_task(_entries(fanout, reader, last))
        log.append(publish)
        await asyncio.sleep(0)
        fanout.publish(publish)
        await asyncio.sleep(0)

    for reader in batched:
        batches, entries = await batched[reader], await single[reader]
        flattened = [entry for batch in batches for entry in batch]
        expected = [e for e in everything if e.sequence > reader.after_sequence and reader.wants(e)]
        assert entries[:-1] == expected and entries[-1] in sentinels
        assert all(0 < len(batch) <= reader.max_entries for batch in batches)
        # The last batch may hold several sentinels; up to the first, the two must agree.
        assert flattened[: len(entries)] == entries
        assert all(entry.sequence > last for entry in flattened[len(entries) :])
        got = [entry.sequence for entry in flattened]
        assert got == sorted(set(got))
    assert fanout.subscriber_count == 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_batches_flattened_are_exactly_what_subscribe_delivers(scenario: Scenario) -> None:
    asyncio.run(_run_with_hang_guard(scenario))


async def _run_with_hang_guard(scenario: Scenario) -> None:
    """A missing entry would leave a reader waiting forever: fail fast instead, so that
    hypothesis can shrink the example (no duration is asserted)."""
    async with asyncio.timeout(2):
        await _run(scenario)
