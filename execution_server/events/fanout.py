"""Fan-out of committed log entries to many subscribers: one window, one mark, cursors.

Catch-up and live are one operation. A subscription is only a cursor, the last sequence it
has delivered. Each round it delivers the entries in (cursor, high-water mark] and then waits
for the mark to move. Where those entries come from depends only on how far behind it is:

    log (paged reads) ......... [ window: the last `window_size` entries ] ... high-water mark
    cursor behind the window    cursor inside the window                   cursor == mark: wait

There is no replay phase and so no hand-over seam where an update could be lost or sent
twice: the cursor, not the source, decides what comes next, and filtered-out entries advance
it too.

Bounded memory, however many readers stall. The window is a ring of `window_size` entries
shared by every subscriber, each entry serialised once by the writer; it is the bounded
buffer of every subscriber at once. A reader that overflows it (its cursor falls behind the
oldest entry in the ring) is thereby switched to catching up from the log, in pages of
`page_size`. Nothing is queued per subscriber: a stalled reader delivering from the window
holds no entries at all (the ring is read lazily, one entry at a time), and one catching up
from the log holds at most one page. A cursor that falls behind what the log still retains
gets `SequenceOutOfRange` naming the oldest sequence available, never a silent gap.

Cheap publishes. `publish` writes into the ring and resolves one shared future that every
idle subscriber awaits; the next waiter creates a fresh one. Several publishes in one loop
iteration therefore wake the readers once, and the writer never does per-subscriber work.

Fairness. A reader yields to the event loop after each page it delivers while more is
ready, so one that is catching up cannot starve the writer or the other readers.

Must be used from the event loop's thread: `publish` and `close` are synchronous and rely on
that for their atomicity.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence

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
        self._closed = False

    @property
    def high_water_mark(self) -> int:
        """The highest sequence published, with every sequence below it published too."""
        return self._hwm

    @property
    def subscriber_count(self) -> int:
        return self._subscribers

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
        self, after_sequence: int, strategy_id: str = "", symbol: str = ""
    ) -> AsyncGenerator[LogEntry, None]:
        """Yield every entry after `after_sequence` that matches the filters, in order, forever.

        An empty filter matches everything. `after_sequence` may be above the high-water mark
        (the subscription waits for it). Raises SequenceOutOfRange when the entries it needs
        are neither in the window nor in the log any more, FanoutClosed on close(). The
        subscription counts from its first step until it ends; closing the generator
        (aclose(), or cancelling the task iterating it) ends it at once.
        """
        if after_sequence < 0:
            raise ValueError(f"after_sequence must be >= 0, got {after_sequence}")
        wanted = _matcher(strategy_id, symbol)
        cursor = after_sequence
        self._subscribers += 1
        try:
            while not self._closed:
                if cursor >= self._hwm:
                    await self._next_publish()
                    continue
                if cursor >= self._first - 1:
                    batch: Iterator[LogEntry] | list[LogEntry] = self._from_window(cursor)
                else:
                    # The cursor moves to the page's end even if it matches nothing.
                    batch, cursor = await self._read_page(cursor)
                for entry in batch:
                    if self._closed:
                        break
                    cursor = entry.sequence
                    if wanted(entry):
                        yield entry
                if cursor < self._hwm:
                    await asyncio.sleep(0)  # more is ready: let the writer and others run first
            raise FanoutClosed()
        finally:
            self._subscribers -= 1

    def _from_window(self, cursor: int) -> Iterator[LogEntry]:
        """Up to one page of the entries after `cursor`, read lazily from the ring.

        Each entry is read only when the subscriber asks for it, after checking that it is
        still in the window: a reader that stalls mid-page holds nothing, and if the writer
        overtakes it meanwhile, the page ends and the next round reads the log.
        """
        ring, size = self._ring, self._size
        stop = cursor + self._page_size
        while cursor < stop and cursor < self._hwm and cursor >= self._first - 1:
            cursor += 1
            entry = ring[cursor % size]
            assert entry is not None
            yield entry

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


def _check_ascending(entries: Sequence[LogEntry], after: int) -> None:
    """Validate before changing anything: a bad batch leaves the window as it was."""
    previous = after
    for entry in entries:
        if entry.sequence <= previous:
            raise ValueError(
                f"sequence {entry.sequence} published after {previous}: sequences must ascend"
            )
        previous = entry.sequence


def _matcher(strategy_id: str, symbol: str) -> Callable[[LogEntry], bool]:
    if strategy_id and symbol:
        return lambda entry: entry.strategy_id == strategy_id and entry.symbol == symbol
    if strategy_id:
        return lambda entry: entry.strategy_id == strategy_id
    if symbol:
        return lambda entry: entry.symbol == symbol
    return lambda entry: True
