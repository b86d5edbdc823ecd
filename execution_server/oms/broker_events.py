"""Applying what the broker says, exactly once: its event stream, and its view of an order
(used by start-up recovery, settlement of unknown submissions and reconciliation repair).

A duplicated, late or out-of-order event cannot double a fill (fills are keyed by execution
id), lower a filled quantity, or move an order out of a terminal state: such events are
logged and dropped, never applied.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

from execution_server.brokers.base import (
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
from execution_server.domain.money import ZERO, average
from execution_server.domain.orders import CANCEL, REJECT, InvalidFill, InvalidTransition, Order, OrderSpec, OrderStatus
from execution_server.oms.fills import FillRecorder
from execution_server.oms.lifecycle import OrderLifecycle
from execution_server.oms.ports import PortfolioListener
from execution_server.oms.state import OpenOrders
from execution_server.store.transaction import Transaction
from execution_server.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)
EXTERNAL_STRATEGY = "external"


class BrokerEventApplier:
    def __init__(
        self,
        *,
        writer: GroupCommitWriter,
        open_orders: OpenOrders,
        fills: FillRecorder,
        portfolio: PortfolioListener,
        lifecycle: OrderLifecycle,
        on_unexplained: Callable[[str], None],
    ) -> None:
        self._writer = writer
        self._open = open_orders
        self._fills = fills
        self._portfolio = portfolio
        self._lifecycle = lifecycle
        # Called when an event names an order we do not know, or cannot be applied:
        # reconciliation is what explains it.
        self._on_unexplained = on_unexplained

    async def apply(self, event: BrokerEvent) -> Order | None:
        if isinstance(event, StreamConnected | StreamDisconnected | StreamMarker):
            return None
        return await self.queue(event)

    def queue(self, event: OrderAccepted | OrderFilled | OrderCancelled | OrderRejected) -> asyncio.Future[Order | None]:
        """Queue the event to the writer without waiting for its commit; the future tells."""
        return self._writer.submit(lambda tx: self._apply(tx, event))

    async def _apply(self, tx: Transaction, event: BrokerEvent) -> Order | None:
        assert not isinstance(event, StreamConnected | StreamDisconnected | StreamMarker)
        order = await self._open.find(tx, event.client_order_id, event.broker_order_id)
        if order is None:
            log.warning("broker event for an order unknown here: %s", event)
            self._on_unexplained(f"event for unknown order {event.client_order_id or event.broker_order_id}")
            return None
        try:
            if isinstance(event, OrderFilled):
                return await self._fills.record(
                    tx,
                    order,
                    execution_id=event.execution_id,
                    quantity=event.quantity,
                    price=event.price,
                    time=event.time,
                    broker_status=event.broker_status,
                    broker_order_id=event.broker_order_id,
                )
            if isinstance(event, OrderAccepted):
                return await self._lifecycle.accept(tx, order, event.broker_order_id, event.broker_status)
            if isinstance(event, OrderCancelled):
                return await self._close(tx, order, OrderStatus.CANCELLED, event.reason, event.broker_status)
            if isinstance(event, OrderRejected):
                return await self._close(tx, order, OrderStatus.REJECTED, event.reason, event.broker_status)
        except (InvalidTransition, InvalidFill) as refusal:
            log.warning("broker event not applied to order %s: %s", order.order_id, refusal)
            if isinstance(refusal, InvalidFill):
                self._on_unexplained(str(refusal))
            return order
        return order

    async def _close(
        self, tx: Transaction, order: Order, status: OrderStatus, reason: str, broker_status: str
    ) -> Order:
        event = CANCEL if status is OrderStatus.CANCELLED else REJECT
        if not self._lifecycle.allows(order, event):
            # Already closed: a duplicate report, or one overtaken by the fill that completed it.
            log.info("order %s is %s: the broker's %s changes nothing", order.order_id, order.status.value, event.value)
            return order
        if event is CANCEL:
            return self._lifecycle.cancel(tx, order, reason, broker_status)
        return self._lifecycle.reject(tx, order, f"BROKER_REJECTED: {reason}", broker_status)

    # --- the broker's view of one order ---

    async def adopt_broker_state(self, broker_order: BrokerOrder, *, source: str, adopt_unknown: bool) -> Order | None:
        """Bring the local order to the broker's truth: missing fills (with the broker's execution
        ids), then the status. With adopt_unknown, an order unknown here is recorded under the
        strategy `external`. Idempotent: a second call changes nothing."""
        return await self._writer.run(lambda tx: self._adopt(tx, broker_order, source, adopt_unknown))

    async def _adopt(self, tx: Transaction, broker_order: BrokerOrder, source: str, adopt_unknown: bool) -> Order | None:
        order = await self._open.find(tx, broker_order.client_order_id, broker_order.broker_order_id)
        if order is None:
            if not adopt_unknown:
                return None
            order = await self._record_external(tx, broker_order, source)
        known = {fill.execution_id for fill in await tx.fills_of(order.order_id)}
        for fill in broker_order.fills:
            if fill.execution_id in known or order.filled_quantity + fill.quantity > order.quantity:
                continue
            order = await self._fills.record(
                tx,
                order,
                execution_id=fill.execution_id,
                quantity=fill.quantity,
                price=fill.price,
                time=fill.time,
                broker_order_id=broker_order.broker_order_id,
                detail=source,
            )
            known.add(fill.execution_id)
        order = await self._fill_unexplained_quantity(tx, order, broker_order, source)
        return await self._adopt_status(tx, order, broker_order, source)

    async def _record_external(self, tx: Transaction, broker_order: BrokerOrder, source: str) -> Order:
        spec = OrderSpec(
            client_order_id=broker_order.client_order_id or f"external-{broker_order.broker_order_id}",
            strategy_id=EXTERNAL_STRATEGY,
            symbol=broker_order.symbol,
            side=broker_order.side,
            quantity=broker_order.quantity,
            order_type=broker_order.order_type,
            time_in_force=broker_order.time_in_force,
            limit_price=broker_order.limit_price,
            stop_price=broker_order.stop_price,
        )
        # Recorded as every order is, PENDING, then accepted as the broker says: the lifecycle is
        # the same (adopted without the broker id if another local order holds it, logged there).
        order = Order(order_id=str(uuid.uuid4()), spec=spec, status=OrderStatus.PENDING, created_at=tx.now, updated_at=tx.now)
        self._lifecycle.place(tx, order, event_type="adopted", detail=f"{source}: open at the broker, unknown here")
        self._portfolio.order_opened(order)
        return await self._lifecycle.accept(tx, order, broker_order.broker_order_id, broker_order.broker_status)

    async def _fill_unexplained_quantity(self, tx: Transaction, order: Order, broker_order: BrokerOrder, source: str) -> Order:
        """The broker reports more filled than the executions it listed (an adapter that knows only
        cumulative figures): record the difference as one fill with a deterministic id, so that a
        repeated repair finds it already applied."""
        missing = broker_order.filled_quantity - order.filled_quantity
        if missing <= 0 or broker_order.average_fill_price is None:
            return order
        broker_notional = broker_order.average_fill_price * broker_order.filled_quantity
        local_notional = (order.average_fill_price or ZERO) * order.filled_quantity
        price = average(broker_notional - local_notional, missing)  # the price that explains the rest
        if price <= 0:
            price = broker_order.average_fill_price
        return await self._fills.record(
            tx,
            order,
            execution_id=f"{broker_order.broker_order_id}:cumulative:{broker_order.filled_quantity}",
            quantity=missing,
            price=price,
            time=tx.now,
            broker_order_id=broker_order.broker_order_id,
            detail=f"{source}: filled quantity recovered from the broker's cumulative figure",
        )

    async def _adopt_status(self, tx: Transaction, order: Order, broker_order: BrokerOrder, source: str) -> Order:
        if order.status.is_terminal:
            return order  # closed here: the broker's view may add fills (above), never a new state
        if broker_order.status is OrderStatus.CANCELLED:
            return await self._close(tx, order, OrderStatus.CANCELLED, broker_order.reason or f"{source}: cancelled at the broker", broker_order.broker_status)
        if broker_order.status is OrderStatus.REJECTED and self._lifecycle.allows(order, REJECT):
            return await self._close(tx, order, OrderStatus.REJECTED, broker_order.reason or source, broker_order.broker_status)
        return await self._lifecycle.accept(tx, order, broker_order.broker_order_id, broker_order.broker_status)

    async def reject_never_received(self, order: Order, reason: str) -> Order:
        """The broker has no order with this client order id: it never arrived, so it is safe to reject."""

        async def reject_if_still_pending(tx: Transaction) -> Order:
            current = self._open.get(order.order_id)
            if current is None or current.status is not OrderStatus.PENDING:
                return current or order  # the broker's answer arrived meanwhile: it decides
            return self._lifecycle.reject(tx, current, reason)

        return await self._writer.run(reject_if_still_pending)

    async def cancel_missing(self, order: Order, reason: str) -> Order:
        """An order sent and acknowledged that the broker no longer knows: adopt its truth (gone)."""

        async def cancel_if_still_open(tx: Transaction) -> Order:
            current = self._open.get(order.order_id)
            if current is None:
                return order
            return await self._close(tx, current, OrderStatus.CANCELLED, reason, current.broker_status)

        return await self._writer.run(cancel_if_still_open)
