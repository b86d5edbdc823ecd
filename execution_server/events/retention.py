"""Retention of the order event log: only the newest entries are kept.

Orders and fills themselves stay; only the log a stream replays from is trimmed. A client
resuming from before what is kept gets OUT_OF_RANGE from the fan-out, never a silent gap.
"""

from __future__ import annotations

import asyncio
import logging

from execution_server.store import repository
from execution_server.store.transaction import Transaction
from execution_server.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)


class LogRetention:
    """Trims the log to its newest `keep` entries every `interval_seconds`, through the writer
    (so that a trim never races the commits that append)."""

    def __init__(self, writer: GroupCommitWriter, keep: int, interval_seconds: float = 5.0) -> None:
        self._writer = writer
        self._keep = keep
        self._interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._trim_forever(), name="event-log-retention")

    async def stop(self) -> None:
        """Idempotent; harmless before start()."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _trim_forever(self) -> None:
        while True:
            await self.trim()
            await asyncio.sleep(self._interval)

    async def trim(self) -> None:
        """One trim now. A failure is logged, never raised: the next round tries again."""
        # Never the newest entry: it carries the sequence a restart continues from.
        last = self._writer.last_sequence
        cutoff = min(last - max(self._keep, 1), last - 1)
        if cutoff <= 0:
            return

        async def trim(tx: Transaction) -> None:
            await repository.trim_events(tx.conn, cutoff)

        try:
            await self._writer.run(trim)
        except Exception as error:
            log.error("event log retention failed: %s", error)
