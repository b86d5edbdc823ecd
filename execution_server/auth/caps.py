"""Per-token caps on unary calls in flight and order streams open at once. Pure bookkeeping.

One caller with a runaway loop must not take the whole server from the others: past its cap
a token's next call is refused (RESOURCE_EXHAUSTED) until one of its calls ends. Caps count
per token name; open access has none.
"""

from __future__ import annotations

import enum
from collections import Counter


class CallKind(enum.Enum):
    UNARY = "concurrent RPCs"
    STREAM = "open streams"


class CallCaps:
    def __init__(self) -> None:
        self._in_flight: Counter[tuple[str, CallKind]] = Counter()

    def try_enter(self, name: str, kind: CallKind, cap: int) -> bool:
        """Count one more call of `kind` for `name`, unless `cap` are in flight already."""
        key = (name, kind)
        if self._in_flight[key] >= cap:
            return False
        self._in_flight[key] += 1
        return True

    def leave(self, name: str, kind: CallKind) -> None:
        key = (name, kind)
        self._in_flight[key] -= 1
        if self._in_flight[key] <= 0:
            del self._in_flight[key]

    def in_flight(self, name: str, kind: CallKind) -> int:
        return self._in_flight[(name, kind)]
