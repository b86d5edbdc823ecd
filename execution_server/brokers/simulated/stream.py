"""The simulated broker's event stream: one connection at a time, which can break.

Like a broker's websocket, events reach only the connection that is up when they happen:
events while no connection is up are lost (except before the very first one, so that a
service starting up misses nothing), and so are events queued on a connection when it
breaks. Every connection starts with StreamConnected; reconnect=True from the second on.
A reader that abandons its iterator (or whose pending read is cancelled) disconnects.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from execution_server.brokers.base import BrokerEvent, BrokerStreamDropped, StreamConnected

_WAKE = object()  # unblocks a reader whose connection dropped or closed


class _Connection:
    __slots__ = ("closed", "dropped", "queue", "reconnect")

    def __init__(self, reconnect: bool) -> None:
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.reconnect = reconnect
        self.dropped = False
        self.closed = False


class EventStream:
    """Delivers broker events to the current connection, with loss and drops on demand."""

    def __init__(self, clock: Callable[[], datetime], drop_fraction: float = 0.0, seed: int = 0) -> None:
        self._clock = clock
        self._drop_fraction = drop_fraction
        self._rng = random.Random(f"{seed}:stream")
        self._current: _Connection | None = None
        self._ever_connected = False
        self._before_first: list[BrokerEvent] = []
        self._to_lose = 0
        self._closed = False

    def publish(self, event: BrokerEvent) -> None:
        if self._closed:
            return
        if self._to_lose > 0:
            self._to_lose -= 1
            return
        if self._drop_fraction and self._rng.random() < self._drop_fraction:
            self.drop()  # the event happens while the connection is down: lost
            return
        if self._current is not None:
            self._current.queue.put_nowait(event)
        elif not self._ever_connected:
            self._before_first.append(event)

    def mark(self, marker: BrokerEvent) -> bool:
        """Queue a marker behind every event delivered so far; never lost or dropped (it is the
        reader's own bookkeeping, not an event of the market). False when no connection is up."""
        if self._closed or self._current is None:
            return False
        self._current.queue.put_nowait(marker)
        return True

    def lose_next(self, count: int) -> None:
        if count < 0:
            raise ValueError("count must not be negative")
        self._to_lose += count

    def drop(self) -> None:
        """Break the current connection: its reader gets BrokerStreamDropped."""
        connection, self._current = self._current, None
        if connection is not None:
            connection.dropped = True
            connection.queue.put_nowait(_WAKE)

    def close(self) -> None:
        """End every reader normally; nothing is delivered any more."""
        self._closed = True
        connection, self._current = self._current, None
        if connection is not None:
            connection.closed = True
            connection.queue.put_nowait(_WAKE)

    async def subscribe(self) -> AsyncIterator[BrokerEvent]:
        """One connection's events, starting with StreamConnected."""
        if self._closed:
            return
        connection = self._connect()
        try:
            yield StreamConnected(self._clock(), reconnect=connection.reconnect)
            while True:
                item = await connection.queue.get()
                if connection.dropped:
                    raise BrokerStreamDropped("simulated broker: event stream dropped")
                if connection.closed:
                    return
                yield item  # type: ignore[misc]
        finally:
            if self._current is connection:
                self._current = None

    def _connect(self) -> _Connection:
        self.drop()  # a new connection replaces the old one, as a broker's websocket would
        connection = _Connection(reconnect=self._ever_connected)
        if not self._ever_connected:
            for event in self._before_first:
                connection.queue.put_nowait(event)
            self._before_first.clear()
        self._ever_connected = True
        self._current = connection
        return connection
