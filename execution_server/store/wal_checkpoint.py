"""SQLite's WAL checkpoints, off the order path.

SQLite checkpoints the WAL by itself in the COMMIT that takes it past 1,000 pages: that COMMIT
copies the WAL into the database file and, with synchronous=NORMAL, syncs both. One order in
some sixty waited for it at concurrency 1: PlaceOrder p99 4.7 ms, against 2.5 ms with those
checkpoints taken off (p50 1.6 ms either way). So the service's engine runs with automatic
checkpoints off (store/database.py, wal_autocheckpoint=0), and this task checkpoints instead:
once a second after anything was committed, PASSIVE (it never waits for the writer or a
reader, and copies what it can), on a connection of its own, on a thread.

Durability is unchanged across a crash of the process: what was committed is in the WAL.
With NORMAL the WAL is synced at each checkpoint, so what a power loss can take is the last
second or so of transactions rather than the last 1,000 pages' worth (README, "Durability").
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable

from execution_server.background import cancelled

log = logging.getLogger(__name__)

LOOK_SECONDS = 1.0


class WalCheckpoint:
    """`committed` moves when something was committed (the writer's last sequence)."""

    def __init__(self, path: str, committed: Callable[[], int], *, look_seconds: float | None = None) -> None:
        self._path = path
        self._committed = committed
        self._look_seconds = LOOK_SECONDS if look_seconds is None else look_seconds
        self._connection: sqlite3.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._in_flight: asyncio.Future[tuple[int, int, int] | None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="wal-checkpoint")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancelled(task)
        if self._in_flight is not None:  # a checkpoint on its thread finishes before its connection closes
            await asyncio.wait([self._in_flight])
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()  # the engine's last connection to close checkpoints what is left

    async def _run(self) -> None:
        last = self._committed()
        while True:
            await asyncio.sleep(self._look_seconds)
            now = self._committed()
            if now != last:
                last = now
                self._in_flight = asyncio.ensure_future(asyncio.to_thread(self.checkpoint))
                await asyncio.shield(self._in_flight)

    def checkpoint(self) -> tuple[int, int, int] | None:
        """One PASSIVE checkpoint: (busy, frames in the WAL, frames checkpointed), as SQLite
        reports them; None when it failed (logged; the next look tries again)."""
        try:
            if self._connection is None:
                self._connection = sqlite3.connect(self._path, timeout=0, check_same_thread=False)
            busy, frames, done = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as error:
            log.warning("WAL checkpoint of %s failed (%s); tried again after the next commit", self._path, error)
            return None
        return busy, frames, done
