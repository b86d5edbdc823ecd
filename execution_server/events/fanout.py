"""Fan-out of committed log entries to many subscribers: one window, one mark, cursors.

Catch-up and live are one operation. A subscription is only a cursor, the last sequence it
has delivered. Each round it delivers the entries in (cursor, high-water mark] and then waits
for the mark to move. Where those entries come from depends only on how far behind it is:

    log (paged reads) ......... [ window: the last `window_size` entries ] ... high-water mark
    cursor behind the window    cursor inside the window                   cursor == mark: wait

There is no replay phase and so no hand-over seam where an update could be lost or sent
twice: the cursor, not the source, decides what comes next, and filtered-out entries advance
it too.

Batches, adaptively. Each round hands the subscriber one batch: every matching entry ready
at that moment, up to its `max_entries`. A reader that keeps up gets small batches (low
latency); one that falls behind gets larger ones instead of falling further behind. This is
what `subscribe_batches` yields; `subscribe` unpacks the same batches one entry at a time.
With a `min_interval`, a live reader also waits that long after each batch before taking
the next, so that a service committing hundreds of times a second sends each such reader at
most 1/min_interval messages a second, however busy it is.

Bounded memory, however many readers stall. The window is a ring of `window_size` entries
shared by every subscriber, each entry serialised once by the writer; it is the bounded
buffer of every subscriber at once. A reader that overflows it (its cursor falls behind the
oldest entry in the ring) is thereby switched to catching up from the log, in pages of
`page_size`. Nothing is queued per subscriber: a stalled reader holds only the batch it was
handed (references to at most `max_entries` entries, the page size by default; the ring may
meanwhile reuse their slots), and one catching up from the log holds at most one page. A
cursor that falls behind what the log still retains gets `SequenceOutOfRange` naming the
oldest sequence available, never a silent gap.

Cheap publishes. `publish` writes into the ring and resolves one shared future that every
idle subscriber awaits; the next waiter creates a fresh one. Several publishes in one loop
iteration therefore wake the readers once, and the writer never does per-subscriber work.

Fairness. A reader yields to the event loop after each round while more is ready, so one
that is catching up cannot starve the writer or the other readers; a round scans at most
`max(max_entries, page_size)` entries of the window, however few of them match.

Must be used from the event loop's thread: `publish` and `close` are synchronous and rely on
that for their atomicity.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Sequence
from itertools import islice
from typing import cast

from execution_server.events.log import FanoutClosed, LogEntry, LogReader, SequenceOutOfRange


class Fanout:
    """The shared window, the high-water mark and the subscriptions reading them."""

    def __init__(
        self,
        reader: LogReader,
        *,
        window_size: int = 10_000,
        page_size: int = 500,
        high_water_mark: int = 0,
    ) -> None:
        if window_size < 1 or page_size < 1 or high_water_mark < 0:
            raise ValueError("window_size and page_size must be positive, high_water_mark >= 0")
        self._reader = reader
        self._size = window_size
        self._page_size = page_size
        # The window holds sequences [_first, _hwm], entry s at _ring[s % _size]; empty when
        # _first > _hwm. A list indexed by sequence reads any entry in O(1), unlike a deque.
        self._ring: list[LogEntry | None] = [None] * window_size
        self._hwm = high_water_mark
        self._first = high_water_mark + 1
        self._waiter: asyncio.Future[None] | None = None
        self._subscribers = 0
        self._readers: set[_Reader] = set()
        self._closed = False

    @property
    def high_water_mark(self) -> int:
        """The highest sequence published, with every sequence below it published too."""
        return self._hwm

    @property
    def subscriber_count(self) -> int:
        return self._subscribers

    def reader_lag(self) -> tuple[int, int]:
        """How many entries the reader furthest behind has yet to be handed, and how many
        readers are behind at all. Read by the metrics when scraped, from their thread: list()
        copies the set in one step under the GIL."""
        hwm = self._hwm
        lags = [hwm - reader.cursor for reader in list(self._readers)]
        behind = [lag for lag in lags if lag > 0]
        return (max(behind) if behind else 0), len(behind)

    @property
    def window_length(self) -> int:
        """How many entries the window holds now; never more than `window_size`."""
        return self._hwm - self._first + 1

    def publish(self, entries: Sequence[LogEntry]) -> None:
        """Make committed entries visible to subscribers; O(len(entries)), never blocks.

        Called by the single writer after its transaction commits, with ascending sequences.
        A gap (a sequence number never committed, e.g. a rolled-back PostgreSQL transaction)
        restarts the window at the first entry after it; older entries are then read from the log.
        """
        _check_ascending(entries, self._hwm)
        for entry in entries:
            sequence = entry.sequence
            if sequence != self._hwm + 1:
                self._first = sequence
            elif sequence - self._first >= self._size:
                self._first = sequence - self._size + 1
            self._ring[sequence % self._size] = entry
            self._hwm = sequence
        if entries:
            self._wake()

    def close(self) -> None:
        """End every subscription with FanoutClosed, so clients reconnect and resume."""
        self._closed = True
        self._wake()

    async def subscribe(
        self, after_sequence: int, strategy_id: str = "", symbol: str = "", strategies: frozenset[str] | None = None
    ) -> AsyncGenerator[LogEntry, None]:
        """Yield every entry after `after_sequence` that matches the filters, in order, forever.

        An empty filter matches everything; `strategies`, when given, keeps only their
        entries (a strategy token's), beside the other filters. `after_sequence` may be above the high-water mark
        (the subscription waits for it). Raises SequenceOutOfRange when the entries it needs
        are neither in the window nor in the log any more, FanoutClosed on close(). The
        subscription counts from its first step until it ends; closing the generator
        (aclose(), or cancelling the task iterating it) ends it at once.
        """
        batches = self.subscribe_batches(after_sequence, strategy_id, symbol, strategies=strategies)
        async with contextlib.aclosing(batches):
            async for batch in batches:
                for entry in batch:
                    if self._closed:  # even in the middle of a batch
                        raise FanoutClosed()
                    yield entry

    async def subscribe_batches(
        self,
        after_sequence: int,
        strategy_id: str = "",
        symbol: str = "",
        max_entries: int | None = None,
        min_interval: float = 0.0,
        strategies: frozenset[str] | None = None,
    ) -> AsyncGenerator[list[LogEntry], None]:
        """Yield the entries `subscribe` would, grouped: each batch is every matching entry
        ready when it is handed over, at most `max_entries` (default: the page size).

        At the live edge, a batch follows the previous one by at least `min_interval` seconds:
        a reader woken sooner waits, and what is published meanwhile joins its batch. The first
        batch after a quiet spell goes at once; a reader that is behind is never held back.

        Batches are never empty and ascend, within and across batches. Everything else is as
        for `subscribe`: waiting, SequenceOutOfRange, FanoutClosed, counting, closing.
        """
        if after_sequence < 0:
            raise ValueError(f"after_sequence must be >= 0, got {after_sequence}")
        limit = self._page_size if max_entries is None else max_entries
        if limit < 1:
            raise ValueError(f"max_entries must be positive, got {max_entries}")
        wanted = _matcher(strategy_id, symbol, strategies)
        cursor = after_sequence
        clock = asyncio.get_running_loop().time
        hold_until = 0.0  # a reader woken at the live edge before this waits until it
        self._subscribers += 1
        reader = _Reader(cursor)  # its position, for how far behind readers are (reader_lag)
        self._readers.add(reader)
        try:
            while not self._closed:
                if cursor >= self._hwm:
                    # Out the interval first (publishes meanwhile need not wake this reader),
                    # then, if nothing came, wait for the next publish and go at once.
                    if (wait := hold_until - clock()) > 0:
                        await asyncio.sleep(wait)
                    if cursor >= self._hwm and not self._closed:
                        await self._next_publish()
                    continue
                if cursor >= self._first - 1:
                    batch, cursor = self._from_window(cursor, wanted, limit)
                    reader.cursor = cursor
                    if batch:
                        yield batch
                        hold_until = clock() + min_interval
                else:
                    # The cursor moves to the page's end even if it matches nothing.
                    page, cursor = await self._read_page(cursor)
                    reader.cursor = cursor
                    matching = page if wanted is None else [entry for entry in page if wanted(entry)]
                    for start in range(0, len(matching), limit):
                        if self._closed:
                            break
                        yield matching[start : start + limit]
                if cursor < self._hwm:
                    await asyncio.sleep(0)  # more is ready: let the writer and others run first
            raise FanoutClosed()
        finally:
            self._subscribers -= 1
            self._readers.discard(reader)

    def _from_window(
        self, cursor: int, wanted: Callable[[LogEntry], bool] | None, limit: int
    ) -> tuple[list[LogEntry], int]:
        """The matching entries after `cursor` in the window, at most `limit`, and the cursor
        after them. Synchronous, so the window cannot move while it is read."""
        if wanted is None:
            span = self._window_slice(cursor, min(self._hwm - cursor, limit))
            return span, cursor + len(span)
        # A filter may match little: scan at least a page, so that sparse matches still move on.
        span = self._window_slice(cursor, min(self._hwm - cursor, max(limit, self._page_size)))
        batch = list(islice(filter(wanted, span), limit))
        if len(batch) == limit:
            return batch, batch[-1].sequence  # the rest of the span is scanned next round
        return batch, cursor + len(span)

    def _window_slice(self, cursor: int, count: int) -> list[LogEntry]:
        """Entries cursor+1 .. cursor+count, all in the window: one or two slices of the ring."""
        ring, size = self._ring, self._size
        start = (cursor + 1) % size
        stop = start + count
        span = ring[start:stop] if stop <= size else ring[start:] + ring[: stop - size]
        return cast(list[LogEntry], span)  # slots in the window are never None

    async def _read_page(self, cursor: int) -> tuple[list[LogEntry], int]:
        """One page from the log for a cursor behind the window, and the cursor after it."""
        hwm, first = self._hwm, self._first
        page = await self._reader.read_after(cursor, min(self._page_size, first - 1 - cursor))
        if page and page[-1].sequence > hwm:
            # Committed but not yet published: everyone sees it at the same time, later.
            page = [entry for entry in page if entry.sequence <= hwm]
        if not page or page[0].sequence != cursor + 1:
            await self._raise_if_deleted(cursor + 1)
        # Nothing in the log before the window (but nothing deleted either): skip to it.
        return page, page[-1].sequence if page else first - 1

    async def _raise_if_deleted(self, needed: int) -> None:
        """Tell a gap in the numbering (harmless) from entries deleted by retention."""
        oldest = await self._reader.oldest_sequence()
        if oldest is not None and oldest <= needed:
            return
        window_first = self._first if self.window_length > 0 else None
        available = [s for s in (oldest, window_first) if s is not None]
        raise SequenceOutOfRange(needed, min(available, default=self._hwm + 1))

    async def _next_publish(self) -> None:
        if self._waiter is None:
            self._waiter = asyncio.get_running_loop().create_future()
        # Shielded: cancelling one subscriber must not cancel the future the others await.
        await asyncio.shield(self._waiter)

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Reader:
    """A subscription's cursor, as last handed over: what the metrics read of it."""

    __slots__ = ("cursor",)

    def __init__(self, cursor: int) -> None:
        self.cursor = cursor


def _check_ascending(entries: Sequence[LogEntry], after: int) -> None:
    """Validate before changing anything: a bad batch leaves the window as it was."""
    previous = after
    for entry in entries:
        if entry.sequence <= previous:
            raise ValueError(
                f"sequence {entry.sequence} published after {previous}: sequences must ascend"
            )
        previous = entry.sequence


def _matcher(
    strategy_id: str, symbol: str, strategies: frozenset[str] | None = None
) -> Callable[[LogEntry], bool] | None:
    """The filter as a predicate; None when it matches everything (no need to call it)."""
    if strategies is not None:
        rest = _matcher(strategy_id, symbol)
        if rest is None:
            return lambda entry: entry.strategy_id in strategies
        return lambda entry: entry.strategy_id in strategies and rest(entry)
    if strategy_id and symbol:
        return lambda entry: entry.strategy_id == strategy_id and entry.symbol == symbol
    if strategy_id:
        return lambda entry: entry.strategy_id == strategy_id
    if symbol:
        return lambda entry: entry.symbol == symbol
    return None
