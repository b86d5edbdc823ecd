"""Send slots: how many stream messages of readers that are behind may be in flight at once.

The service is one event loop: gRPC, the OMS and the fan-out take turns on it, first come
first served. A reader that is behind always has its next message ready, so a hundred of them
would keep a hundred sends queued on the loop at every turn, and an order would wait behind
all of them at each of its steps: measured, 100 subscribers catching up on StreamOrderUpdates
cut PlaceOrder from 500 to under 200 answered a second, and some calls ended CANCELLED. With
the sends of readers that are behind sharing a few slots, at most that many are queued at
once, the order path keeps its pace, and those readers still get every spare turn.

A reader at the live edge (LiveEdge, below) does not take a slot: it sends at most once per
commit (or per batch interval), and its delay is the one that counts.

A send that has not completed after `stall_seconds` is waiting on its client (HTTP/2 flow
control: the client is not reading), not on the loop. Its slot is taken back for the next in
line, so a stalled reader never holds up the others; its own send completes whenever its
client reads again.

Slots bound how many of those sends are queued at once, not how often they go; with a Pace
(catch_up_pace.py) the gate is also shut for part of each period while the service is live,
so that readers that are behind use at most a share of the loop.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from execution_server.api.catch_up_pace import Pace

# A send not done by then waits on its client. 50 ms was too long: 200 readers stalled on their
# clients each held a slot that long once, and readers catching up beside them got 1,592 updates
# in 2.5 s of the bench's stalled-reader round, against 26,000 with 20 ms.
STALL_SECONDS = 0.02


class SendSlots:
    """A counting gate with a fast path: `take()` is a plain call when a slot is free, so a
    lone reader pays next to nothing; only when all are taken does a reader queue, first come
    first served, and a slot given back passes straight to the first in the queue."""

    def __init__(
        self,
        slots: int,
        stall_seconds: float = STALL_SECONDS,
        pace: Pace | None = None,
        activity: Callable[[], int] = lambda: 0,
    ) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self._free = slots
        self._stall_seconds = stall_seconds
        self._waiters: deque[asyncio.Future[int]] = deque()
        self._held: dict[int, float] = {}  # hold -> when it was taken; oldest first
        self._next_hold = 0
        self._sweep_timer: asyncio.TimerHandle | None = None
        self._pace = pace if pace is not None and pace.paced else None
        self._activity = activity  # moves when the service does live work (the fan-out's mark)
        self._open = True  # the pace's phase: slots are handed out only while open
        self._pace_timer: asyncio.TimerHandle | None = None
        self._granted = 0  # holds handed out since the pace last looked

    def take(self) -> int | None:
        """A hold on a slot, if one is free and no one is queued for one; None otherwise
        (then `wait()` for one). Give it back with `give(hold)`."""
        if self._free and not self._waiters and self._open:
            self._free -= 1
            return self._hold()
        return None

    async def wait(self) -> int:
        """Queues for a slot; returns the hold, to `give()` back."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[int] = loop.create_future()
        self._waiters.append(waiter)
        self._keep_pace()
        if self._sweep_timer is None:
            self._sweep_timer = loop.call_later(self._stall_seconds, self._sweep)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.give(waiter.result())  # handed a slot as the reader went away: pass it on
            raise

    def give(self, hold: int) -> None:
        if self._held.pop(hold, None) is not None:  # else it was taken back as stalled
            self._release()

    @property
    def free(self) -> int:
        return self._free

    @property
    def pacing(self) -> bool:
        """Whether the pace's timer runs: readers that are behind sent or waited lately."""
        return self._pace_timer is not None

    @property
    def open(self) -> bool:
        """Whether the pace lets readers that are behind send now (always, without a pace)."""
        return self._open

    def _hold(self) -> int:
        hold = self._next_hold
        self._next_hold += 1
        self._held[hold] = time.monotonic()
        self._keep_pace()
        self._granted += 1
        return hold

    def _release(self) -> None:
        while self._waiters and self._open:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a cancelled waiter is done: skipped
                waiter.set_result(self._hold())
                return
        self._free += 1

    def _keep_pace(self) -> None:
        """Readers that are behind are sending or waiting: make sure the pace is kept."""
        if self._pace is not None and self._pace_timer is None:
            delay = self._pace.start(self._activity())
            self._open = True
            self._pace_timer = asyncio.get_running_loop().call_later(delay, self._next_phase)

    def _next_phase(self) -> None:
        """The pace's next phase; it stops once no one behind has sent or waited for a phase."""
        assert self._pace is not None
        if not self._waiters and not self._granted:
            self._pace_timer, self._open = None, True
            return
        self._granted = 0
        delay = self._pace.tick(self._activity())
        self._open = self._pace.open
        self._pace_timer = asyncio.get_running_loop().call_later(delay, self._next_phase)
        while self._open and self._free and self._waiters:  # slots given back while shut
            self._free -= 1
            self._release()

    def _sweep(self) -> None:
        """While readers are queued: take back the slots of sends stalled on their clients."""
        self._sweep_timer = None
        stalled_since = time.monotonic() - self._stall_seconds
        for hold, taken in list(self._held.items()):
            if taken > stalled_since:
                break  # the rest were taken later
            del self._held[hold]
            self._release()
        while self._waiters and self._waiters[0].done():
            self._waiters.popleft()
        if self._waiters:
            self._sweep_timer = asyncio.get_running_loop().call_later(self._stall_seconds, self._sweep)


# A reader this few entries behind the high-water mark is at the live edge and takes no slot:
# it has a few messages left before it waits for the next commit. Exactly at the mark would be
# too strict: under load a live reader is often a commit or two behind, and it would queue for a
# slot behind readers catching up or stalled on their clients. Once live, a reader stays live
# until it falls further behind than LEAVE_LIVE_EDGE_ENTRIES: on a loop busy with catching-up
# readers, a live one that fell a little behind would otherwise join their queue, fall further
# behind there, and never come back (the bench's 200 stalled readers: its lag went to seconds).
JOIN_LIVE_EDGE_ENTRIES = 256
LEAVE_LIVE_EDGE_ENTRIES = 4096


class LiveEdge:
    """One reader's place: at the live edge (sends without a slot) or behind (takes one)."""

    __slots__ = ("live",)

    def __init__(self) -> None:
        self.live = False

    def at(self, sequence: int, high_water_mark: int) -> bool:
        """Whether the reader, about to send `sequence`, is at the live edge."""
        behind = high_water_mark - sequence
        self.live = behind <= (LEAVE_LIVE_EDGE_ENTRIES if self.live else JOIN_LIVE_EDGE_ENTRIES)
        return self.live
