"""The library's methods on every broker adapter: `place_order`, `cancel_order`, `get_positions`,
`get_account`, the names of the documented Python API, on top of the BrokerClient port.

Thin by design: each is one port call (submit, cancel, positions, account), so AlpacaClient and
SimulatedBroker answer them alike, and a script needs no start() of its own (the first call
starts the adapter; start() is idempotent on both). `async with` starts and closes it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from execution_server.domain.orders import Order, OrderSpec, OrderStatus

if TYPE_CHECKING:
    from execution_server.brokers.base import BrokerAccount, BrokerPosition
    from execution_server.schemas import OrderRequest


class BrokerConveniences:
    """Mixed into each adapter, beside the port it implements."""

    async def place_order(self: Any, request: OrderRequest | OrderSpec) -> Order:
        """Send a new order; returns it SUBMITTED, with the broker's order id (its fills come on
        the adapter's events(), or read them with get_positions). BrokerError on a refusal."""
        spec = request if isinstance(request, OrderSpec) else request.to_order_spec()
        await self.start()
        now = datetime.now(UTC)
        order = Order(order_id=str(uuid.uuid4()), spec=spec, status=OrderStatus.PENDING, created_at=now,
                      updated_at=now, in_flight=True)
        ack = await self.submit(order)
        return order.submitted(ack.broker_order_id, ack.broker_status, datetime.now(UTC))

    async def cancel_order(self: Any, order: Order) -> None:
        """Ask the broker to cancel; the confirmation comes on events()."""
        await self.start()
        await self.cancel(order)

    async def get_positions(self: Any) -> list[BrokerPosition]:
        """The broker's positions now, what PositionTracker.update_from_broker takes."""
        await self.start()
        return await self.positions()  # type: ignore[no-any-return]

    async def get_account(self: Any) -> BrokerAccount:
        await self.start()
        return await self.account()  # type: ignore[no-any-return]

    async def __aenter__(self: Any) -> Any:
        await self.start()
        return self

    async def __aexit__(self: Any, *exc_info: object) -> None:
        await self.close()
