"""The trade_updates websocket on the service's own event loop, and the queue events() reads.

alpaca-py's TradingStream reconnects by itself and says nothing about it (ALPACA_API.md §6.2:
no public hook, no replay). WatchedStream sees its private steps: the `listening` frame (from
then on every event reaches us, so what happened before it is read over REST) and close() (the
connection is gone). The SDK's handler only enqueues; the feed's reader, events(), turns frames
into port events through the fill guard (progress.py), and at a reconnect first recovers over
REST what the outage hid, then reports StreamConnected(reconnect=True). Everything goes through
one queue in arrival order, so a marker (request_marker) is behind every frame received before it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from alpaca.trading.stream import TradingStream

from execution_server.brokers.alpaca.mapping import MalformedPayload, UnmappedValue, event_from, progress_of
from execution_server.brokers.alpaca.progress import OrderBook
from execution_server.brokers.base import (
    BrokerError,
    BrokerEvent,
    BrokerOrder,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    StreamConnected,
    StreamDisconnected,
    StreamMarker,
)
from execution_server.domain.orders import OrderStatus

log = logging.getLogger(__name__)

_LISTENING = object()  # queue item: a connection is listening (first or again)
RECOVERY_ATTEMPTS = 3


class WatchedStream(TradingStream):
    """TradingStream telling when a connection listens and when it closes."""

    def __init__(self, *args: Any, on_listening: Callable[[], None], on_closed: Callable[[], None],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_listening = on_listening
        self._on_closed = on_closed

    async def _consume(self) -> None:
        """The SDK's own loop (alpaca-py 0.44.0, TradingStream._consume), with asyncio.timeout
        where it has wait_for: the same 5 s poll of the stop queue, without a new Task per frame
        (two frames an order; websockets documents both as safe around recv)."""
        while True:
            if not self._stop_stream_queue.empty():
                self._stop_stream_queue.get(timeout=1)
                await self.close()
                break
            try:
                async with asyncio.timeout(5):
                    received = await self._ws.recv()
            except TimeoutError:
                continue
            msg = json.loads(received)
            stream = msg.get("stream")
            if stream == "trade_updates":
                self._data_received = True
                if self._trade_updates_handler:
                    await self._trade_updates_handler(self._cast(msg))
            else:
                await self._dispatch(msg)

    async def _dispatch(self, msg: dict[str, Any]) -> None:
        if msg.get("stream") == "listening" and "trade_updates" in (msg.get("data") or {}).get("streams", ()):
            self._on_listening()
        await super()._dispatch(msg)

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._on_closed()


class EventFeed:
    """The queue between the SDK's handler and events(), the connection's state, the fill guard
    and the reference prices the events taught."""

    def __init__(self, recover: Callable[[datetime | None], Awaitable[list[BrokerOrder]]],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._recover = recover
        self._clock = clock
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self.book = OrderBook()
        self.prices: dict[str, Decimal] = {}
        self.up = False
        self.stopping = False  # our own close: not an outage
        self._first_reported = False
        self._down_since: datetime | None = None
        self._last_event_at: datetime | None = None
        self._markers = itertools.count(1)

    # --- called by the SDK, on the loop: enqueue and return ---

    async def on_frame(self, frame: Mapping[str, Any]) -> None:
        self._queue.put_nowait(frame.get("data"))

    def on_listening(self) -> None:
        if self._down_since is not None:
            log.warning("Alpaca's trade_updates stream is back (down since %s); recovering over REST",
                        self._down_since.isoformat())
        self.up = True
        self._down_since = None
        self._queue.put_nowait(_LISTENING)

    def on_closed(self) -> None:
        if self.up and not self.stopping:
            log.warning("Alpaca's trade_updates stream went down; orders are still placed and settled over REST")
            self._down_since = self._clock()
            self._queue.put_nowait(StreamDisconnected(self._down_since))
        self.up = False

    # --- the port's side ---

    def mark(self) -> object | None:
        if not self.up:
            return None
        token = next(self._markers)
        self._queue.put_nowait(StreamMarker(token))
        return token

    async def events(self) -> AsyncIterator[BrokerEvent]:
        if self._first_reported and self.up:
            # Called again (the reader before broke off): an item it held may be lost with it.
            yield StreamConnected(self._clock(), reconnect=True)
        while True:
            item = await self._queue.get()
            if item is _LISTENING:
                if not self._first_reported:
                    self._first_reported = True
                    yield StreamConnected(self._clock(), reconnect=False)
                    continue
                for event in await self._recovered():
                    yield event
                yield StreamConnected(self._clock(), reconnect=True)
            elif isinstance(item, StreamMarker | StreamDisconnected):
                yield item
            elif isinstance(item, Mapping):
                event = self._from_frame(item)
                if event is not None:
                    yield event

    # --- frames ---

    def _from_frame(self, data: Mapping[str, Any]) -> BrokerEvent | None:
        try:
            event = event_from(data)
            if event is None:
                return None
            progress = progress_of(data)
        except (UnmappedValue, MalformedPayload) as error:
            log.error("trade_updates event not understood, dropped (reconciliation repairs): %s: %r", error, data)
            return None
        self._last_event_at = max(self._last_event_at or event.time, event.time)  # type: ignore[union-attr]
        order = data.get("order") or {}
        tracked = self.book.track(event.client_order_id, event.broker_order_id, progress.quantity)  # type: ignore[union-attr]
        if isinstance(event, OrderFilled):
            if not self.book.admit_fill(event, progress):
                return None
            self.prices[str(order.get("symbol"))] = event.price
        elif isinstance(event, OrderAccepted):
            tracked.accepted = True
        else:
            tracked.closed = True
        return event

    # --- recovery after a reconnect ---

    async def _recovered(self) -> list[BrokerEvent]:
        """Synthetic events for what Alpaca's orders show and the stream did not say while it
        was down. On failure the reconnect is still reported: the reconciliation it triggers
        reads the same orders and adopts the same figures under the same execution ids."""
        since = self._last_event_at or self._down_since
        for attempt in range(1, RECOVERY_ATTEMPTS + 1):
            try:
                orders = await self._recover(since)
                break
            except BrokerError as error:
                log.warning("recovery after the reconnect failed (attempt %d): %s", attempt, error)
                await asyncio.sleep(0.2 * attempt)
        else:
            log.error("recovery after the reconnect gave up; the reconciliation that follows repairs")
            return []
        events: list[BrokerEvent] = []
        for order in orders:
            if order.client_order_id not in self.book.orders:
                # Not sent or seen by this adapter (placed elsewhere, or closed before it started):
                # the reconciliation that follows the reconnect compares it with the books.
                continue
            events.extend(self.catch_up(order))
        if events:
            log.warning("recovered %d events over REST that the stream missed", len(events))
        return events

    def catch_up(self, order: BrokerOrder) -> list[BrokerEvent]:
        tracked = self.book.track(order.client_order_id, order.broker_order_id, order.quantity)
        events: list[BrokerEvent] = []
        now = self._clock()
        if not tracked.accepted and order.status is not OrderStatus.REJECTED:
            tracked.accepted = True
            events.append(OrderAccepted(order.broker_order_id, order.client_order_id, order.broker_status, now))
        fill = self.book.catch_up_fill(order)
        if fill is not None:
            self.prices[order.symbol] = fill.price
            events.append(fill)
        if not tracked.closed and order.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
            tracked.closed = True
            kind = OrderCancelled if order.status is OrderStatus.CANCELLED else OrderRejected
            events.append(kind(order.broker_order_id, order.client_order_id, order.reason or order.broker_status,
                               order.broker_status, now))
        if order.status is OrderStatus.FILLED:
            tracked.closed = True
        return events
