"""Event-loop lag: a timer asked to wake after INTERVAL wakes late by however long the loop was
busy elsewhere (a long callback, a collector pass, a burst of sends). That overshoot is what
every RPC and stream waiting on the loop waited too."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from execution_server.background import cancelled

INTERVAL_SECONDS = 0.25


class LoopLagMonitor:
    def __init__(self, observe: Callable[[float], None], interval: float = INTERVAL_SECONDS) -> None:
        self._observe = observe
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-loop-lag")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time() + self._interval
            await asyncio.sleep(self._interval)
            self._observe(max(0.0, loop.time() - asked))

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancelled(task)
