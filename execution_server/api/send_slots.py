"""Send slots: how many stream messages of readers that are behind may be in flight at once.

The service is one event loop: gRPC, the OMS and the fan-out take turns on it, first come
first served. A reader that is behind always has its next message ready, so a hundred of them
would keep a hundred sends queued on the loop at every turn, and an order would wait behind
all of them at each of its steps: measured, 100 subscribers catching up on StreamOrderUpdates
cut PlaceOrder from 500 to under 200 answered a second, and some calls ended CANCELLED. With
the sends of readers that are behind sharing a few slots, at most that many are queued at
once, the order path keeps its pace, and those readers still get every spare turn.

A reader at the live edge does not take a slot: it sends at most once per commit (or per
batch interval), and its delay is the one that counts.
"""

from __future__ import annotations

import asyncio
from collections import deque


class SendSlots:
    """A counting gate with a fast path: `take()` is a plain call when a slot is free, so a
    lone reader pays next to nothing; only when all are taken does a reader queue, first come
    first served, and a slot given back passes straight to the first in the queue."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self._free = slots
        self._waiters: deque[asyncio.Future[None]] = deque()

    def take(self) -> bool:
        """Takes a slot if one is free and no one is queued for one; False otherwise (then
        `wait()` for one)."""
        if self._free and not self._waiters:
            self._free -= 1
            return True
        return False

    async def wait(self) -> None:
        """Queues for a slot; on return the caller holds one and must `give()` it back."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.give()  # handed a slot as the reader went away: pass it on
            raise

    def give(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a cancelled waiter is done: skipped
                waiter.set_result(None)
                return
        self._free += 1

    @property
    def free(self) -> int:
        return self._free
