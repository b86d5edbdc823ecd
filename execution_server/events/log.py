"""The sequenced event log as the fan-out sees it: entries, the reader port, and its two errors.

Every change to an order is written to the log with the next sequence number, in the same
transaction as the change itself (the outbox pattern), so the log is the one source a stream
can always go back to: after a slow reader, a reconnect, or a server restart. The fan-out
(`fanout.py`) keeps only a window of recent entries in memory and reads anything older through
`LogReader`; the database implementation lives with the store and is injected at start-up.

Nothing here knows about gRPC, protobuf or SQL: an entry's payload is the wire message already
serialised once by the writer, and the fan-out hands the same bytes to every subscriber.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One committed change. `strategy_id` and `symbol` are copied out of the payload so that
    subscribers can be filtered without parsing it."""

    sequence: int
    strategy_id: str
    symbol: str
    payload: bytes


class LogReader(Protocol):
    """Read access to the committed log, for cursors that have fallen behind the window."""

    async def read_after(self, after_sequence: int, limit: int) -> list[LogEntry]:
        """Entries with sequence > `after_sequence`, ascending, at most `limit` of them.

        The fan-out only asks for entries at or below its high-water mark, and it drops
        anything above the mark that a reader returns anyway: a row committed but not yet
        published must not reach one subscriber before the others.
        """
        ...

    async def oldest_sequence(self) -> int | None:
        """The oldest sequence still retained, or None when the log holds nothing."""
        ...


class SequenceOutOfRange(Exception):
    """A subscriber needs entries that retention has already deleted.

    Resuming would leave a silent gap, so the stream ends instead (gRPC OUT_OF_RANGE). The
    client can resubscribe with `after_sequence = oldest_available - 1` once it has rebuilt
    its state from a snapshot (GetOrder / ListOrders).
    """

    def __init__(self, requested: int, oldest_available: int) -> None:
        super().__init__(
            f"sequence {requested} is no longer retained; "
            f"the oldest available is {oldest_available}"
        )
        self.requested = requested  # the first sequence the subscriber still needed
        self.oldest_available = oldest_available


class FanoutClosed(Exception):
    """The fan-out is shutting down: the stream ends so that the client reconnects and resumes."""
