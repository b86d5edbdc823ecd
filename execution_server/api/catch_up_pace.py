"""Catch-up pace: how much of the event loop readers that are behind may have while orders flow.

Send slots (send_slots.py) bound how many sends of readers that are behind are queued at once,
not how often they go: such a send completes within a turn of the loop, its slot passes straight
to the next reader, and so readers catching up took every turn the order path left, and the GIL
with them. A reader whose client never reads costs the same until its HTTP/2 window is full:
some 230 messages of StreamOrderUpdates, indistinguishable from a fast reader's until then.
Measured (the bench's stalled-reader round, 300 orders/s): 200 such readers raised PlaceOrder
p50 from 2.4 ms to 14 ms for the two seconds their windows took to fill.

So catching up is paced by whether the service is live. While something is published to the
fan-out (an order event committed) the gate is open for `share` of each `period` and shut for
the rest: readers that are behind then use at most that share of the loop and live work waits
behind them only inside those short open phases. While nothing is published the gate stays
open: a reader replaying history on a quiet service goes at full speed. Measured on the same
round, alternated: with a share of 0.1, PlaceOrder p50 2.75 and 2.62 ms with 200 stalled readers
against 2.16 and 2.24 with none; with 0.15, 3.28 and 3.31 against 2.23 and 2.26. The price is the
replay's pace while orders flow: ten readers replaying beside 300 orders/s got 13,000-15,000
updates in 2.5 s with 0.1, 45,000 (everything) unpaced.

The pure part is here (Pace: which phase, how long); SendSlots drives it with a timer while
readers that are behind are waiting or sending.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PERIOD_SECONDS = 0.01


@dataclass
class Pace:
    """Phases of the catch-up gate. `tick(activity)` ends the current phase and returns the
    length of the next one; `activity` is anything that moves when the service does live work
    (the fan-out's high-water mark)."""

    share: float
    period: float = PERIOD_SECONDS
    open: bool = field(default=True, init=False)
    _mark: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not 0 < self.share <= 1:
            raise ValueError(f"share must be in (0, 1], got {self.share}")
        if self.period <= 0:
            raise ValueError(f"period must be positive, got {self.period}")

    @property
    def paced(self) -> bool:
        """False when the share is the whole loop: nothing to pace, no timer needed."""
        return self.share < 1

    def start(self, activity: int) -> float:
        """Readers that are behind have come: open, and look again after a whole period."""
        self.open, self._mark = True, activity
        return self.period

    def tick(self, activity: int) -> float:
        """A shut phase is always followed by an open one. At the end of an open phase: shut
        if anything was done live since the last look (over the whole last cycle, shut phase
        included, so sparse work is seen), else stay open for another period."""
        if not self.open:
            self.open = True
            return self.period * self.share
        live, self._mark = activity != self._mark, activity
        if live:
            self.open = False
            return self.period * (1 - self.share)
        return self.period
