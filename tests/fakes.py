"""A broker that only records: for tests that feed the OMS broker events by hand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

from execution_server.brokers.base import (
    BrokerAccount,
    BrokerAck,
    BrokerEvent,
    BrokerOrder,
    BrokerPosition,
    StreamConnected,
    StreamMarker,
)
from execution_server.domain.orders import Order


class QuietBroker:
    """Accepts every order and reports nothing by itself; the test is the broker's voice."""

    name = "quiet"

    def __init__(self) -> None:
        self.submitted: list[Order] = []
        self.cancelled: list[str] = []
        self._events: asyncio.Queue[BrokerEvent] = asyncio.Queue()
        self._markers = 0

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def submit(self, order: Order) -> BrokerAck:
        self.submitted.append(order)
        return BrokerAck(f"q-{len(self.submitted)}", "new")

    async def cancel(self, order: Order) -> None:
        self.cancelled.append(order.client_order_id)

    async def find_by_client_id(self, client_order_id: str) -> BrokerOrder | None:
        return None

    async def open_orders(self) -> list[BrokerOrder]:
        return []

    async def positions(self) -> list[BrokerPosition]:
        return []

    async def account(self) -> BrokerAccount:
        return BrokerAccount(Decimal(0), Decimal(0), Decimal(0))

    def emit(self, event: BrokerEvent) -> None:
        """Put `event` on the broker's event stream, as the broker would."""
        self._events.put_nowait(event)

    async def events(self) -> AsyncIterator[BrokerEvent]:
        yield StreamConnected(time=datetime.now(UTC))
        while True:
            yield await self._events.get()

    def request_marker(self) -> object | None:
        self._markers += 1
        self._events.put_nowait(StreamMarker(self._markers))
        return self._markers

    async def prepare_price(self, symbol: str) -> None: ...

    def reference_price(self, symbol: str) -> Decimal | None:
        return Decimal("100")
