"""Bounded exponential backoff: the one schedule of waits for whatever retries until it works."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Backoff:
    """Waits of `first` seconds, multiplied by `factor` after each failure, never above `cap`;
    `reset()` after a success starts again from `first`."""

    first: float = 0.05
    factor: float = 2.0
    cap: float = 5.0
    _next: float = -1.0

    def next_delay(self) -> float:
        delay = self.first if self._next < 0 else self._next
        self._next = min(delay * self.factor, self.cap)
        return delay

    def reset(self) -> None:
        self._next = -1.0

    @property
    def failing(self) -> bool:
        return self._next >= 0
