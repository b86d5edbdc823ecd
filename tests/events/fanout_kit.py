"""Test kit for the fan-out: an in-memory event log (a LogReader fake), a writer, builders.

The fake behaves like the real log where it matters: reads suspend (so the writer can
publish in the middle of a subscriber's catch-up), rows are visible to readers as soon as they
are committed, before the writer publishes them, and retention deletes the oldest rows.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import TypeVar


from execution_server.events.fanout import Fanout
from execution_server.events.log import LogEntry

STRATEGIES = ("alpha", "beta")
SYMBOLS = ("AAPL", "MSFT", "TSLA")
HANG_GUARD_SECONDS = 20  # only turns a hang into a failure; no test asserts a duration

T = TypeVar("T")


def an_entry(sequence: int, strategy_id: str = "alpha", symbol: str = "AAPL") -> LogEntry:
    return LogEntry(sequence, strategy_id, symbol, f"update {sequence}".encode())


# For the property tests: two strategies and two symbols, and one sentinel entry per
# combination, published last, so that every filter has something to stop at.
PROPERTY_STRATEGIES = ("A", "B")
PROPERTY_SYMBOLS = ("X", "Y")
SENTINEL_TAGS = [(strategy, symbol) for strategy in PROPERTY_STRATEGIES for symbol in PROPERTY_SYMBOLS]


def matches(entry: LogEntry, strategy_id: str, symbol: str) -> bool:
    """The fan-out's filter, written out independently: an empty filter matches everything."""
    return (not strategy_id or entry.strategy_id == strategy_id) and (not symbol or entry.symbol == symbol)


def publishes_after(last: int, tags: Sequence[Sequence[tuple[str, str]]]) -> list[list[LogEntry]]:
    """One publish per list of (strategy, symbol) tags, numbered on from `last`."""
    publishes = []
    for batch_tags in tags:
        publishes.append([an_entry(last + i + 1, *tag) for i, tag in enumerate(batch_tags)])
        last += len(batch_tags)
    return publishes


def entries_from(first: int, count: int) -> list[LogEntry]:
    """Consecutive entries whose strategies and symbols cycle, so every filter matches some."""
    return [
        an_entry(s, STRATEGIES[s % len(STRATEGIES)], SYMBOLS[s % len(SYMBOLS)])
        for s in range(first, first + count)
    ]


class InMemoryLog:
    """The committed event log as a list. `retain_last` deletes all but the newest rows."""

    def __init__(self, retain_last: int | None = None) -> None:
        self.entries: list[LogEntry] = []
        self.retain_last = retain_last
        self.reads = 0

    def append(self, entries: Sequence[LogEntry]) -> None:
        self.entries.extend(entries)
        if self.retain_last is not None and len(self.entries) > self.retain_last:
            del self.entries[: len(self.entries) - self.retain_last]

    def delete_through(self, sequence: int) -> None:
        self.entries = [e for e in self.entries if e.sequence > sequence]

    @property
    def last_sequence(self) -> int:
        return self.entries[-1].sequence if self.entries else 0

    async def read_after(self, after_sequence: int, limit: int) -> list[LogEntry]:
        self.reads += 1
        await asyncio.sleep(0)  # a database read suspends: the writer may publish meanwhile
        start = bisect.bisect_right(self.entries, after_sequence, key=lambda e: e.sequence)
        return self.entries[start : start + limit]

    async def oldest_sequence(self) -> int | None:
        await asyncio.sleep(0)
        return self.entries[0].sequence if self.entries else None


class Writer:
    """The single writer: commit to the log, then publish to the fan-out."""

    def __init__(self, log: InMemoryLog, fanout: Fanout) -> None:
        self.log = log
        self.fanout = fanout

    @property
    def next_sequence(self) -> int:
        return max(self.log.last_sequence, self.fanout.high_water_mark) + 1

    def write(self, count: int) -> list[LogEntry]:
        batch = entries_from(self.next_sequence, count)
        self.log.append(batch)
        self.fanout.publish(batch)
        return batch

    async def write_while_others_run(
        self, count: int, batch_sizes: Sequence[int] = (1, 3, 7, 2)
    ) -> None:
        """Publish `count` entries in varied batches, letting readers run in between and
        between each commit and its publish (committed rows are visible to log reads)."""
        sizes = itertools.cycle(batch_sizes)
        while count > 0:
            batch = entries_from(self.next_sequence, min(next(sizes), count))
            self.log.append(batch)
            await asyncio.sleep(0)
            self.fanout.publish(batch)
            await asyncio.sleep(0)
            count -= len(batch)


async def take(subscription: AsyncIterator[LogEntry], count: int) -> list[LogEntry]:
    """The next `count` entries of a subscription, leaving it open."""
    taken: list[LogEntry] = []
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        while len(taken) < count:
            taken.append(await anext(subscription))
    return taken


async def take_through(subscription: AsyncIterator[LogEntry], last_sequence: int) -> list[LogEntry]:
    """Entries up to and including `last_sequence`, then close the subscription."""
    taken: list[LogEntry] = []
    try:
        async with asyncio.timeout(HANG_GUARD_SECONDS):
            async for entry in subscription:
                taken.append(entry)
                if entry.sequence >= last_sequence:
                    break
    finally:
        await subscription.aclose()  # type: ignore[attr-defined]
    return taken


async def guarded(awaitable: Awaitable[T]) -> T:
    """Await something that a bug could leave waiting forever."""
    return await asyncio.wait_for(awaitable, HANG_GUARD_SECONDS)


async def settle(rounds: int = 50) -> None:
    """Let every ready task run until all are blocked (the fake never sleeps for real)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def sequences(entries: Sequence[LogEntry]) -> list[int]:
    return [e.sequence for e in entries]
